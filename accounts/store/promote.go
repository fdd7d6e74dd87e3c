package store

import (
	"context"
	_ "embed"
	"fmt"
)

var (
	//go:embed lua/promote.lua
	promoteLua    string
	promoteScript = NewScript("store/promote.lua", promoteLua)
)

// Promote moves up to limit ids of the retry zset whose due time (the
// score, unix ms) is at or before nowMS onto stream, as entries with one
// field, and returns how many it moved. The message queue and the webhook
// deliveries share it.
func (s *DB) Promote(ctx context.Context, retry, stream, field string, nowMS int64, limit int) (int, error) {
	n, err := s.Run(ctx, promoteScript, []string{retry, stream}, nowMS, limit, field).Int()
	if err != nil {
		return 0, fmt.Errorf("promote %s: %w", retry, err)
	}
	return n, nil
}
