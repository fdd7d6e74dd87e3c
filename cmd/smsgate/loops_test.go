package main

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestLoops: a loop that returns while the daemon runs is reported (and
// /readyz fails with it); one that returns because the daemon stops is not.
func TestLoops(t *testing.T) {
	l := newLoops()
	if err := l.check(); err != nil {
		t.Fatalf("nothing stopped: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	_ = l.run(ctx, "webhooks", func(context.Context) error { cancel(); return nil }) // stopping: fine
	if err := l.check(); err != nil {
		t.Fatalf("a loop ended by the shutdown counts as stopped: %v", err)
	}
	_ = l.run(t.Context(), "dispatch", func(context.Context) error { return errors.New("NOGROUP") })
	_ = l.run(t.Context(), "inbound", func(context.Context) error { return nil })
	err := l.check()
	if err == nil || !strings.Contains(err.Error(), "dispatch (NOGROUP)") || !strings.Contains(err.Error(), "inbound (returned)") {
		t.Fatalf("check = %v", err)
	}
}
