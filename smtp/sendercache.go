package smtp

import (
	"context"
	"errors"
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
// delay a registration change by ttl.
func CacheResolver(r Resolver, ttl time.Duration, now func() time.Time) Resolver {
	if ttl <= 0 {
		return r
	}
	if now == nil {
		now = time.Now
	}
	return &cacheResolver{r: r, ttl: ttl, now: now, m: map[string]cachedSender{}}
}

// cacheMax bounds the cache; when full it starts over.
const cacheMax = 50_000

type cacheResolver struct {
	r   Resolver
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[string]cachedSender
}

type cachedSender struct {
	s       *accounts.Sender
	err     error
	expires time.Time
}

func (c *cacheResolver) ResolveSender(ctx context.Context, addr string) (*accounts.Sender, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[addr]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		if e.s == nil {
			return nil, e.err
		}
		cp := *e.s // callers may not share the cached value's pointer fields
		acct := *e.s.Account
		cp.Account = &acct
		return &cp, nil
	}
	s, err := c.r.ResolveSender(ctx, addr)
	if err != nil && !errors.Is(err, accounts.ErrUnknownSender) && !errors.Is(err, accounts.ErrDeactivated) {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= cacheMax {
		clear(c.m)
	}
	c.m[addr] = cachedSender{s: s, err: err, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return s, err
}
