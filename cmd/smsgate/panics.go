package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/router"
)

// panicComponents are the components whose goroutines recover panics on
// external input; each has its smsgate_panics_total series from the start.
func panicComponents() []string {
	return []string{"smtp", "dispatch", "http", "inbound", "webhook", "mailer", "stoprule", "automation", "inboxrules"}
}

// panics counts and logs recovered panics by component. Its record method
// is the OnPanic option of the packages that recover on their own.
type panics struct {
	total *prometheus.CounterVec
	log   *slog.Logger
}

// newPanics registers smsgate_panics_total with reg.
func newPanics(reg prometheus.Registerer, logger *slog.Logger) *panics {
	p := &panics{
		total: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Name: "smsgate_panics_total", Help: "Recovered panics by component.",
		}, []string{"component"}),
		log: logger,
	}
	for _, c := range panicComponents() {
		p.total.WithLabelValues(c)
	}
	return p
}

// record counts a recovered panic and logs it once, with the stack of the
// panicking goroutine when called from its deferred recover.
func (p *panics) record(component string, v any) {
	p.total.WithLabelValues(component).Inc()
	p.log.Error("panic recovered", "component", component, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
}

// replyHook runs a router.ReplyHook under recover: a panicking hook claims
// nothing, so that the rest of the chain (and the reply mail) still run.
type replyHook struct {
	component string
	h         router.ReplyHook
	p         *panics
}

func (g replyHook) OnReply(ctx context.Context, r *accounts.Reply, orig *accounts.Message) (claimed bool) {
	defer func() {
		if v := recover(); v != nil {
			g.p.record(g.component, v)
			claimed = false
		}
	}()
	return g.h.OnReply(ctx, r, orig)
}

// statusHook runs a router.StatusHook under recover.
type statusHook struct {
	component string
	h         router.StatusHook
	p         *panics
}

func (g statusHook) OnStatus(ctx context.Context, m *accounts.Message) {
	defer func() {
		if v := recover(); v != nil {
			g.p.record(g.component, v)
		}
	}()
	g.h.OnStatus(ctx, m)
}

// WantsStatus asks the hook (router.WantsStatus); a panic there counts as
// wanting the message.
func (g statusHook) WantsStatus(ctx context.Context, m *accounts.Message) (want bool) {
	defer func() {
		if v := recover(); v != nil {
			g.p.record(g.component, v)
			want = true
		}
	}()
	return router.WantsStatus(ctx, g.h, m)
}

// recoverHTTP answers 500 to a request whose handler panicked and records
// the panic. http.ErrAbortHandler is net/http's way to abort a response on
// purpose: it is passed on.
func (p *panics) recoverHTTP(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler { //nolint:errorlint // net/http compares the value itself
				panic(v)
			}
			p.record("http", v)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}()
		h.ServeHTTP(w, r)
	})
}
