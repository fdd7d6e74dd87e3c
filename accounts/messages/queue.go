package messages

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/phone"

	"github.com/smsgate/smsgate/accounts/store"
)

// QueueGroup is the consumer group of every shard's queue stream.
const QueueGroup = "dispatch"

// queueConvTTL is how long a conversation finds its last message for a
// reply. (The SMSC-id index lives DB.ReceiptIndexTTL.)
const queueConvTTL = 30 * 24 * time.Hour

// EnsureGroups creates the consumer group on every shard's queue, creating
// the streams if needed; existing groups are left alone. A new group starts
// at the beginning of the stream so that messages accepted before the first
// dispatcher ever ran are delivered too.
func (s *Store) EnsureGroups(ctx context.Context) error {
	for shard := range s.Keys.Shards {
		err := s.RDB.XGroupCreateMkStream(ctx, s.Keys.Queue(shard), QueueGroup, "0").Err()
		if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return fmt.Errorf("create group on shard %d: %w", shard, err)
		}
	}
	return nil
}

// RemoveDeadConsumers deletes from every shard's consumer group the
// consumers other than self that hold no pending entries and have been idle
// for at least idle: those of instances that restarted under a new name (a
// consumer with pending entries stays until ClaimStale has moved them, then
// goes at a later start). It returns how many it removed.
func (s *Store) RemoveDeadConsumers(ctx context.Context, self string, idle time.Duration) (int, error) {
	removed := 0
	for shard := range s.Keys.Shards {
		n, err := store.RemoveIdleConsumers(ctx, s.RDB, s.Keys.Queue(shard), QueueGroup, self, idle)
		removed += n
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// queueRead runs one XREADGROUP on a shard; block < 0 does not block. A
// missing group (EnsureGroups never ran, or the stream was deleted) is
// created and the read retried once.
func (s *Store) queueRead(ctx context.Context, consumer string, count int, block time.Duration, shard int) ([]accounts.Entry, error) {
	if block == 0 {
		block = -1 // BLOCK 0 would wait forever
	}
	args := &redis.XReadGroupArgs{
		Group: QueueGroup, Consumer: consumer, Count: int64(count), Block: block,
		Streams: []string{s.Keys.Queue(shard), ">"},
	}
	res, err := s.RDB.XReadGroup(ctx, args).Result()
	if err != nil && strings.HasPrefix(err.Error(), "NOGROUP") {
		if err := s.EnsureGroups(ctx); err != nil {
			return nil, err
		}
		res, err = s.RDB.XReadGroup(ctx, args).Result()
	}
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read queue shard %d: %w", shard, err)
	}
	var out []accounts.Entry
	for _, st := range res {
		out = queueEntries(out, shard, st.Messages)
	}
	return out, nil
}

// queueEntries appends stream messages as entries: a message's own entry
// (field m) as one, a group (field g: the ids an accept call queued,
// comma-separated) as one a member; deleted entries (nil values, left in a
// pending list) are skipped.
func queueEntries(out []accounts.Entry, shard int, msgs []redis.XMessage) []accounts.Entry {
	for _, m := range msgs {
		if mid, ok := m.Values["m"].(string); ok {
			out = append(out, accounts.Entry{Shard: shard, StreamID: m.ID, MessageID: mid})
			continue
		}
		g, _ := m.Values["g"].(string)
		if g == "" {
			continue
		}
		n := strings.Count(g, ",") + 1
		for id := range strings.SplitSeq(g, ",") {
			out = append(out, accounts.Entry{Shard: shard, StreamID: m.ID, MessageID: id, Members: n})
		}
	}
	return out
}

// ClaimStale takes over up to count entries per shard that another consumer
// read but has not acknowledged for at least minIdle (it crashed or hung),
// and delivers them to consumer.
func (s *Store) ClaimStale(ctx context.Context, consumer string, minIdle time.Duration, count int) ([]accounts.Entry, error) {
	if count <= 0 {
		count = 100
	}
	var out []accounts.Entry
	for shard := range s.Keys.Shards {
		msgs, _, err := s.RDB.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: s.Keys.Queue(shard), Group: QueueGroup, Consumer: consumer,
			MinIdle: minIdle, Start: "0-0", Count: int64(count),
		}).Result()
		if err != nil && !errors.Is(err, redis.Nil) && !strings.HasPrefix(err.Error(), "NOGROUP") {
			return out, fmt.Errorf("claim stale on shard %d: %w", shard, err)
		}
		out = queueEntries(out, shard, msgs)
	}
	return out, nil
}

