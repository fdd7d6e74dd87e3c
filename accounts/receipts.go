package accounts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ReceiptUpdate is one delivery receipt to apply: the part's SMSC id in its
// canonical form, on the link it was submitted on, and its final status.
type ReceiptUpdate struct {
	Link, CanonicalID string
	Status, ErrCode   string
	At                time.Time
}

// ApplyReceipts applies a batch of receipts in two pipelined round trips (find
// the messages by SMSC id, then update each with the receipt script), where
// ApplyReceipt takes two per receipt. msgs[i] is the updated message of
// ups[i]; errs[i] is ErrNotFound when no message has that SMSC id (yet).
// The returned error is for the batch as a whole (Redis unreachable).
func (s *Store) ApplyReceipts(ctx context.Context, ups []ReceiptUpdate) (msgs []*Message, errs []error, err error) {
	msgs, errs = make([]*Message, len(ups)), make([]error, len(ups))
	gets := make([]*redis.StringCmd, len(ups))
	pipe := s.rdb.Pipeline()
	for i, u := range ups {
		gets[i] = pipe.Get(ctx, s.gkey("smsc", u.Link, u.CanonicalID))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, fmt.Errorf("receipts: find messages: %w", err)
	}
	evals := make([]*redis.Cmd, len(ups))
	mids := make([]string, len(ups))
	run := func(pipe redis.Pipeliner) error {
		for i, u := range ups {
			mid, err := gets[i].Result()
			if err != nil {
				errs[i] = fmt.Errorf("receipt %s on %s: %w", u.CanonicalID, u.Link, ErrNotFound)
				continue
			}
			key, shard, err := s.msgKey(mid)
			if err != nil {
				errs[i] = fmt.Errorf("receipt %s on %s: message %w", u.CanonicalID, u.Link, err)
				continue
			}
			at := u.At
			if at.IsZero() {
				at = s.now()
			}
			mids[i] = mid
			evals[i] = acceptReceiptScript.EvalSha(ctx, pipe, []string{key, s.skey(shard, "dlr", mid)},
				u.Status, u.ErrCode, at.UnixMilli(), u.CanonicalID)
		}
		return nil
	}
	cmds, err := s.rdb.Pipelined(ctx, run)
	if err != nil && queueNoScript(cmds) {
		// The script cache was flushed: load it and run the batch again.
		// Applying a receipt twice is harmless (parts are counted once).
		if err := acceptReceiptScript.Load(ctx, s.rdb).Err(); err != nil {
			return nil, nil, fmt.Errorf("receipts: load script: %w", err)
		}
		_, err = s.rdb.Pipelined(ctx, run)
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
			errs[i] = fmt.Errorf("receipt %s: message %s: %w", ups[i].CanonicalID, mids[i], ErrNotFound)
		default:
			msgs[i] = msgFromHash(msgPairs(res))
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
