package smtp

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/smsgate/smsgate/accounts"
)

// panickyResolver panics on senders whose address starts with "boom".
type panickyResolver struct{ Resolver }

func (r panickyResolver) ResolveSender(ctx context.Context, addr string) (*accounts.Sender, error) {
	if strings.HasPrefix(addr, "boom") {
		panic("resolver bug")
	}
	return r.Resolver.ResolveSender(ctx, addr)
}

// panickyPipeline starts transactions whose AddRcpt panics on numbers
// ending in 666.
type panickyPipeline struct{ Pipeline }

func (p panickyPipeline) Start(ctx context.Context, s *accounts.Sender) (Transaction, error) {
	t, err := p.Pipeline.Start(ctx, s)
	if err != nil {
		return nil, err
	}
	return panickyTxn{t, new(bool)}, nil
}

type panickyTxn struct {
	Transaction
	abortPanics *bool // set by a number ending 667: Abort panics too
}

func (t panickyTxn) AddRcpt(ctx context.Context, n string) error {
	if strings.HasSuffix(n, "667") {
		*t.abortPanics = true
		panic("pipeline bug")
	}
	if strings.HasSuffix(n, "666") {
		panic("pipeline bug")
	}
	return t.Transaction.AddRcpt(ctx, n)
}

func (t panickyTxn) Abort() {
	if *t.abortPanics {
		panic("abort bug")
	}
	t.Transaction.Abort()
}

// TestSessionPanicRecovered: a panic in MAIL FROM or RCPT TO costs the
// client a 451 and its transaction, is reported once to OnPanic as "smtp",
// and leaves the session usable and no transaction counted as open.
func TestSessionPanicRecovered(t *testing.T) {
	var mu sync.Mutex
	var got []string
	h := start(t, func(o *Options) {
		o.Resolver = panickyResolver{o.Resolver}
		o.Pipeline = panickyPipeline{o.Pipeline}
		o.OnPanic = func(component string, v any) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, component)
		}
	})
	c := h.dial(t, nil)
	wantReply(t, c.Mail("boom@a.example", nil), 451, gosmtp.EnhancedCode{4, 3, 0}, "internal error")

	if err := c.Mail("someone@a.example", nil); err != nil {
		t.Fatalf("MAIL after a recovered panic: %v", err)
	}
	wantReply(t, c.Rcpt("0412345666@sms.test", nil), 451, gosmtp.EnhancedCode{4, 3, 0}, "internal error")
	// The transaction was dropped with the panic: no transaction is open.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := h.backend.WaitIdle(ctx); err != nil {
		t.Fatalf("a transaction is still counted open after the panic: %v", err)
	}
	// And the session goes on.
	if err := c.Mail("someone@a.example", nil); err != nil {
		t.Fatalf("MAIL after the RCPT panic: %v", err)
	}
	if err := c.Rcpt("0412345678@sms.test", nil); err != nil {
		t.Fatalf("RCPT after the RCPT panic: %v", err)
	}
	// A panic whose clean-up (the transaction's Abort) panics as well:
	// both are reported.
	wantReply(t, c.Rcpt("0412345667@sms.test", nil), 451, gosmtp.EnhancedCode{4, 3, 0}, "internal error")
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, ",") != "smtp,smtp,smtp,smtp" {
		t.Errorf("OnPanic calls %q, want four for smtp", got)
	}
}
