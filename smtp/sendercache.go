package smtp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/smsgate/smsgate/accounts"
)

// CacheResolver wraps r so that a sender address resolves from memory for
// ttl after its first lookup: a busy Outlook relay sends many mails from the
// same few addresses, and each lookup costs Redis round trips. Unknown and
// deactivated senders are remembered too (a spammer's retries stay off
// Redis); other errors are not. The account's status and balance are
// checked again, atomically, when the mail is accepted, so the cache can only
// delay a registration change by ttl (and the one lookup that refreshes it).
//
// One lookup an address at a time: sessions that miss the same address
// together (a relay's sessions after a restart) wait for the one lookup in
// flight instead of each asking Redis, and when an entry expires the first
// session to ask refreshes it while the others go on with the entry it
// replaces.
func CacheResolver(r Resolver, ttl time.Duration, now func() time.Time) Resolver {
	if ttl <= 0 {
		return r
	}
	if now == nil {
		now = time.Now
	}
	return &cacheResolver{r: r, ttl: ttl, now: now, m: map[string]cachedSender{}, flights: map[string]*senderFlight{}}
}

// cacheMax bounds the cache; when full it starts over.
const cacheMax = 50_000

type cacheResolver struct {
	r   Resolver
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	m       map[string]cachedSender
	flights map[string]*senderFlight // the lookups in flight, by address
}

type cachedSender struct {
	s       *accounts.Sender
	err     error
	expires time.Time
}

// senderFlight is one lookup in flight; done is closed when s and err are set.
type senderFlight struct {
	done    chan struct{}
	s       *accounts.Sender
	err     error
	waiters int // sessions waiting for it (under cacheResolver.mu)
}

func (c *cacheResolver) ResolveSender(ctx context.Context, addr string) (*accounts.Sender, error) {
	now := c.now()
	c.mu.Lock()
	e, cached := c.m[addr]
	f := c.flights[addr]
	switch {
	case cached && now.Before(e.expires), cached && f != nil:
		// Fresh, or being refreshed by another session: this entry.
		c.mu.Unlock()
		return copySender(e.s, e.err)
	case f != nil:
		f.waiters++
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("resolve sender: %w", ctx.Err())
		}
		// A lookup that failed for its own session's sake (its context
		// ended) says nothing of this one's: look up here.
		if !isContextErr(f.err) {
			return copySender(f.s, f.err)
		}
		return c.r.ResolveSender(ctx, addr)
	}
	f = &senderFlight{done: make(chan struct{})}
	c.flights[addr] = f
	c.mu.Unlock()

	s, err := c.r.ResolveSender(ctx, addr)
	keep := err == nil || errors.Is(err, accounts.ErrUnknownSender) || errors.Is(err, accounts.ErrDeactivated)
	c.mu.Lock()
	delete(c.flights, addr)
	if keep {
		if len(c.m) >= cacheMax {
			clear(c.m)
		}
		c.m[addr] = cachedSender{s: s, err: err, expires: now.Add(c.ttl)}
	}
	c.mu.Unlock()
	f.s, f.err = s, err
	close(f.done)
	if !keep {
		return nil, err
	}
	return copySender(s, err)
}

// copySender returns a copy of s that the caller may change (callers may
// not share the cached value's pointer fields), or err when s is nil.
func copySender(s *accounts.Sender, err error) (*accounts.Sender, error) {
	if s == nil {
		return nil, err
	}
	cp := *s
	if s.Account != nil {
		acct := *s.Account
		cp.Account = &acct
	}
	return &cp, err
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
