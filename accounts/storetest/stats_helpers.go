package storetest

import (
	"sync/atomic"
	"time"
)

// StatsTestClock is a settable clock for the store.
type StatsTestClock struct{ ms atomic.Int64 }

func (c *StatsTestClock) Now() time.Time { return time.UnixMilli(c.ms.Load()) }

func (c *StatsTestClock) Set(t time.Time) { c.ms.Store(t.UnixMilli()) }
