package smtp

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestCommandCtx: a session's backend calls share one deadline context
// while more than half of CommandTimeout is left, get a new one after, and
// each has at least half the timeout; the session's end cancels it.
func TestCommandCtx(t *testing.T) {
	const timeout = time.Minute
	sctx, cancel := context.WithCancel(t.Context())
	s := &session{b: &Backend{opts: Options{CommandTimeout: timeout}}, ctx: sctx, cancel: cancel}

	c1 := s.commandCtx()
	if c1.Err() != nil {
		t.Fatalf("a new context has ended: %v", c1.Err())
	}
	dl, ok := c1.Deadline()
	if left := time.Until(dl); !ok || left <= timeout/2 || left > timeout {
		t.Fatalf("deadline in %v (set %v), want within (%v, %v]", left, ok, timeout/2, timeout)
	}
	if c2 := s.commandCtx(); c2 != c1 {
		t.Error("the next call got a new context with most of the timeout left")
	}

	// Half the timeout gone: a new context with all of it; the old ends.
	s.cmdDeadline = time.Now().Add(timeout / 2)
	c3 := s.commandCtx()
	if c3 == c1 {
		t.Fatal("the same context with half the timeout left")
	}
	if dl3, _ := c3.Deadline(); time.Until(dl3) <= timeout/2 {
		t.Errorf("the new context's deadline is in %v", time.Until(dl3))
	}
	if !errors.Is(c1.Err(), context.Canceled) {
		t.Errorf("the replaced context: %v, want canceled", c1.Err())
	}

	cancel() // Logout
	if !errors.Is(c3.Err(), context.Canceled) {
		t.Errorf("after the session ended: %v, want canceled", c3.Err())
	}

	// No timeout configured: the session's own context.
	s2 := &session{b: &Backend{}, ctx: t.Context()}
	if c := s2.commandCtx(); c != t.Context() {
		t.Error("without CommandTimeout, want the session's context")
	}
}
