package messages

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
)

// ApplyReceipts applies a batch of receipts in three pipelined round trips
// (find the messages by SMSC id, read the account and creation time that
// name each one's statistics key, then update each with the receipt script),
// where ApplyReceipt takes three per receipt. msgs[i] is the updated message of
// ups[i]; errs[i] is ErrNotFound when no message has that SMSC id (yet).
// The returned error is for the batch as a whole (Redis unreachable).
func (s *Store) ApplyReceipts(ctx context.Context, ups []accounts.ReceiptUpdate) (msgs []*accounts.Message, errs []error, err error) {
	msgs, errs = make([]*accounts.Message, len(ups)), make([]error, len(ups))
	gets := make([]*redis.StringCmd, len(ups))
	pipe := s.RDB.Pipeline()
	for i, u := range ups {
		gets[i] = pipe.Get(ctx, s.Keys.SMSCMessage(u.Link, u.CanonicalID))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, fmt.Errorf("receipts: find messages: %w", err)
	}
	mids := make([]string, len(ups))
	owners := make([]*redis.SliceCmd, len(ups))
	pipe = s.RDB.Pipeline()
	for i, u := range ups {
		mid, err := gets[i].Result()
		if err != nil {
			errs[i] = fmt.Errorf("receipt %s on %s: %w", u.CanonicalID, u.Link, accounts.ErrNotFound)
			continue
		}
		key, _, err := s.MsgKey(mid)
		if err != nil {
			errs[i] = fmt.Errorf("receipt %s on %s: message %w", u.CanonicalID, u.Link, err)
			continue
		}
		mids[i] = mid
		owners[i] = pipe.HMGet(ctx, key, "account_id", "created_at")
	}
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, nil, fmt.Errorf("receipts: read messages: %w", err)
		}
	}
	evals := make([]*redis.Cmd, len(ups))
	run := func(pipe redis.Pipeliner) error {
		for i, u := range ups {
			if owners[i] == nil {
				continue
			}
			key, shard, _ := s.MsgKey(mids[i])
			acct, created, stats := s.msgStatsKey(shard, key, owners[i].Val())
			at := u.At
			if at.IsZero() {
				at = s.Now()
			}
			keys := []string{key, s.Keys.DeliveredParts(shard, mids[i]), stats}
			evals[i] = s.EvalSha(ctx, pipe, receiptScript, keys,
				u.Status, u.ErrCode, at.UnixMilli(), u.CanonicalID, acct, created)
		}
		return nil
	}
	cmds, err := s.RDB.Pipelined(ctx, run)
	if err != nil && pipelineNoScript(cmds) {
		// The script cache was flushed: load it and run the batch again.
		// Applying a receipt twice is harmless (parts are counted once).
		if err := s.Load(ctx, receiptScript); err != nil {
			return nil, nil, fmt.Errorf("receipts: %w", err)
		}
		_, err = s.RDB.Pipelined(ctx, run)
	}
	for i, c := range evals {
		if c == nil {
			continue
		}
		res, err := c.Slice()
		switch {
		case err != nil:
			errs[i] = fmt.Errorf("receipt %s for %s: %w", ups[i].CanonicalID, mids[i], err)
		case len(res) == 0:
			errs[i] = fmt.Errorf("receipt %s: message %s: %w", ups[i].CanonicalID, mids[i], accounts.ErrNotFound)
		default:
			msgs[i] = MsgFromHash(msgPairs(res))
		}
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		// Per-command errors are in errs; report the batch failed only if
		// nothing went through.
		ok := false
		for _, m := range msgs {
			ok = ok || m != nil
		}
		if !ok {
			return nil, nil, fmt.Errorf("receipts: %w", err)
		}
	}
	return msgs, errs, nil
}

// msgStatsKey returns a message's account id and created_at as read from
// its hash (HMGET account_id created_at; "" when absent), and the statistics
// hash of its creation day, which its final status is counted in: the
// message key itself when it has no account (the scripts then count nothing).
func (s *Store) msgStatsKey(shard int, msgKey string, vals []any) (acct, created, stats string) {
	acct, _ = vals[0].(string)
	created, _ = vals[1].(string)
	if acct == "" {
		return "", created, msgKey
	}
	ms, _ := strconv.ParseInt(created, 10, 64)
	return acct, created, s.Keys.Stats(shard, acct, ms/86400000)
}
