package storetest

import (
	"sync"
	"time"
)

// UserClock is a settable clock for StoreOptions.Now.
type UserClock struct {
	mu sync.Mutex
	T  time.Time
}

func (c *UserClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.T
}

func (c *UserClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.T = c.T.Add(d)
}
