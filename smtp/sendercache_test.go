package smtp

import (
	"context"
	"errors"
	"fmt"
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
