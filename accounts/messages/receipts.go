package messages

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
)

// ApplyReceipts applies a batch of receipts: find the messages by SMSC id
// (the index also carries each message's account and creation time, which
// name its statistics key; a receipt whose canonical id is not indexed tries
// its other Forms in one more round trip), then one receipt script call per
// shard applies them all. Index entries written without account and time
// cost one more round trip to read them from the messages.
//
// msgs[i] is set when ups[i] gave its message its final status (to be
// announced), nil otherwise (a part of a longer message, a duplicate, a
// receipt after a final status): the message's id, account, sender,
// creation time and the new status, error and completion time, not the
// rest of it (LoadMessages reads that, for whoever needs it); errs[i] is
// ErrNotFound when no message has that SMSC id (yet). The returned error is for the batch as a whole (Redis
// unreachable, or a script call failed): then nothing of the failed shard's
// receipts is known to be applied, and applying them again is harmless.
func (s *Store) ApplyReceipts(ctx context.Context, ups []accounts.ReceiptUpdate) (msgs []*accounts.Message, errs []error, err error) {
	msgs, errs = make([]*accounts.Message, len(ups)), make([]error, len(ups))
	refs, err := s.findSMSCRefs(ctx, ups)
	if err != nil {
		return nil, nil, err
	}
	mids, keys := make([]string, len(ups)), make([]string, len(ups)) // each message's id and key
	shardOf := make([]int, len(ups))
	owners := make([]msgOwner, len(ups))       // account and creation time of each message
	reads := make([]*redis.SliceCmd, len(ups)) // for index entries that lack them
	pipe := s.RDB.Pipeline()
	for i, u := range ups {
		r := refs[i]
		if r.mid == "" {
			errs[i] = fmt.Errorf("receipt %s on %s: %w", u.CanonicalID, u.Link, accounts.ErrNotFound)
			continue
		}
		key, shard, err := s.MsgKey(r.mid)
		if err != nil {
			errs[i] = fmt.Errorf("receipt %s on %s: message %w", u.CanonicalID, u.Link, err)
			continue
		}
		mids[i], keys[i], shardOf[i] = r.mid, key, shard
		if r.acct != "" && r.created != "" {
			owners[i] = msgOwner{acct: r.acct, created: r.created, known: true}
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
				owners[i] = ownerOf(r.Val())
			}
		}
	}
	// One script call per shard.
	type shardBatch struct {
		keys []string
		args []any
		idx  []int // the receipts of the call, in order
		cmd  *redis.Cmd
	}
	shards := map[int]*shardBatch{}
	var order []int
	ats := make([]time.Time, len(ups)) // the time each receipt is recorded at
	for i, u := range ups {
		if !owners[i].known {
			continue
		}
		key, shard := keys[i], shardOf[i]
		o := owners[i]
		at := u.At
		if at.IsZero() {
			at = s.Now()
		}
		ats[i] = at
		sb := shards[shard]
		if sb == nil {
			// Sized for the batch (most are of one shard): no growing.
			sb = &shardBatch{keys: make([]string, 0, 3*len(ups)), args: make([]any, 0, 6*len(ups)), idx: make([]int, 0, len(ups))}
			shards[shard] = sb
			order = append(order, shard)
		}
		sb.keys = append(sb.keys, key, s.Keys.DeliveredParts(shard, mids[i]), s.statsKey(shard, key, o))
		sb.args = append(sb.args, u.Status, u.ErrCode, at.UnixMilli(), u.CanonicalID, o.acct, o.created)
		sb.idx = append(sb.idx, i)
	}
	if len(order) == 0 {
		return msgs, errs, nil
	}
	run := func(pipe redis.Pipeliner) error {
		for _, shard := range order {
			sb := shards[shard]
			sb.cmd = s.EvalSha(ctx, pipe, receiptScript, sb.keys, sb.args...)
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
	failed := 0
	for _, shard := range order {
		sb := shards[shard]
		res, cerr := sb.cmd.Slice()
		if cerr != nil || len(res) != len(sb.idx) {
			failed++
			for _, i := range sb.idx {
				errs[i] = fmt.Errorf("receipt %s for %s: %w", ups[i].CanonicalID, mids[i], cmp.Or(cerr, errReceiptReply))
			}
			continue
		}
		for j, i := range sb.idx {
			switch r := res[j].(type) {
			case int64:
				if r == 0 {
					errs[i] = fmt.Errorf("receipt %s: message %s: %w", ups[i].CanonicalID, mids[i], accounts.ErrNotFound)
				}
			case string:
				errs[i] = fmt.Errorf("receipt %s: message %s: account or creation time differ from its index entry", ups[i].CanonicalID, mids[i])
			case []any:
				msgs[i] = finalMessage(mids[i], owners[i], ups[i], ats[i], r)
			}
		}
	}
	if err != nil && !errors.Is(err, redis.Nil) && failed == len(order) {
		return nil, nil, fmt.Errorf("receipts: %w", err)
	}
	return msgs, errs, nil
}

// finalMessage is what ApplyReceipts knows of a message its receipt u made
// final: owner (account_id, created_at) as the index or the message gave
// them (the script checked they are the message's), the reply
// {'final', sender}, the receipt's status and error, and at, the time
// recorded.
func finalMessage(id string, owner msgOwner, u accounts.ReceiptUpdate, at time.Time, reply []any) *accounts.Message {
	m := &accounts.Message{ID: id, Status: accounts.MessageStatus(u.Status), DoneAt: time.UnixMilli(at.UnixMilli()),
		AccountID: owner.acct, CreatedAt: msgTime(owner.created)}
	if len(reply) == 2 {
		m.Sender, _ = reply[1].(string)
	}
	if m.Status != accounts.MsgDelivered {
		m.Error = u.ErrCode
	}
	return m
}

// errReceiptReply is a receipt script reply of the wrong shape.
var errReceiptReply = errors.New("unexpected receipt script reply")

// findSMSCRefs returns the SMSC-id index entry of every receipt (mid ""
// when there is none): the one it carries (Ref) if it names a message of a
// shard, else the index's under its canonical id first, then, for the
// receipts that missed, under their other forms.
func (s *Store) findSMSCRefs(ctx context.Context, ups []accounts.ReceiptUpdate) ([]indexRef, error) {
	refs := make([]indexRef, len(ups))
	for i, u := range ups {
		if r := u.Ref; r != nil && r.AccountID != "" && !r.CreatedAt.IsZero() {
			if _, _, err := s.MsgKey(r.MessageID); err == nil {
				refs[i] = indexRef{r.MessageID, r.AccountID, strconv.FormatInt(r.CreatedAt.UnixMilli(), 10)}
			}
		}
	}
	gets := make([][]*redis.StringCmd, len(ups))
	lookup := func(forms func(u accounts.ReceiptUpdate) []string) error {
		pipe := s.RDB.Pipeline()
		for i, u := range ups {
			gets[i] = gets[i][:0]
			if refs[i].mid != "" {
				continue
			}
			for _, id := range forms(u) {
				gets[i] = append(gets[i], pipe.Get(ctx, s.Keys.SMSCMessage(u.Link, id)))
			}
		}
		if pipe.Len() == 0 {
			return nil
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("receipts: find messages: %w", err)
		}
		for i, gs := range gets {
			for _, g := range gs {
				if v := g.Val(); v != "" && refs[i].mid == "" {
					refs[i] = parseSMSCRef(v)
				}
			}
		}
		return nil
	}
	if err := lookup(func(u accounts.ReceiptUpdate) []string { return []string{u.CanonicalID} }); err != nil {
		return nil, err
	}
	if err := lookup(func(u accounts.ReceiptUpdate) []string { return u.Forms }); err != nil {
		return nil, err
	}
	return refs, nil
}

// statsKey returns the statistics hash of a message's creation day, which
// its final status is counted in: the message key itself when it has no
// account (the scripts then count nothing).
func (s *Store) statsKey(shard int, msgKey string, o msgOwner) string {
	if o.acct == "" {
		return msgKey
	}
	ms, _ := strconv.ParseInt(o.created, 10, 64)
	return s.Keys.Stats(shard, o.acct, ms/86400000)
}

// ownerOf reads a message's owner from HMGET account_id created_at.
func ownerOf(vals []any) msgOwner {
	o := msgOwner{known: len(vals) == 2}
	if o.known {
		o.acct, _ = vals[0].(string)
		o.created, _ = vals[1].(string)
	}
	return o
}

// msgOwner is a message's account and creation time (unix ms, decimal), as
// its SMSC-id index entry or the message gives them ("" when absent); known:
// there was a message to ask.
type msgOwner struct {
	acct, created string
	known         bool
}

// smscRef is the value of an SMSC-id index entry: the message id, and when
// known its account and creation time (unix ms), space-separated.
func smscRef(mid, acct string, created time.Time) string {
	if acct == "" || created.IsZero() {
		return mid
	}
	return mid + " " + acct + " " + strconv.FormatInt(created.UnixMilli(), 10)
}

// indexRef is an SMSC-id index entry read: the message id, and its
// account and creation time (unix ms, decimal) when the entry has them
// ("" otherwise).
type indexRef struct{ mid, acct, created string }

// parseSMSCRef splits an SMSC-id index value (smscRef).
func parseSMSCRef(ref string) indexRef {
	mid, rest, ok := strings.Cut(ref, " ")
	if !ok {
		return indexRef{mid: ref}
	}
	acct, created, ok := strings.Cut(rest, " ")
	if !ok || acct == "" || created == "" {
		return indexRef{mid: mid}
	}
	return indexRef{mid, acct, created}
}