// MarkSubmitted records a batch of successful submissions: each part's
// SMSC id (canonical form) is indexed for receipts (7 days), the
// conversation (source, recipient) for replies (30 days) when the source is
// a number, and then one script per shard (submit.lua) records every
// message as submitted (a final status set by a receipt that raced ahead is
// kept) with its link, first SMSC id, submission time and one more attempt,
// and acknowledges and deletes its entry, atomically per entry. The indexes
// are written first, in the same pipeline: an entry is never acknowledged
// without them unless their write failed, and then MarkSubmitted returns an
// error and running it again completes the batch (every step is
// idempotent: the script skips entries no longer pending). Entries whose
// recipient is not known (To empty) cost one more round trip to read it.
func (s *Store) MarkSubmitted(ctx context.Context, batch []accounts.Submitted) error {
	if len(batch) == 0 {
		return nil
	}
	ms := s.Now().UnixMilli()
	// Each entry's message key, once: "" for a message id that names no
	// shard (or another shard than its entry's), which has no hash here;
	// such an entry is only acknowledged.
	msgKeys := make([]string, len(batch))
	for i, b := range batch {
		if key, shard, err := s.MsgKey(b.Entry.MessageID); err == nil && shard == b.Entry.Shard {
			msgKeys[i] = key
		}
	}
	// The conversation index needs each recipient; one round trip reads
	// those the dispatcher did not pass.
	tos := make([]*redis.StringCmd, len(batch))
	pipe := s.RDB.Pipeline()
	for i, b := range batch {
		// Only a numeric source can receive replies (an alphanumeric
		// sender id cannot), so only then is there a conversation to index.
		if b.To != "" || !phone.IsDigits(b.Source) || msgKeys[i] == "" {
			continue
		}
		tos[i] = pipe.HGet(ctx, msgKeys[i], "to")
	}
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("mark submitted: recipients: %w", err)
		}
	}
	// One script call per shard: its queue, then the messages' keys.
	type shardBatch struct {
		keys []string
		args []any
		acks []any // grouped entries to acknowledge
	}
	shards := map[int]*shardBatch{}
	var order []int
	for i, b := range batch {
		sb := shards[b.Entry.Shard]
		if sb == nil {
			sb = &shardBatch{keys: make([]string, 1, 1+len(batch)), args: make([]any, 3, 3+3*len(batch))}
			sb.keys[0] = s.Keys.Queue(b.Entry.Shard)
			sb.args[0], sb.args[1], sb.args[2] = QueueGroup, ms, 0
			shards[b.Entry.Shard] = sb
			order = append(order, b.Entry.Shard)
		}
		if b.AckEntry {
			sb.acks = append(sb.acks, b.Entry.StreamID)
		}
		// Without a message key, a key of the shard that no message has
		// ("-" is no id) stands in: the script finds no message and only
		// acknowledges the entry.
		key := msgKeys[i]
		if key == "" {
			key = s.Keys.Message(b.Entry.Shard, "-")
		}
		first := ""
		if len(b.SMSCIDs) > 0 {
			first = b.SMSCIDs[0]
		}
		sid := b.Entry.StreamID
		if b.Entry.Grouped() {
			sid = "" // a member: recorded unless it was already
		}
		sb.keys = append(sb.keys, key)
		sb.args = append(sb.args, sid, b.Link, first)
	}
	for _, sb := range shards {
		if len(sb.acks) > 0 {
			sb.args[2] = len(sb.acks)
			sb.args = slices.Insert(sb.args, 3, sb.acks...)
		}
	}
	build := func(pipe redis.Pipeliner) {
		for i, b := range batch {
			if msgKeys[i] == "" {
				continue
			}
			ref := smscRef(b.Entry.MessageID, b.AccountID, b.CreatedAt)
			for _, id := range b.SMSCIDs {
				pipe.Set(ctx, s.Keys.SMSCMessage(b.Link, id), ref, s.ReceiptIndexTTL)
			}
			to := b.To
			if c := tos[i]; c != nil {
				to = c.Val()
			}
			if to != "" && phone.IsDigits(b.Source) {
				pipe.Set(ctx, s.Keys.Conversation(b.Source, to), b.Entry.MessageID, queueConvTTL)
			}
		}
		for _, shard := range order {
			sb := shards[shard]
			s.EvalSha(ctx, pipe, submitScript, sb.keys, sb.args...)
		}
	}
	// Every step is idempotent, so after NOSCRIPT (the script cache was
	// flushed) the whole pipeline can run again once the script is loaded.
	for try := 0; ; try++ {
		cmds, err := s.RDB.Pipelined(ctx, func(pipe redis.Pipeliner) error { build(pipe); return nil })
		if err == nil {
			return nil
		}
		if try > 0 || !pipelineNoScript(cmds) {
			return fmt.Errorf("mark %d submitted: %w", len(batch), err)
		}
		if err := s.Load(ctx, submitScript); err != nil {
			return fmt.Errorf("mark submitted: load script: %w", err)
		}
	}
}

