// Package promvec keeps the children of Prometheus metric vectors by their
// label values, so that a hot path finds its counter with one map lookup
// instead of WithLabelValues' hashing and checking of the labels on every
// event.
package promvec

import "sync"

// Cache holds the children of one vector of two labels, each made (by the
// vector's WithLabelValues) on its first use.
type Cache[M any] struct {
	with func(...string) M
	mu   sync.RWMutex
	m    map[[2]string]M
}

// New returns a Cache over with, the WithLabelValues of a vector of two
// labels.
func New[M any](with func(...string) M) *Cache[M] {
	return &Cache[M]{with: with, m: map[[2]string]M{}}
}

// Get returns the child for label values a and b.
func (c *Cache[M]) Get(a, b string) M {
	k := [2]string{a, b}
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = c.with(a, b)
	c.mu.Lock()
	c.m[k] = v
	c.mu.Unlock()
	return v
}
