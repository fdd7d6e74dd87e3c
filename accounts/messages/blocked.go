package messages

import (
	"context"
	"fmt"
	"strconv"

	"github.com/smsgate/smsgate/accounts"
)

// blockedDefaultLimit and blockedMaxLimit bound a page of ListBlocked.
const (
	blockedDefaultLimit = 100
	blockedMaxLimit     = 1000
)

// ListBlocked returns up to limit (default 100, at most 1000) of accountID's
// blocked messages, newest first, starting at cursor ("" for the first
// page). next is the cursor of the following page, "" after the last.
func (s *Store) ListBlocked(ctx context.Context, accountID string, limit int, cursor string) (msgs []*accounts.Message, next string, err error) {
	shard, err := s.ShardFromID(accountID)
	if err != nil {
		return nil, "", fmt.Errorf("blocked log: account %w", err)
	}
	if limit <= 0 {
		limit = blockedDefaultLimit
	}
	limit = min(limit, blockedMaxLimit)
	var off int64
	if cursor != "" {
		off, err = strconv.ParseInt(cursor, 10, 64)
		if err != nil || off < 0 {
			return nil, "", accounts.Invalidf("cursor: %q is not a cursor of this list", cursor)
		}
	}
	// One more than asked tells whether there is a next page.
	ids, err := s.RDB.ZRevRange(ctx, s.Keys.Blocked(shard, accountID), off, off+int64(limit)).Result()
	if err != nil {
		return nil, "", fmt.Errorf("blocked log of %s: %w", accountID, err)
	}
	if len(ids) > limit {
		ids = ids[:limit]
		next = strconv.FormatInt(off+int64(limit), 10)
	}
	loaded, err := s.LoadMessages(ctx, ids)
	if err != nil {
		return nil, "", fmt.Errorf("blocked log of %s: %w", accountID, err)
	}
	msgs = make([]*accounts.Message, 0, len(loaded))
	for _, m := range loaded {
		if m != nil {
			msgs = append(msgs, m)
		}
	}
	return msgs, next, nil
}

// CountBlocked returns how many blocked messages accountID has.
func (s *Store) CountBlocked(ctx context.Context, accountID string) (int64, error) {
	shard, err := s.ShardFromID(accountID)
	if err != nil {
		return 0, fmt.Errorf("blocked log: account %w", err)
	}
	n, err := s.RDB.ZCard(ctx, s.Keys.Blocked(shard, accountID)).Result()
	if err != nil {
		return 0, fmt.Errorf("count blocked of %s: %w", accountID, err)
	}
	return n, nil
}
