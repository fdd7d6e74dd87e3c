package messages

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
)

// ApplyReceipts applies a batch of receipts in two pipelined round trips:
// find the messages by SMSC id (the index also carries each message's
// account and creation time, which name its statistics key), then update
// each with the receipt script. Index entries written without them cost one
// more round trip to read them from the messages. msgs[i] is the updated message of
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
	owners := make([][]any, len(ups))          // account_id, created_at of each message
	reads := make([]*redis.SliceCmd, len(ups)) // for index entries that lack them
	pipe = s.RDB.Pipeline()
	for i, u := range ups {
		ref, err := gets[i].Result()
		if err != nil {
			errs[i] = fmt.Errorf("receipt %s on %s: %w", u.CanonicalID, u.Link, accounts.ErrNotFound)
			continue
		}
		mid, acct, created, known := parseSMSCRef(ref)
		key, _, err := s.MsgKey(mid)
		if err != nil {
			errs[i] = fmt.Errorf("receipt %s on %s: message %w", u.CanonicalID, u.Link, err)
			continue
		}
		mids[i] = mid
		if known {
			owners[i] = []any{acct, created}
		} else {
			reads[i] = pipe.HMGet(ctx, key, "account_id", "created_at")
		}
	}
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, nil, fmt.Errorf("receipts: read messages: %w", err)
		}
		for i, r := range reads {
			if r != nil {
				owners[i] = r.Val()
			}
		}
	}
	evals := make([]*redis.Cmd, len(ups))
	run := func(pipe redis.Pipeliner) error {
		for i, u := range ups {
			if owners[i] == nil {
				continue
			}
			key, shard, _ := s.MsgKey(mids[i])
			acct, created, stats := s.msgStatsKey(shard, key, owners[i])
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

// smscRef is the value of an SMSC-id index entry: the message id, and when
// known its account and creation time (unix ms), space-separated.
func smscRef(mid, acct string, created time.Time) string {
	if acct == "" || created.IsZero() {
		return mid
	}
	return mid + " " + acct + " " + strconv.FormatInt(created.UnixMilli(), 10)
}

// parseSMSCRef splits an SMSC-id index value (smscRef); known is false for
// a bare message id.
func parseSMSCRef(ref string) (mid, acct, created string, known bool) {
	mid, rest, ok := strings.Cut(ref, " ")
	if !ok {
		return ref, "", "", false
	}
	acct, created, ok = strings.Cut(rest, " ")
	return mid, acct, created, ok && acct != "" && created != ""
}
