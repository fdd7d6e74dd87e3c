package store

import (
	"strconv"
)

// statsKey is the counter hash of one account and day.
func (s *DB) StatsKey(shard int, accountID string, day int64) string {
	return s.Skey(shard, "stats", accountID, strconv.FormatInt(day, 10))
}
