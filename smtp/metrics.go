package smtp

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/smsgate/smsgate/accounts"
)

// Metrics are the SMTP listener's Prometheus metrics. Build one per
// registry with NewMetrics and share it between backends.
type Metrics struct {
	sessions   prometheus.Counter
	messages   *prometheus.CounterVec
	commands   *prometheus.HistogramVec
	recipients *prometheus.CounterVec
	// Sender policy (policy.go).
	authorised *prometheus.CounterVec
	authBy     map[string]prometheus.Counter // authorised's children, by method
	spf        *prometheus.CounterVec
	dkim       *prometheus.CounterVec
	auth       *prometheus.CounterVec

	// The children every accepted mail touches, looked up once (a
	// labelled lookup hashes its values each time).
	ok       map[string]prometheus.Observer // commands{cmd, "250"} for mail, rcpt and data
	accepted prometheus.Counter             // messages{accepted, ok}
	rcptOK   prometheus.Counter             // recipients{accepted}
}

// Message results: the label values of smsgate_smtp_messages_total{result}.
const (
	resultAccepted = "accepted" // 250 after the pipeline took it
	resultRejected = "rejected" // 5xx: the sender gets a bounce
	resultDeferred = "deferred" // 4xx: the client should retry
)

// Recipient results: the label values of smsgate_smtp_recipients_total.
const (
	rcptAccepted  = "accepted"
	rcptRejected  = "rejected"
	rcptDuplicate = "duplicate"
)

// NewMetrics registers the SMTP metrics with reg, with every known label
// value pre-created at zero so that rates and alerts work from the start.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		sessions: f.NewCounter(prometheus.CounterOpts{
			Name: "smsgate_smtp_sessions_total",
			Help: "SMTP sessions started.",
		}),
		messages: f.NewCounterVec(prometheus.CounterOpts{
			Name: "smsgate_smtp_messages_total",
			Help: "Mail transactions by outcome: accepted, rejected (5xx) or deferred (4xx), and why.",
		}, []string{"result", "reason"}),
		commands: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "smsgate_smtp_command_duration_seconds",
			Help:    "Time spent handling SMTP commands, by command and reply code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"command", "code"}),
		recipients: f.NewCounterVec(prometheus.CounterOpts{
			Name: "smsgate_smtp_recipients_total",
			Help: "RCPT TO addresses by result: accepted, rejected or duplicate (collapsed).",
		}, []string{"result"}),
	}
	m.authorised = f.NewCounterVec(prometheus.CounterOpts{
		Name: "smsgate_smtp_sender_authorised_total",
		Help: "Senders authorised by the sender policy, by method: auth, network, spf or dkim.",
	}, []string{"method"})
	m.spf = f.NewCounterVec(prometheus.CounterOpts{
		Name: "smsgate_smtp_spf_total",
		Help: "SPF checks of the sender policy by result (RFC 7208).",
	}, []string{"result"})
	m.dkim = f.NewCounterVec(prometheus.CounterOpts{
		Name: "smsgate_smtp_dkim_total",
		Help: "DKIM checks of the sender policy by result: pass, fail, unaligned, none, temperror, no_from.",
	}, []string{"result"})
	m.auth = f.NewCounterVec(prometheus.CounterOpts{
		Name: "smsgate_smtp_auth_total",
		Help: "SMTP AUTH attempts by credential kind (user_password, user_key, account_key, relay; key when a key failed) and result (success, failure, throttled).",
	}, []string{"kind", "result"})
	for _, k := range []string{accounts.IdentityUserPassword, accounts.IdentityUserKey, accounts.IdentityAccountKey, accounts.IdentityRelay} {
		m.auth.WithLabelValues(k, "success")
	}
	m.auth.WithLabelValues(accounts.IdentityUserPassword, "failure")
	m.auth.WithLabelValues(accounts.IdentityUserPassword, "throttled")
	m.auth.WithLabelValues("key", "failure")
	m.authBy = map[string]prometheus.Counter{}
	for _, v := range []string{authByAuth, authByNetwork, authBySPF, authByDKIM} {
		m.authBy[v] = m.authorised.WithLabelValues(v)
	}
	for _, v := range []string{"pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"} {
		m.spf.WithLabelValues(v)
	}
	for _, v := range []string{"pass", "fail", "unaligned", "none", "temperror", "no_from"} {
		m.dkim.WithLabelValues(v)
	}
	m.accepted = m.messages.WithLabelValues(resultAccepted, "ok")
	m.ok = map[string]prometheus.Observer{}
	for _, c := range []string{"mail", "rcpt", "data"} {
		m.ok[c] = m.commands.WithLabelValues(c, "250")
	}
	for _, r := range permanentReasons {
		m.messages.WithLabelValues(resultRejected, r)
	}
	for _, r := range temporaryReasons {
		m.messages.WithLabelValues(resultDeferred, r)
	}
	for _, r := range []string{rcptAccepted, rcptRejected, rcptDuplicate} {
		m.recipients.WithLabelValues(r)
	}
	m.rcptOK = m.recipients.WithLabelValues(rcptAccepted)
	return m
}

// message counts one finished transaction.
func (m *Metrics) message(code int, reason string) {
	result := resultAccepted
	switch {
	case code >= 500:
		result = resultRejected
	case code >= 400:
		result = resultDeferred
	}
	if result == resultAccepted && reason == "ok" {
		m.accepted.Inc()
		return
	}
	m.messages.WithLabelValues(result, reason).Inc()
}

// command observes one command's duration; code is the reply code.
func (m *Metrics) command(cmd string, code int, seconds float64) {
	if o := m.ok[cmd]; o != nil && code == 250 {
		o.Observe(seconds)
		return
	}
	m.commands.WithLabelValues(cmd, strconv.Itoa(code)).Observe(seconds)
}

// senderAuthorised counts a sender authorised by method how.
func (m *Metrics) senderAuthorised(how string) {
	if c := m.authBy[how]; c != nil {
		c.Inc()
		return
	}
	m.authorised.WithLabelValues(how).Inc()
}

// recipientAccepted counts n accepted recipients.
func (m *Metrics) recipientAccepted(n int) { m.rcptOK.Add(float64(n)) }
