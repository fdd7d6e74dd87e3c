package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// lifecycle records how to stop each started component, registered right
// after its constructor, and stops them in reverse order: what started last
// (intake) stops first, what everything else leans on (Redis) stops last.
// Serve runs it on every return, so that a failure halfway through startup
// leaves nothing running.
type lifecycle struct {
	log   *slog.Logger
	stops []namedStop
}

type namedStop struct {
	name string
	f    func(ctx context.Context) error
}

// onStop registers f to stop the component name.
func (l *lifecycle) onStop(name string, f func(ctx context.Context) error) {
	l.stops = append(l.stops, namedStop{name, f})
}

// stopGrace is the least time each stop is given, even once the overall
// bound has passed: closing a listener or a client takes no longer.
const stopGrace = time.Second

// stop runs the registered stops in reverse order, each once, within
// timeout in all (and at least stopGrace each). A stop must return promptly
// once its ctx is done; one that overruns its bound is abandoned (its
// goroutine is left to finish) and the next one runs. The errors are
// joined.
func (l *lifecycle) stop(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var errs []error
	for i := len(l.stops) - 1; i >= 0; i-- {
		s := l.stops[i]
		ctx, cancel := context.WithDeadline(context.Background(), later(deadline, time.Now().Add(stopGrace)))
		done := make(chan error, 1)
		go func() { done <- s.f(ctx) }()
		var err error
		select {
		case err = <-done:
		case <-ctx.Done():
			err = ctx.Err()
		}
		cancel()
		if err != nil {
			l.log.Warn("stop", "component", s.name, "err", err)
			errs = append(errs, fmt.Errorf("stop %s: %w", s.name, err))
		}
	}
	l.stops = nil
	return errors.Join(errs...)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