// Ack acknowledges and deletes an entry without changing its message: for
// entries whose message is missing or was already submitted by a consumer
// that died before acknowledging, and for a grouped entry whose every member
// is settled (e is any of them).
func (s *Store) Ack(ctx context.Context, e accounts.Entry) error {
	q := s.Keys.Queue(e.Shard)
	_, err := s.RDB.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.XAck(ctx, q, QueueGroup, e.StreamID)
		pipe.XDel(ctx, q, e.StreamID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("ack %s: %w", e.MessageID, err)
	}
	return nil
}

// pipelineNoScript reports whether any command of a pipeline failed with NOSCRIPT.
func pipelineNoScript(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		if isNoScript(c.Err()) {
			return true
		}
	}
	return false
}

// leaveEntry queues, in a Retry's or Park's transaction, the message's
// leaving of its queue entry: an entry of its own is acknowledged and
// deleted; a member of a grouped entry is marked held (a consumer that
// claims the entry skips it), the entry left for its consumer to
// acknowledge once every member is settled.
func (s *Store) leaveEntry(ctx context.Context, pipe redis.Pipeliner, e accounts.Entry, key string) {
	if e.Grouped() {
		pipe.HSet(ctx, key, "held", "1")
		return
	}
	q := s.Keys.Queue(e.Shard)
	pipe.XAck(ctx, q, QueueGroup, e.StreamID)
	pipe.XDel(ctx, q, e.StreamID)
}

// Retry takes the entry off the queue (a member of a grouped entry: marks it
// held, see leaveEntry) and schedules its message to return at
// at (see PromoteDue), recording reason as the message's error and, when
// partIDs is not nil, the SMSC ids of the parts accepted so far (a retry
// resubmits only the others); all in one MULTI/EXEC. It returns the
// message's attempt count after this attempt.
func (s *Store) Retry(ctx context.Context, e accounts.Entry, at time.Time, reason string, partIDs []string) (int, error) {
	key, _, err := s.MsgKey(e.MessageID)
	if err != nil {
		return 0, fmt.Errorf("retry: message %w", err)
	}
	var attempts *redis.IntCmd
	_, err = s.RDB.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		s.leaveEntry(ctx, pipe, e, key)
		pipe.ZAdd(ctx, s.Keys.Retry(e.Shard), redis.Z{Score: float64(at.UnixMilli()), Member: e.MessageID})
		attempts = pipe.HIncrBy(ctx, key, "attempts", 1)
		pipe.HSet(ctx, key, "error", reason)
		if partIDs != nil {
			pipe.HSet(ctx, key, "part_ids", JoinParts(partIDs))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("retry %s: %w", e.MessageID, err)
	}
	return int(attempts.Val()), nil
}

