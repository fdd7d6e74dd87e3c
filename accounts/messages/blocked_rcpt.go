package messages

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
)

// RecordRefusedOptOut writes a blocked-log record for a recipient refused
// at RCPT TO because it is on the account's opt-out list: the mail's text
// is not known yet, so the record names the sender and the number only.
// Nothing is charged or queued. It returns the record's message id.
func (s *Store) RecordRefusedOptOut(ctx context.Context, accountID, sender, to string) (string, error) {
	shard, err := s.ShardFromID(accountID)
	if err != nil {
		return "", fmt.Errorf("record blocked recipient: account %w", err)
	}
	id := store.NewShardedID("m", shard)
	ms := s.Now().UnixMilli()
	now := strconv.FormatInt(ms, 10)
	key, _, err := s.MsgKey(id)
	if err != nil {
		return "", fmt.Errorf("record blocked recipient: %w", err)
	}
	pipe := s.RDB.TxPipeline()
	pipe.HSet(ctx, key, "account_id", accountID, "sender", sender, "to", to,
		"text", "", "parts", 0, "price", 0, "status", string(accounts.MsgBlocked),
		"error", "recipient has opted out (refused at RCPT TO)", "created_at", now, "done_at", now)
	pipe.ZAdd(ctx, s.Keys.Blocked(shard, accountID), redis.Z{Score: float64(ms), Member: id})
	if _, err := pipe.Exec(ctx); err != nil {
		return "", fmt.Errorf("record blocked recipient for %s: %w", accountID, err)
	}
	return id, nil
}
