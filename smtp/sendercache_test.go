package smtp

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
)

type countingResolver struct {
	calls int
	err   error
}

func (c *countingResolver) ResolveSender(_ context.Context, addr string) (*accounts.Sender, error) {
	c.calls++
	if c.err != nil {
		return nil, fmt.Errorf("resolve %s: %w", addr, c.err)
	}
	return &accounts.Sender{Account: &accounts.Account{ID: "a0-x"}, Address: addr, Match: "domain"}, nil
}

func TestCacheResolver(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	tests := []struct {
		name      string
		err       error
		wantCalls int // after three lookups within the ttl and one after
	}{
		{"found", nil, 2},
		{"unknown sender cached", accounts.ErrUnknownSender, 2},
		{"deactivated cached", accounts.ErrDeactivated, 2},
		{"redis error not cached", errors.New("connection refused"), 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now = time.Unix(1000, 0)
			inner := &countingResolver{err: tc.err}
			r := CacheResolver(inner, 2*time.Second, clock)
			for range 3 {
				s, err := r.ResolveSender(t.Context(), "alice@example.com")
				if (err != nil) != (tc.err != nil) || (tc.err != nil && !errors.Is(err, tc.err)) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				if err == nil {
					s.Account.Status = accounts.StatusDeactivated // must not poison the cache
				}
			}
			now = now.Add(3 * time.Second)
			s, _ := r.ResolveSender(t.Context(), "alice@example.com")
			if inner.calls != tc.wantCalls {
				t.Errorf("%d lookups reached the store, want %d", inner.calls, tc.wantCalls)
			}
			if s != nil && s.Account.Status != "" {
				t.Errorf("cached account was modified through a returned copy")
			}
		})
	}
	t.Run("ttl 0 is no cache", func(t *testing.T) {
		inner := &countingResolver{}
		if r := CacheResolver(inner, 0, nil); r != Resolver(inner) {
			t.Error("want the resolver itself")
		}
	})
}

// gatedResolver counts lookups and holds each until release is closed (or
// its context ends); entered gets a value as each lookup starts.
type gatedResolver struct {
	calls   atomic.Int32
	entered chan struct{}
	release chan struct{}
}

func (g *gatedResolver) ResolveSender(ctx context.Context, addr string) (*accounts.Sender, error) {
	g.calls.Add(1)
	g.entered <- struct{}{}
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, fmt.Errorf("resolve %s: %w", addr, ctx.Err())
	}
	return &accounts.Sender{Account: &accounts.Account{ID: "a0-x"}, Address: addr, Match: "domain"}, nil
}

func newGated() *gatedResolver {
	return &gatedResolver{entered: make(chan struct{}, 100), release: make(chan struct{})}
}

// TestCacheResolverOneLookup: sessions that miss one address together share
// one lookup; when the entry expires, one session refreshes it and the
// others go on with the old entry; a waiter whose leader's context ended
// looks up itself, and one whose own context ends stops waiting.
func TestCacheResolverOneLookup(t *testing.T) {
	wait := func(t *testing.T, ch <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out waiting for %s", what)
		}
	}
	t.Run("concurrent misses", func(t *testing.T) {
		g := newGated()
		r := CacheResolver(g, time.Minute, nil)
		errs := make(chan error, 20)
		go func() { _, err := r.ResolveSender(t.Context(), "a@example.com"); errs <- err }()
		wait(t, g.entered, "the first lookup")
		for range 19 {
			go func() {
				s, err := r.ResolveSender(t.Context(), "a@example.com")
				if err == nil && (s == nil || s.Account.ID != "a0-x") {
					err = fmt.Errorf("got %+v", s)
				}
				errs <- err
			}()
		}
		// All 19 wait for the one lookup before it ends.
		cr := r.(*cacheResolver)
		for deadline := time.Now().Add(5 * time.Second); ; {
			cr.mu.Lock()
			n := 0
			if f := cr.flights["a@example.com"]; f != nil {
				n = f.waiters
			}
			cr.mu.Unlock()
			if n == 19 {
				break
			}
			if time.Now().After(deadline) || len(g.entered) > 0 {
				close(g.release)
				t.Fatalf("%d sessions wait for the lookup in flight, %d more lookups started; want 19 and 0", n, len(g.entered))
			}
			runtime.Gosched()
		}
		close(g.release)
		for range 20 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if n := g.calls.Load(); n != 1 {
			t.Errorf("%d lookups reached the store, want 1", n)
		}
	})
	t.Run("refresh serves the old entry", func(t *testing.T) {
		now := time.Unix(1000, 0)
		var mu sync.Mutex
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		g := newGated()
		r := CacheResolver(g, 2*time.Second, clock)
		close(g.release)
		if _, err := r.ResolveSender(t.Context(), "a@example.com"); err != nil {
			t.Fatal(err)
		}
		<-g.entered
		g.release = make(chan struct{}) // the refresh will wait
		mu.Lock()
		now = now.Add(3 * time.Second)
		mu.Unlock()
		refreshed := make(chan error, 1)
		go func() { _, err := r.ResolveSender(t.Context(), "a@example.com"); refreshed <- err }()
		wait(t, g.entered, "the refresh")
		// Answered from the old entry, not held by the refresh.
		during := make(chan error, 1)
		go func() {
			for range 5 {
				if s, err := r.ResolveSender(t.Context(), "a@example.com"); err != nil || s.Account.ID != "a0-x" {
					during <- fmt.Errorf("during the refresh: %+v, %v", s, err)
					return
				}
			}
			during <- nil
		}()
		select {
		case err := <-during:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			close(g.release)
			t.Fatal("a lookup during the refresh waited for it")
		}
		close(g.release)
		if err := <-refreshed; err != nil {
			t.Fatal(err)
		}
		if n := g.calls.Load(); n != 2 {
			t.Errorf("%d lookups, want 2", n)
		}
	})
	t.Run("leader's context ends", func(t *testing.T) {
		g := newGated()
		r := CacheResolver(g, time.Minute, nil)
		lctx, cancel := context.WithCancel(t.Context())
		leader := make(chan error, 1)
		go func() { _, err := r.ResolveSender(lctx, "a@example.com"); leader <- err }()
		wait(t, g.entered, "the leader's lookup")
		waiter := make(chan error, 1)
		go func() { _, err := r.ResolveSender(t.Context(), "a@example.com"); waiter <- err }()
		cancel()
		if err := <-leader; !errors.Is(err, context.Canceled) {
			t.Fatalf("leader: %v, want context.Canceled", err)
		}
		// The waiter (if it was waiting) looks up itself; release it.
		close(g.release)
		if err := <-waiter; err != nil {
			t.Fatalf("waiter: %v, want its own lookup to succeed", err)
		}
	})
	t.Run("waiter's context ends", func(t *testing.T) {
		g := newGated()
		r := CacheResolver(g, time.Minute, nil)
		go func() { _, _ = r.ResolveSender(t.Context(), "a@example.com") }()
		wait(t, g.entered, "the first lookup")
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if _, err := r.ResolveSender(ctx, "a@example.com"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want context.DeadlineExceeded", err)
		}
		close(g.release)
	})
}
