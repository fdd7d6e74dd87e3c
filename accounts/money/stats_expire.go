package money

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// StatsKeyTTL is how long a statistics day lives at most: its hash expires
// by Redis TTL 400 days after its first count (set by the accept script).
const StatsKeyTTL = 400 * 24 * 60 * 60 * 1000 // ms

// ExpireStats deletes the statistics of every account in ids for the days
// before beforeDay (days since the epoch) that earlier sweeps left: from the
// day recorded in StatsSwept (at first, the oldest day a key can still
// live), so that each day of each account is deleted once. It returns how
// many day hashes it deleted.
func (s *Store) ExpireStats(ctx context.Context, ids []string, beforeDay int64) (int64, error) {
	oldest := beforeDay - StatsKeyTTL/86_400_000 - 1
	from := oldest
	switch v, err := s.RDB.Get(ctx, s.Keys.StatsSwept()).Int64(); {
	case errors.Is(err, redis.Nil):
	case err != nil:
		return 0, fmt.Errorf("expire statistics: %w", err)
	default:
		from = max(v, oldest)
	}
	if from >= beforeDay {
		return 0, nil
	}
	var deleted int64
	const chunk = 1000
	keys := make([]string, 0, chunk)
	flush := func() error {
		if len(keys) == 0 {
			return nil
		}
		pipe := s.RDB.Pipeline()
		cmds := make([]*redis.IntCmd, len(keys))
		for i, k := range keys {
			cmds[i] = pipe.Unlink(ctx, k)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
		for _, c := range cmds {
			deleted += c.Val()
		}
		keys = keys[:0]
		return nil
	}
	for _, id := range ids {
		shard, err := s.ShardFromID(id)
		if err != nil {
			continue // not an account of this deployment's shards
		}
		for d := from; d < beforeDay; d++ {
			keys = append(keys, s.Keys.Stats(shard, id, d))
			if len(keys) == chunk {
				if err := flush(); err != nil {
					return deleted, fmt.Errorf("expire statistics: %w", err)
				}
			}
		}
	}
	if err := flush(); err != nil {
		return deleted, fmt.Errorf("expire statistics: %w", err)
	}
	if err := s.RDB.Set(ctx, s.Keys.StatsSwept(), strconv.FormatInt(beforeDay, 10), 0).Err(); err != nil {
		return deleted, fmt.Errorf("expire statistics: %w", err)
	}
	return deleted, nil
}
