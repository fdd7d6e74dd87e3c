package messages

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts/store"
)

var (
	//go:embed lua/expire.lua
	expireLua    string
	expireScript = store.NewScript("messages/expire.lua", expireLua)
	//go:embed lua/expire_stream.lua
	expireStreamLua    string
	expireStreamScript = store.NewScript("messages/expire_stream.lua", expireStreamLua)
)

// Retention is how long each kind of record is kept, by age; 0 keeps it
// (within the count quotas that bound the inbox and the blocked log).
type Retention struct {
	Messages time.Duration // the message log: each message's record and its delivered-parts set
	Inbox    time.Duration // replies, routed and unrouted
	Blocked  time.Duration // the log of recipients blocked by an opt-out
}

// Expired counts what one ExpireOld call removed.
type Expired struct{ Messages, Replies, Blocked int }

// expireBatch bounds the ids of one script call.
const expireBatch = 200

// ExpireOld removes, in every account (parents, sub-accounts, deleted
// sub-accounts) and the unrouted inbox, the records older than r allows,
// as of now: each a script call per batch of ids that deletes the records
// and their log entries together. Statistics keep their own TTL (400 days)
// and the ledger is never expired (see ledger compaction).
func (s *Store) ExpireOld(ctx context.Context, r Retention, now time.Time) (Expired, error) {
	var out Expired
	ids, err := s.AllAccountIDs(ctx)
	if err != nil {
		return out, err
	}
	type logKind struct {
		keep   time.Duration
		stream func(shard int, acct string) string // the log stream, nil for a kind logged in a zset only
		log    func(shard int, acct string) string // the zset (for messages: of earlier releases)
		owned  func(shard int, id string) []string
		result *int
	}
	kinds := []logKind{
		{r.Messages, s.Keys.MessageStream, s.Keys.MessageLog, func(sh int, id string) []string {
			return []string{s.Keys.Message(sh, id), s.Keys.DeliveredParts(sh, id)}
		}, &out.Messages},
		{r.Inbox, nil, s.Keys.Inbox, func(sh int, id string) []string { return []string{s.Keys.Reply(sh, id)} }, &out.Replies},
		// A blocked record is a message hash that was never queued.
		{r.Blocked, nil, s.Keys.Blocked, func(sh int, id string) []string { return []string{s.Keys.Message(sh, id)} }, &out.Blocked},
	}
	for _, k := range kinds {
		if k.keep <= 0 {
			continue
		}
		cutoff := now.Add(-k.keep).UnixMilli()
		for _, acct := range ids {
			shard, ok := s.Keys.Shard(acct)
			if !ok {
				continue
			}
			owned := func(id string) []string { return k.owned(shard, id) }
			if k.stream != nil {
				n, err := s.expireStream(ctx, k.stream(shard, acct), cutoff, owned)
				*k.result += n
				if err != nil {
					return out, err
				}
			}
			n, err := s.expireLog(ctx, k.log(shard, acct), cutoff, owned)
			*k.result += n
			if err != nil {
				return out, err
			}
		}
	}
	if r.Inbox > 0 { // the unrouted inbox (shard 0)
		n, err := s.expireLog(ctx, s.Keys.Inbox(0, inboxUnrouted), now.Add(-r.Inbox).UnixMilli(),
			func(id string) []string { return []string{s.Keys.Reply(0, id)} })
		out.Replies += n
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// expireLog removes the entries of one log scored at or before cutoff, in
// batches, with the keys owned(id) of each.
func (s *Store) expireLog(ctx context.Context, log string, cutoff int64, owned func(id string) []string) (int, error) {
	removed := 0
	for {
		ids, err := s.RDB.ZRangeByScore(ctx, log, &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(cutoff, 10),
			Count: expireBatch}).Result()
		if err != nil {
			return removed, fmt.Errorf("expire %s: %w", log, err)
		}
		if len(ids) == 0 {
			return removed, nil
		}
		per := len(owned(ids[0]))
		keys := make([]string, 0, 1+per*len(ids))
		args := make([]any, 0, 2+len(ids))
		keys = append(keys, log)
		args = append(args, cutoff, per)
		for _, id := range ids {
			keys = append(keys, owned(id)...)
			args = append(args, id)
		}
		n, err := s.Run(ctx, expireScript, keys, args...).Int()
		removed += n
		if err != nil {
			return removed, fmt.Errorf("expire %s: %w", log, err)
		}
		if len(ids) < expireBatch || n == 0 {
			return removed, nil
		}
		if err := ctx.Err(); err != nil {
			return removed, fmt.Errorf("expire %s: %w", log, err)
		}
	}
}

// expireStream removes the entries of a message log stream created at or
// before cutoff (unix ms), oldest first, in batches, with the keys
// owned(id) of each of their messages, and returns how many messages.
func (s *Store) expireStream(ctx context.Context, log string, cutoff int64, owned func(id string) []string) (int, error) {
	removed := 0
	for {
		xs, err := s.RDB.XRangeN(ctx, log, "-", strconv.FormatInt(cutoff, 10), expireBatch).Result()
		if err != nil {
			return removed, fmt.Errorf("expire %s: %w", log, err)
		}
		if len(xs) == 0 {
			return removed, nil
		}
		// One call a batch of entries, or of messages when entries hold
		// many (a mail to a group): each call's keys stay bounded.
		keys, args := []string{log}, []any{}
		run := func() error {
			if len(args) == 0 {
				return nil
			}
			n, err := s.Run(ctx, expireStreamScript, keys, args...).Int()
			removed += n
			keys, args = keys[:1], args[:0]
			return err
		}
		for _, x := range xs {
			ids := logEntryIDs(x)
			n := len(keys)
			for _, id := range ids {
				keys = append(keys, owned(id)...)
			}
			args = append(args, x.ID, len(keys)-n, len(ids))
			if len(keys) >= 2*expireBatch {
				if err := run(); err != nil {
					return removed, fmt.Errorf("expire %s: %w", log, err)
				}
			}
		}
		if err := run(); err != nil {
			return removed, fmt.Errorf("expire %s: %w", log, err)
		}
		if len(xs) < expireBatch {
			return removed, nil
		}
		if err := ctx.Err(); err != nil {
			return removed, fmt.Errorf("expire %s: %w", log, err)
		}
	}
}

// AllAccountIDs lists every account: the parents, and each parent's live
// and deleted sub-accounts.
func (s *Store) AllAccountIDs(ctx context.Context) ([]string, error) {
	tops, err := s.RDB.SMembers(ctx, s.Keys.AllAccounts()).Result()
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	out := append([]string(nil), tops...)
	for _, p := range tops {
		shard, ok := s.Keys.Shard(p)
		if !ok {
			continue
		}
		for _, set := range []string{s.Keys.Subs(shard, p), s.Keys.DeletedSubs(shard, p)} {
			subs, err := s.RDB.SMembers(ctx, set).Result()
			if err != nil {
				return nil, fmt.Errorf("list sub-accounts of %s: %w", p, err)
			}
			out = append(out, subs...)
		}
	}
	return out, nil
}
