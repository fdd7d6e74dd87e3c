package main

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"
)

// TestLifecycleStop: stops run once, in reverse order of registration; an
// error is reported and the rest still run; a stop that overruns the bound
// is abandoned and the others still run, each given at least stopGrace.
func TestLifecycleStop(t *testing.T) {
	lc := &lifecycle{log: slog.New(slog.NewTextHandler(t.Output(), nil))}
	var order []string
	release := make(chan struct{})
	defer close(release)
	lc.onStop("redis", func(context.Context) error { order = append(order, "redis"); return nil })
	lc.onStop("stuck", func(context.Context) error { <-release; return nil }) // ignores its ctx
	lc.onStop("broken", func(context.Context) error { order = append(order, "broken"); return errors.New("boom") })
	lc.onStop("smtp", func(context.Context) error { order = append(order, "smtp"); return nil })

	start := time.Now()
	err := lc.stop(200 * time.Millisecond)
	if !slices.Equal(order, []string{"smtp", "broken", "redis"}) {
		t.Errorf("stop order %v, want smtp, broken, redis", order)
	}
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the stuck stop's deadline and the broken one's error", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("stop took %s, far beyond its bound", took)
	}
	order = nil
	if err := lc.stop(time.Second); err != nil || len(order) != 0 {
		t.Errorf("second stop ran %v (%v): stops must run once", order, err)
	}
}
