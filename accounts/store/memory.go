package store

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
)

// memoryGate remembers the last measure of Redis memory: the share of
// maxmemory in use on the fullest master, and whether new work is refused.
type memoryGate struct {
	ratio atomic.Uint64 // math.Float64bits
	full  atomic.Bool
}

// MemoryRatio is the share of maxmemory in use on the fullest master at
// the last check (0 before the first, or with no maxmemory set).
func (s *DB) MemoryRatio() float64 { return math.Float64frombits(s.memory.ratio.Load()) }

// CheckStorage is nil while Redis has room for new work; past the high
// mark of WatchMemory it is an error matching accounts.ErrStorageFull, so
// that a new mail is deferred (SMTP 452 4.3.1) while what is queued still
// drains, instead of writes failing halfway once Redis refuses them (OOM).
func (s *DB) CheckStorage() error {
	if s.memory.full.Load() {
		return fmt.Errorf("%w: Redis uses %.0f%% of its maxmemory", accounts.ErrStorageFull, 100*s.MemoryRatio())
	}
	return nil
}

// WatchMemory measures Redis memory (INFO memory: used_memory of
// maxmemory, on every master of a cluster) every interval until ctx ends,
// and turns CheckStorage's refusal on at high (a share, 0.9 for 90%) and
// off again below it. A failed measure keeps the last state. It returns
// ctx's error.
func (s *DB) WatchMemory(ctx context.Context, high float64, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if r, err := s.measureMemory(ctx); err == nil {
			s.memory.ratio.Store(math.Float64bits(r))
			s.memory.full.Store(high > 0 && r >= high)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// measureMemory returns used_memory / maxmemory of the fullest master (0
// where maxmemory is 0: no limit).
func (s *DB) measureMemory(ctx context.Context) (float64, error) {
	one := func(ctx context.Context, c redis.Cmdable) (float64, error) {
		info, err := c.Info(ctx, "memory").Result()
		if err != nil {
			return 0, fmt.Errorf("info memory: %w", err)
		}
		used, max := infoField(info, "used_memory"), infoField(info, "maxmemory")
		if max <= 0 {
			return 0, nil
		}
		return used / max, nil
	}
	if cc, ok := s.RDB.(*redis.ClusterClient); ok {
		var mu sync.Mutex
		var worst float64
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			r, err := one(ctx, c)
			mu.Lock()
			worst = max(worst, r)
			mu.Unlock()
			return err
		})
		return worst, err
	}
	return one(ctx, s.RDB)
}

// infoField reads a number from INFO output ("name:value" lines).
func infoField(info, name string) float64 {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}
