package store

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// RemoveIdleConsumers deletes from group on stream the consumers other than
// self that hold no pending entries and have been idle for at least idle:
// those instances left behind when they restarted under a new name. One
// still holding entries stays until they are claimed. It returns how many
// it removed.
func RemoveIdleConsumers(ctx context.Context, rdb redis.UniversalClient, stream, group, self string, idle time.Duration) (int, error) {
	cs, err := rdb.XInfoConsumers(ctx, stream, group).Result()
	if err != nil {
		return 0, fmt.Errorf("consumers of %s: %w", stream, err)
	}
	removed := 0
	for _, c := range cs {
		if c.Name == self || c.Pending > 0 || c.Idle < idle {
			continue
		}
		if err := rdb.XGroupDelConsumer(ctx, stream, group, c.Name).Err(); err != nil {
			return removed, fmt.Errorf("remove consumer %s of %s: %w", c.Name, stream, err)
		}
		removed++
	}
	return removed, nil
}
