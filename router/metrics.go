package router

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/smsgate/smsgate/internal/promvec"
)

// Metrics are the router's Prometheus metrics.
type Metrics struct {
	accepted        *prometheus.CounterVec
	submits         *prometheus.CounterVec
	noRoute         *prometheus.CounterVec
	dispatchLatency prometheus.Histogram
	storeAccept     prometheus.Histogram
	sendDuration    prometheus.Histogram
	queuePending    prometheus.Gauge
	queueRetrying   prometheus.Gauge
	queueOldest     prometheus.Gauge
	receipts        *prometheus.CounterVec
	replies         *prometheus.CounterVec
	poolExhausted   prometheus.Counter
	lostResponse    *prometheus.CounterVec
	recordRetries   prometheus.Counter
	duplicateRisk   *prometheus.CounterVec
	parked          prometheus.Counter

	// The children a message touches, found without hashing their labels
	// each time.
	acceptedBy map[string]prometheus.Counter
	submitsBy  *promvec.Cache[prometheus.Counter] // link, result
	receiptsBy *promvec.Cache[prometheus.Counter] // status, result
}

// NewMetrics registers the router's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		accepted: f.NewCounterVec(prometheus.CounterOpts{
			Name: "smsgate_router_messages_total",
			Help: "Messages (one per recipient) offered for acceptance, by result.",
		}, []string{"result"}),
		submits: f.NewCounterVec(prometheus.CounterOpts{
			Name: "smsgate_router_submits_total",
			Help: "Messages submitted to carrier links, by link and result (ok, temporary, permanent).",
		}, []string{"link", "result"}),
		recordRetries: f.NewCounter(prometheus.CounterOpts{
			Name: "smsgate_router_record_retries_total",
			Help: "Batches of submits whose record Redis refused (OOM, a failover, a lost connection) and that are tried again; the SMS are not sent again.",
		}),
		lostResponse: f.NewCounterVec(prometheus.CounterOpts{
			Name: "smsgate_router_submit_lost_response_total",
			Help: "Parts whose submit_sm_resp was lost on a live session: counted as sent, not sent again (their id is unknown).",
		}, []string{"link"}),
		duplicateRisk: f.NewCounterVec(prometheus.CounterOpts{
			Name: "smsgate_router_resubmit_duplicate_risk_total",
			Help: "Parts sent again after their session ended without a response: the SMSC may have had the first copy.",
		}, []string{"link"}),
		parked: f.NewCounter(prometheus.CounterOpts{
			Name: "smsgate_router_parked_total",
			Help: "Messages set waiting for a carrier link (none up, link down, or a submit's outcome unknown); waiting uses no attempt.",
		}),
		poolExhausted: f.NewCounter(prometheus.CounterOpts{
			Name: "smsgate_router_pool_exhausted_total",
			Help: "Mails deferred because every shared source number (dispatch.source_pool) had an open conversation with a recipient for another account or sender.",
		}),
		noRoute: f.NewCounterVec(prometheus.CounterOpts{
			Name: "smsgate_router_no_route_total",
			Help: "Send attempts that found no carrier link up for the destination, by result (temporary: retried, permanent: gave up).",
		}, []string{"result"}),
		dispatchLatency: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "smsgate_router_accept_to_submit_seconds",
			Help:    "Time from acceptance to the carrier's submit_sm_resp.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 14),
		}),
		storeAccept: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "smsgate_router_store_accept_seconds",
			Help:    "Time of the store's accept of one mail or API send (waiting for the shard's group call, the Lua script, the replicas' acknowledgement when required).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12),
		}),
		sendDuration: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "smsgate_router_send_duration_seconds",
			Help:    "Time to submit every part of a message.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
		}),
		queuePending: f.NewGauge(prometheus.GaugeOpts{
			Name: "smsgate_router_queue_pending",
			Help: "Entries of the dispatch queue not yet acknowledged (an entry holds the messages one accept call queued on a shard, one or more).",
		}),
		queueRetrying: f.NewGauge(prometheus.GaugeOpts{
			Name: "smsgate_router_queue_retrying",
			Help: "Messages waiting for a retry.",
		}),
		queueOldest: f.NewGauge(prometheus.GaugeOpts{
			Name: "smsgate_router_queue_oldest_age_seconds",
			Help: "Age of the oldest pending queue entry.",
		}),
		receipts: f.NewCounterVec(prometheus.CounterOpts{
			Name: "smsgate_router_receipts_total",
			Help: "Delivery receipts by status and result (matched, unmatched, intermediate).",
		}, []string{"status", "result"}),
		replies: f.NewCounterVec(prometheus.CounterOpts{
			Name: "smsgate_router_replies_total",
			Help: "Inbound replies by result (routed, unrouted).",
		}, []string{"result"}),
	}
	m.acceptedBy = map[string]prometheus.Counter{}
	for _, r := range []string{"accepted", "rejected"} {
		m.acceptedBy[r] = m.accepted.WithLabelValues(r)
	}
	m.submitsBy = promvec.New(m.submits.WithLabelValues)
	m.receiptsBy = promvec.New(m.receipts.WithLabelValues)
	for _, r := range []string{"temporary", "permanent"} {
		m.noRoute.WithLabelValues(r)
	}
	for _, r := range []string{"routed", "unrouted"} {
		m.replies.WithLabelValues(r)
	}
	for _, s := range []string{"delivered", "undeliverable", "expired", "rejected", "failed"} {
		m.receipts.WithLabelValues(s, "matched")
	}
	return m
}