// Park takes the entry off the queue (a member of a grouped entry: marks it
// held) and keeps its message waiting for a
// carrier link (ReleaseParked), recording reason and, when partIDs is not
// nil, the parts accepted so far. Unlike Retry it uses no attempt: time
// without a usable link is not the message's failure (it expires by age).
func (s *Store) Park(ctx context.Context, e accounts.Entry, reason string, partIDs []string) error {
	key, _, err := s.MsgKey(e.MessageID)
	if err != nil {
		return fmt.Errorf("park: message %w", err)
	}
	_, err = s.RDB.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		s.leaveEntry(ctx, pipe, e, key)
		pipe.ZAdd(ctx, s.Keys.Parked(e.Shard), redis.Z{Score: float64(s.Now().UnixMilli()), Member: e.MessageID})
		pipe.HSet(ctx, key, "error", reason)
		if partIDs != nil {
			pipe.HSet(ctx, key, "part_ids", JoinParts(partIDs))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("park %s: %w", e.MessageID, err)
	}
	return nil
}

// ReleaseParked puts messages parked at or before before back on the queue,
// up to limit per shard (default 10000): all of them when a link binds.
func (s *Store) ReleaseParked(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = 10000
	}
	total := 0
	for shard := range s.Keys.Shards {
		n, err := s.Promote(ctx, s.Keys.Parked(shard), s.Keys.Queue(shard), "m", before.UnixMilli(), limit)
		if err != nil {
			return total, fmt.Errorf("release parked messages on shard %d: %w", shard, err)
		}
		total += n
	}
	return total, nil
}

// PromoteDue puts messages whose retry time has come back on the queue, up to
// limit per shard (default 1000), one Lua script per shard. It returns how many
// it requeued.
func (s *Store) PromoteDue(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = 1000
	}
	total := 0
	for shard := range s.Keys.Shards {
		n, err := s.Promote(ctx, s.Keys.Retry(shard), s.Keys.Queue(shard), "m", now.UnixMilli(), limit)
		if err != nil {
			return total, fmt.Errorf("promote retries on shard %d: %w", shard, err)
		}
		total += n
	}
	return total, nil
}

// Fail ends a message as failed with reason, refunding its price to the
// account (with a "refund" ledger entry) when refund is set, and acknowledges
// its entry (e.StreamID may be empty when there is none; a member of a
// grouped entry leaves it to its consumer). attempt counts the
// failed submit as an attempt, so the message's attempts agree with a reason
// such as "gave up after 20 attempts". A message that is already final is
// left alone, so calling Fail twice refunds once. It returns the message as
// it now is, or ErrNotFound.
func (s *Store) Fail(ctx context.Context, e accounts.Entry, reason string, refund, attempt bool) (*accounts.Message, error) {
	key, shard, err := s.MsgKey(e.MessageID)
	if err != nil {
		return nil, fmt.Errorf("fail: message %w", err)
	}
	// The account, its parent and the creation day name the script's keys;
	// none of them ever changes.
	vals, err := s.RDB.HMGet(ctx, key, "account_id", "created_at").Result()
	if err != nil {
		return nil, fmt.Errorf("fail %s: %w", e.MessageID, err)
	}
	o := ownerOf(vals)
	acct, stats := o.acct, s.statsKey(shard, key, o)
	parent := ""
	if refund && acct != "" {
		parent, err = s.RDB.HGet(ctx, s.Keys.Account(shard, acct), "parent_id").Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("fail %s: %w", e.MessageID, err)
		}
	}
	keys := []string{key, s.Keys.Account(shard, acct), s.Keys.Ledger(shard, acct), s.Keys.Queue(shard), stats,
		s.Keys.Account(shard, acct), s.Keys.Ledger(shard, acct)}
	if parent != "" {
		keys[5], keys[6] = s.Keys.Account(shard, parent), s.Keys.Ledger(shard, parent)
	}
	rf := "0"
	if refund {
		rf = "1"
	}
	at := "0"
	if attempt {
		at = "1"
	}
	sid := e.StreamID
	if e.Grouped() {
		sid = "" // its consumer acknowledges the entry once every member is settled
	}
	res, err := s.Run(ctx, failScript, keys, sid, reason, s.Now().UnixMilli(), rf, acct, o.created, parent, at, e.MessageID).Slice()
	if err != nil {
		return nil, fmt.Errorf("fail %s: %w", e.MessageID, err)
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("fail: message %s: %w", e.MessageID, accounts.ErrNotFound)
	}
	return MsgFromHash(e.MessageID, msgPairs(res)), nil
}

