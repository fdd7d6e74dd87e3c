package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/router"
	"github.com/smsgate/smsgate/smpp"
)

type panickingHook struct{}

func (panickingHook) OnReply(context.Context, *accounts.Reply, *accounts.Message) bool {
	panic("bad reply")
}
func (panickingHook) OnStatus(context.Context, *accounts.Message) { panic("bad status") }

type claimingHook struct{ calls int }

func (h *claimingHook) OnReply(context.Context, *accounts.Reply, *accounts.Message) bool {
	h.calls++
	return true
}

// panicCounts gathers reg and returns smsgate_panics_total by component.
func panicCounts(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "smsgate_panics_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "component" {
					out[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

// TestPanicsRecoveredAndCounted: a panicking reply hook, status hook, HTTP
// handler and deliver handler are recovered, each counted under its
// component in smsgate_panics_total, whose every label exists from the
// start; a hook that panicked claims nothing, so the chain goes on.
func TestPanicsRecoveredAndCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	pc := newPanics(reg, slog.New(slog.NewTextHandler(t.Output(), nil)))
	before := panicCounts(t, reg)
	for _, c := range panicComponents() {
		if v, ok := before[c]; !ok || v != 0 {
			t.Errorf("component %q: %v (present %v), want 0 from the start", c, v, ok)
		}
	}

	next := &claimingHook{}
	chain := []router.ReplyHook{replyHook{"stoprule", panickingHook{}, pc}, replyHook{"inboxrules", next, pc}}
	for _, h := range chain {
		if h.OnReply(t.Context(), &accounts.Reply{ID: "r0-x"}, nil) {
			break
		}
	}
	if next.calls != 1 {
		t.Errorf("the hook after the panicking one ran %d times, want 1", next.calls)
	}
	statusHook{"automation", panickingHook{}, pc}.OnStatus(t.Context(), &accounts.Message{ID: "m0-x"})

	rec := httptest.NewRecorder()
	pc.recoverHTTP(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("bad request") })).
		ServeHTTP(rec, httptest.NewRequest("GET", "/v1/me", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("HTTP status %d, want 500", rec.Code)
	}

	// A deliver_sm whose handling panics (a reply's routing here), through
	// the inbound handler as the links call it.
	in := router.NewInbound(router.InboundOptions{Store: panicRouting{}, OnPanic: pc.record})
	answered := make(chan error, 1)
	in.HandleDeliverAsync(t.Context(), &smpp.Deliver{Link: "l", Source: "61412349000", Dest: "61480000000", Text: "hi"},
		func(err error) { answered <- err })
	select {
	case err := <-answered:
		if err == nil {
			t.Error("a panicking deliver handler returned no error: the carrier would not deliver again")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the panicking deliver_sm was never answered")
	}
	pc.record("dispatch", errors.New("worker")) // what the packages' OnPanic options call

	got := panicCounts(t, reg)
	for c, want := range map[string]float64{"stoprule": 1, "automation": 1, "http": 1, "inbound": 1, "dispatch": 1,
		"inboxrules": 0, "smtp": 0, "webhook": 0, "mailer": 0} {
		if got[c] != want {
			t.Errorf("smsgate_panics_total{component=%q} = %v, want %v", c, got[c], want)
		}
	}
}

// panicRouting is an inbound store whose reply routing panics (its other
// methods are not called).
type panicRouting struct{ router.InboundStore }

func (panicRouting) RouteReply(context.Context, accounts.Reply) (*accounts.Reply, *accounts.Message, error) {
	panic("bad pdu")
}
