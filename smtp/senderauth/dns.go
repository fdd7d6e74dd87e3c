// Package senderauth checks whether the DNS of a sender's domain vouches
// for a mail: SPF (RFC 7208) for the connecting address and DKIM (RFC 6376)
// signatures aligned with the From header's domain (DMARC relaxed
// alignment, RFC 7489 §3.1.1). The SMTP session decides what the results
// authorise (accounts.SenderPolicy); this package only looks.
//
// Every DNS lookup goes through a Cache: bounded in time, remembered for a
// while, and answered from a resolver the daemon injects (config dns.servers),
// so tests run a real DNS server on loopback.
package senderauth

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Resolver is the DNS a Cache asks; *net.Resolver is one. It is the
// interface the SPF library resolves through.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// NewResolver returns a resolver that asks servers ("host:port", tried in
// order) over UDP, falling back to TCP for truncated answers as the Go
// resolver does; no servers: the system's resolver.
func NewResolver(servers []string) Resolver {
	if len(servers) == 0 {
		return net.DefaultResolver
	}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			var err error
			for _, s := range servers {
				var c net.Conn
				if c, err = d.DialContext(ctx, network, s); err == nil {
					return c, nil
				}
			}
			return nil, err
		},
	}
}

// CacheOptions tune a Cache; zero values take the defaults.
type CacheOptions struct {
	// Timeout bounds each lookup (default 5s).
	Timeout time.Duration
	// TTL is how long an answer is remembered (default 5m): the Go
	// resolver does not expose record TTLs, so one bound serves all.
	TTL time.Duration
	// NegativeTTL is how long "no such name / no records" is remembered
	// (default 1m). Temporary failures are never remembered.
	NegativeTTL time.Duration
	// MaxEntries bounds the cache (default 10,000); when full, expired
	// entries go first, then the whole cache.
	MaxEntries int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Cache is a Resolver that remembers answers. Safe for concurrent use.
type Cache struct {
	r    Resolver
	opts CacheOptions

	mu sync.Mutex
	m  map[cacheKey]cacheEntry
}

type cacheKey struct {
	kind byte // 't' TXT, 'm' MX, 'a' addresses, 'p' PTR
	name string
}

type cacheEntry struct {
	val     any
	err     error
	expires time.Time
}

var _ Resolver = (*Cache)(nil)

// NewCache wraps r.
func NewCache(r Resolver, o CacheOptions) *Cache {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.TTL <= 0 {
		o.TTL = 5 * time.Minute
	}
	if o.NegativeTTL <= 0 {
		o.NegativeTTL = time.Minute
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 10_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Cache{r: r, opts: o, m: map[cacheKey]cacheEntry{}}
}

// lookup answers k from the cache or by calling ask, bounded by Timeout.
func lookup[T any](ctx context.Context, c *Cache, k cacheKey, ask func(context.Context) (T, error)) (T, error) {
	now := c.opts.Now()
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		v, _ := e.val.(T)
		return v, e.err
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	v, err := ask(ctx)
	var ttl time.Duration
	switch {
	case err == nil:
		ttl = c.opts.TTL
	case IsNotFound(err):
		ttl = c.opts.NegativeTTL
	default:
		// Unwrapped: the SPF library type-asserts *net.DNSError.
		return v, err
	}
	c.mu.Lock()
	if len(c.m) >= c.opts.MaxEntries {
		for key, old := range c.m {
			if !now.Before(old.expires) {
				delete(c.m, key)
			}
		}
		if len(c.m) >= c.opts.MaxEntries {
			clear(c.m)
		}
	}
	c.m[k] = cacheEntry{val: v, err: err, expires: now.Add(ttl)}
	c.mu.Unlock()
	return v, err
}

// IsNotFound reports whether err says the name or its records do not
// exist (NXDOMAIN or an empty answer), as opposed to a failure to ask.
func IsNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// IsTemporary reports whether err is a failure to get an answer (timeout,
// SERVFAIL, no server reachable) rather than an answer.
func IsTemporary(err error) bool {
	if err == nil || IsNotFound(err) {
		return false
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return de.IsTemporary || de.IsTimeout || !de.IsNotFound
	}
	return true
}

// LookupTXT implements Resolver.
func (c *Cache) LookupTXT(ctx context.Context, name string) ([]string, error) {
	return lookup(ctx, c, cacheKey{'t', name}, func(ctx context.Context) ([]string, error) { return c.r.LookupTXT(ctx, name) })
}

// LookupMX implements Resolver.
func (c *Cache) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	return lookup(ctx, c, cacheKey{'m', name}, func(ctx context.Context) ([]*net.MX, error) { return c.r.LookupMX(ctx, name) })
}

// LookupIPAddr implements Resolver.
func (c *Cache) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	return lookup(ctx, c, cacheKey{'a', host}, func(ctx context.Context) ([]net.IPAddr, error) { return c.r.LookupIPAddr(ctx, host) })
}

// LookupAddr implements Resolver.
func (c *Cache) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	return lookup(ctx, c, cacheKey{'p', addr}, func(ctx context.Context) ([]string, error) { return c.r.LookupAddr(ctx, addr) })
}

// addrOf converts a netip address for the SPF library.
func addrOf(ip netip.Addr) net.IP { return net.IP(ip.Unmap().AsSlice()) }