// QueueStats sums over shards: pending, the entries owed a decision (not yet
// read, or read and not yet acknowledged); retrying, the messages waiting
// for a retry time; oldest, the age of the oldest pending entry (0 if none).
//
// Pending is the group's unread entries (its lag) and its pending list, not
// the stream's length: acknowledged entries newer than the oldest pending
// one stay in the stream until that one is acknowledged too (MarkSubmitted
// trims by id). Only when Redis cannot tell the lag (an unread entry was
// deleted) does the length stand in.
func (s *Store) QueueStats(ctx context.Context) (pending, retrying int64, oldest time.Duration, err error) {
	type shardCmds struct {
		xlen, zcard *redis.IntCmd
		groups      *redis.XInfoGroupsCmd
		first       *redis.XMessageSliceCmd
	}
	cmds := make([]shardCmds, s.Keys.Shards)
	pipe := s.RDB.Pipeline()
	for shard := range s.Keys.Shards {
		q := s.Keys.Queue(shard)
		cmds[shard] = shardCmds{
			xlen:   pipe.XLen(ctx, q),
			groups: pipe.XInfoGroups(ctx, q),
			zcard:  pipe.ZCard(ctx, s.Keys.Retry(shard)),
			first:  pipe.XRangeN(ctx, q, "-", "+", 1),
		}
	}
	// A shard whose queue does not exist yet answers XINFO with an error.
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) && !isNoSuchKey(err) {
		return 0, 0, 0, fmt.Errorf("queue stats: %w", err)
	}
	now := s.Now()
	for _, c := range cmds {
		if err := c.xlen.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return 0, 0, 0, fmt.Errorf("queue stats: %w", err)
		}
		pending += queuePending(c.xlen.Val(), c.groups)
		retrying += c.zcard.Val()
		if first := c.first.Val(); len(first) > 0 {
			ms, _, _ := strings.Cut(first[0].ID, "-")
			if v, err := strconv.ParseInt(ms, 10, 64); err == nil {
				oldest = max(oldest, now.Sub(time.UnixMilli(v)))
			}
		}
	}
	return pending, retrying, oldest, nil
}

// queuePending is the number of entries of a shard's queue owed a decision:
// the queue group's lag and pending list; the stream's length xlen when the
// group does not exist (nothing was read) or Redis cannot tell its lag.
func queuePending(xlen int64, groups *redis.XInfoGroupsCmd) int64 {
	if groups.Err() != nil {
		return xlen
	}
	for _, g := range groups.Val() {
		if g.Name == QueueGroup {
			if g.Lag < 0 {
				return xlen
			}
			return g.Lag + g.Pending
		}
	}
	return xlen
}

// isNoSuchKey reports a Redis "no such key" error (XINFO of a missing stream).
func isNoSuchKey(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no such key")
}
