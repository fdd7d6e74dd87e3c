package smpp

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Bounded label values of the link metrics.
const (
	resultOK        = "ok"
	resultTemporary = "temporary"
	resultPermanent = "permanent"
	resultTimeout   = "timeout"
	resultDown      = "down"
	kindReceipt     = "receipt"
	kindMO          = "mo"
)

var allResults = []string{resultOK, resultTemporary, resultPermanent, resultTimeout, resultDown}

// LinkMetrics are the Prometheus metrics of all links; share one between
// the links of a process.
type LinkMetrics struct {
	up       *prometheus.GaugeVec
	submits  *prometheus.CounterVec
	duration *prometheus.HistogramVec
	delivers *prometheus.CounterVec
	binds    *prometheus.CounterVec
	late     *prometheus.CounterVec
	gap      *prometheus.GaugeVec
}

// NewLinkMetrics registers the link metrics with reg.
func NewLinkMetrics(reg prometheus.Registerer) *LinkMetrics {
	f := promauto.With(reg)
	return &LinkMetrics{
		up: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "smsgate_smpp_link_up", Help: "1 while the link is bound, else 0.",
		}, []string{"link"}),
		submits: f.NewCounterVec(prometheus.CounterOpts{
			Name: "smsgate_smpp_submits_total", Help: "submit_sm attempts by result.",
		}, []string{"link", "result"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name: "smsgate_smpp_submit_duration_seconds", Help: "Time from submit_sm to its response.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"link", "result"}),
		delivers: f.NewCounterVec(prometheus.CounterOpts{
			Name: "smsgate_smpp_delivers_total", Help: "deliver_sm received, by kind (receipt or mo).",
		}, []string{"link", "kind"}),
		binds: f.NewCounterVec(prometheus.CounterOpts{
			Name: "smsgate_smpp_binds_total", Help: "Bind attempts by result.",
		}, []string{"link", "result"}),
		gap: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "smsgate_smpp_throttle_gap_seconds",
			Help: "Gap between submits the SMSC's throttling (ESME_RTHROTTLED, ESME_RMSGQFUL) imposed on the link, as last widened; it halves each second without throttling.",
		}, []string{"link"}),
		late: f.NewCounterVec(prometheus.CounterOpts{
			Name: "smsgate_smpp_submit_late_total",
			Help: "submit_sm past the response timeout, by outcome: timeout (each one), answered (its response came late and was recorded).",
		}, []string{"link", "outcome"}),
	}
}

// linkMetrics is LinkMetrics curried for one link; the zero value (no
// metrics) records nothing.
type linkMetrics struct {
	m    *LinkMetrics
	name string
	*linkSeries
}

// linkSeries are a link's children of the vectors a message touches, by
// result or kind: looked up once, not by label on every submit and deliver.
type linkSeries struct {
	submits  map[string]prometheus.Counter
	duration map[string]prometheus.Observer
	delivers map[string]prometheus.Counter
}

// forLink pre-creates the link's series at zero.
func (m *LinkMetrics) forLink(name string) linkMetrics {
	if m == nil {
		return linkMetrics{}
	}
	ls := &linkSeries{submits: map[string]prometheus.Counter{}, duration: map[string]prometheus.Observer{},
		delivers: map[string]prometheus.Counter{}}
	m.up.WithLabelValues(name)
	for _, r := range allResults {
		ls.submits[r] = m.submits.WithLabelValues(name, r)
		ls.duration[r] = m.duration.WithLabelValues(name, r)
		m.binds.WithLabelValues(name, r)
	}
	m.late.WithLabelValues(name, "timeout")
	m.late.WithLabelValues(name, "answered")
	for _, k := range []string{kindReceipt, kindMO} {
		ls.delivers[k] = m.delivers.WithLabelValues(name, k)
	}
	return linkMetrics{m: m, name: name, linkSeries: ls}
}

func (lm linkMetrics) setUp(up bool) {
	if lm.m == nil {
		return
	}
	v := 0.0
	if up {
		v = 1
	}
	lm.m.up.WithLabelValues(lm.name).Set(v)
}

func (lm linkMetrics) submitted(result string, d time.Duration) {
	if lm.m == nil {
		return
	}
	lm.submits[result].Inc() // result is one of allResults
	if d > 0 {
		lm.duration[result].Observe(d.Seconds())
	}
}

func (lm linkMetrics) throttleGap(d time.Duration) {
	if lm.m != nil {
		lm.m.gap.WithLabelValues(lm.name).Set(d.Seconds())
	}
}

func (lm linkMetrics) late(outcome string) {
	if lm.m != nil {
		lm.m.late.WithLabelValues(lm.name, outcome).Inc()
	}
}

func (lm linkMetrics) delivered(kind string) {
	if lm.m != nil {
		lm.delivers[kind].Inc() // kindReceipt or kindMO
	}
}

func (lm linkMetrics) bound(result string) {
	if lm.m != nil {
		lm.m.binds.WithLabelValues(lm.name, result).Inc()
	}
}
