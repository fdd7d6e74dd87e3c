package smtp

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestMetrics(t *testing.T) {
	h := start(t, nil)
	c := h.dial(t, nil)
	// An unknown sender's MAIL is accepted provisionally (postmaster.go);
	// its SMS recipients are refused.
	if err := c.Mail("nobody@elsewhere.example", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("0412345678@sms.test", nil); err == nil {
		t.Fatal("unknown sender accepted")
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("someone@a.example", nil); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"0412345678@sms.test", "61412345678@sms.test", "x@example.org"} {
		_ = c.Rcpt(to, nil)
	}
	html := "Content-Type: text/html\n\n<p>Hi <b>there</b></p>\n"
	if _, err := send(c, html); err != nil {
		t.Fatal(err)
	}
	if got := h.pipeline.mails()[0].Text; got != "Hi there" {
		t.Errorf("text %q", got)
	}

	families, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range families {
		byName[f.GetName()] = f
	}
	for _, name := range []string{
		"smsgate_smtp_sessions_total",
		"smsgate_smtp_messages_total",
		"smsgate_smtp_command_duration_seconds",
		"smsgate_smtp_recipients_total",
		"smsgate_smtp_sender_authorised_total",
		"smsgate_smtp_spf_total",
		"smsgate_smtp_dkim_total",
		"smsgate_smtp_auth_total",
	} {
		if byName[name] == nil {
			t.Errorf("metric %s not registered", name)
		}
	}
	if len(byName) != 8 {
		t.Errorf("%d metric families, want 8", len(byName))
	}
	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		f := byName[name]
		if f == nil {
			t.Fatalf("no metric %s", name)
		}
	next:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return float64(m.GetHistogram().GetSampleCount())
		}
		t.Fatalf("no series %s%v", name, labels)
		return 0
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"smsgate_smtp_sessions_total", nil, 1},
		{"smsgate_smtp_messages_total", map[string]string{"result": "accepted", "reason": "ok"}, 1},
		{"smsgate_smtp_messages_total", map[string]string{"result": "rejected", "reason": "unknown_sender"}, 1},
		{"smsgate_smtp_messages_total", map[string]string{"result": "rejected", "reason": "insufficient_balance"}, 0},
		{"smsgate_smtp_messages_total", map[string]string{"result": "deferred", "reason": "internal"}, 0},
		{"smsgate_smtp_recipients_total", map[string]string{"result": "accepted"}, 1},
		{"smsgate_smtp_recipients_total", map[string]string{"result": "duplicate"}, 1},
		{"smsgate_smtp_recipients_total", map[string]string{"result": "rejected"}, 1},
		{"smsgate_smtp_command_duration_seconds", map[string]string{"command": "mail", "code": "550"}, 1},
		{"smsgate_smtp_command_duration_seconds", map[string]string{"command": "data", "code": "250"}, 1},
		{"smsgate_smtp_command_duration_seconds", map[string]string{"command": "mail", "code": "250"}, 1},
		{"smsgate_smtp_command_duration_seconds", map[string]string{"command": "rcpt", "code": "250"}, 2},
	}
	for _, ck := range checks {
		if got := value(ck.name, ck.labels); got != ck.want {
			t.Errorf("%s%v = %v, want %v", ck.name, ck.labels, got, ck.want)
		}
	}
}

// BenchmarkMetricsMail: what an accepted one-recipient mail records (its
// MAIL, RCPT and DATA durations, the recipient, the message).
func BenchmarkMetricsMail(b *testing.B) {
	m := NewMetrics(prometheus.NewRegistry())
	b.ReportAllocs()
	for b.Loop() {
		m.command("mail", 250, 0.001)
		m.recipientAccepted(1)
		m.command("rcpt", 250, 0.001)
		m.command("data", 250, 0.002)
		m.message(250, "ok")
	}
}
