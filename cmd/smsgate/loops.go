package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// loops tracks the daemon's long-running loops (dispatcher, webhook
// deliveries, inbound, links): one that returns while the daemon is not
// stopping has stopped for good, and /readyz says so, so that an
// orchestrator restarts the instance instead of leaving work undone.
type loops struct {
	mu      sync.Mutex
	stopped map[string]error
}

func newLoops() *loops { return &loops{stopped: map[string]error{}} }

// count is how many loops have stopped for good.
func (l *loops) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.stopped)
}

// run runs f, recording name as stopped if f returns before ctx ends.
func (l *loops) run(ctx context.Context, name string, f func(context.Context) error) error {
	err := f(ctx)
	if ctx.Err() == nil {
		if err == nil {
			err = errors.New("returned")
		}
		l.mu.Lock()
		l.stopped[name] = err
		l.mu.Unlock()
	}
	return err
}

// check is nil while every loop runs; else it names those stopped.
func (l *loops) check() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.stopped) == 0 {
		return nil
	}
	var names []string
	for n, err := range l.stopped {
		names = append(names, fmt.Sprintf("%s (%v)", n, err))
	}
	sort.Strings(names)
	return fmt.Errorf("stopped: %s", strings.Join(names, ", "))
}
