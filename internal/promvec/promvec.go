// Package promvec keeps the children of Prometheus metric vectors by their
// label values, so that a hot path finds its counter with one map lookup
// instead of WithLabelValues' hashing and checking of the labels on every
// event.
package promvec

import "sync"

// Cache holds the children of one vector with one or two labels, each made
// (by the vector's WithLabelValues) on its first use.
type Cache[M any] struct {
	with func(...string) M
	two  bool
	mu   sync.RWMutex
	m    map[[2]string]M
}

// New returns a Cache over with, a vector's WithLabelValues; labels is the
// vector's number of labels, 1 or 2.
func New[M any](with func(...string) M, labels int) *Cache[M] {
	if labels != 1 && labels != 2 {
		panic("promvec: a vector of 1 or 2 labels")
	}
	return &Cache[M]{with: with, two: labels == 2, m: map[[2]string]M{}}
}

// Get returns the child for label values a and b (b is ignored for a
// vector of one label).
func (c *Cache[M]) Get(a, b string) M {
	if !c.two {
		b = ""
	}
	k := [2]string{a, b}
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	if c.two {
		v = c.with(a, b)
	} else {
		v = c.with(a)
	}
	c.mu.Lock()
	c.m[k] = v
	c.mu.Unlock()
	return v
}
