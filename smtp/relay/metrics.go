package relay

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the relay's Prometheus metrics.
type Metrics struct {
	mails *prometheus.CounterVec
}

// NewMetrics registers the relay's metrics with reg. The counter keeps the
// name it had when the mailer lived in the router, so that dashboards and
// alert rules still find it.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		mails: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Name: "smsgate_router_reply_mails_total",
			Help: "Mails sent through the relay (replies, forwards, notices), by result.",
		}, []string{"result"}),
	}
	for _, r := range []string{"sent", "failed"} {
		m.mails.WithLabelValues(r)
	}
	return m
}
