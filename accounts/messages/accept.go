package messages

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
)

// The Lua scripts of the message path. Each runs on the keys of one shard
// only, so they work unchanged on a Redis Cluster. The *redis.Script values
// are immutable after construction (the SHA-1 is computed here, client side).
var (
	//go:embed lua/accept.lua
	acceptLua string
	//go:embed lua/submit.lua
	submitLua string
	//go:embed lua/fail.lua
	failLua string
	//go:embed lua/receipt.lua
	receiptLua string

	acceptScript  = store.NewScript("messages/accept.lua", acceptLua)
	submitScript  = store.NewScript("messages/submit.lua", submitLua)
	failScript    = store.NewScript("messages/fail.lua", failLua)
	receiptScript = store.NewScript("messages/receipt.lua", receiptLua)
)

// LoadHotScripts puts the scripts every message runs (accept, submit,
// receipt) into Redis's script cache, so that the first mails after a
// start (or after Redis lost its cache) do not each find them missing and
// send their source.
func (s *Store) LoadHotScripts(ctx context.Context) error {
	for _, sc := range []*store.Script{acceptScript, submitScript, receiptScript} {
		if err := s.Load(ctx, sc); err != nil {
			return err
		}
	}
	return nil
}

// Accept prices, debits and stores and enqueues every message of req in
// one Lua script: either everything is written or nothing is. Concurrent
// accepts of one shard share a script call (commit.go): each is still
// decided and written as if it ran alone, in turn.
//
// Pricing: a message's Price, set by the caller, is the account's default
// (parts x PricePerPart); if the account has a price table (accounts/money) with
// A prefix of the message's number, the script replaces it by parts x the
// price of the longest such prefix, and Accept writes the price charged back
// into the message. The table is read inside the script, so pricing costs no
// extra round trip and can never disagree with the debit.
//
// Money: a prepaid account may not go below zero, a postpaid one not below
// -CreditLimit. When the debit leaves a sub-account below its
// AutoRecharge.Threshold (Amount > 0), the script first moves Amount from the
// parent (or the smallest multiple of it that covers the send), if the parent
// stays above its own floor, with ledger entries "recharge_out" on the parent
// and "recharge_in" on the sub-account. A send the balance cannot cover even
// so is refused with a *BalanceError (which matches ErrInsufficientBalance)
// saying why, including a failed recharge. The same script counts the
// messages, parts and cost of the day in the account's statistics.
//
// Opt-outs: a recipient on the opt-out list that governs the account
// (accounts/rules: its own, or its parent's under share_contacts) is checked in
// the same script, before any charge, so a STOP stored between RCPT and DATA
// still wins: it gets no queue entry and no debit, only a message record
// with status MsgBlocked and price 0 in the blocked log (blocked.go), and
// AcceptResult.Blocked names it. When every recipient is blocked, Accept
// returns an *OptedOutError (matching ErrOptedOut) and writes only those
// records.
//
// Limits (limits.go): a send over one of the account's limits is refused
// with a *LimitError before anything is written; a charged send is counted.
//
// It returns ErrNotFound for an unknown or deleted account and ErrDeactivated
// when it or its parent is deactivated.
func (s *Store) Accept(ctx context.Context, req accounts.AcceptRequest) (*accounts.AcceptResult, error) {
	if len(req.Messages) == 0 {
		return nil, fmt.Errorf("accept for %s: no messages: %w", req.AccountID, accounts.ErrInvalid)
	}
	shard, err := s.ShardFromID(req.AccountID)
	if err != nil {
		return nil, fmt.Errorf("accept: account %w", err)
	}
	if err := s.CheckStorage(); err != nil {
		return nil, fmt.Errorf("accept for %s: %w", req.AccountID, err)
	}
	n := len(req.Messages)
	now := time.UnixMilli(s.Now().UnixMilli())
	keys := make([]string, 0, 3+n)
	idem, idemExpire, keys, slot := s.idempotency(shard, req, now, keys)
	if idem != "0" && s.idemBuckets.fresh(shard, slot, now) {
		idemExpire = "0" // the bucket of now has its expiry: accept.lua need not look
	}
	nowMS := strconv.FormatInt(now.UnixMilli(), 10)
	args := make([]any, 0, 7+9*n)
	args = append(args, nowMS, n, idem, req.AccountID, "")
	ids := make([]string, n)
	for i, m := range req.Messages {
		if m.Price < 0 || m.Parts < 0 {
			return nil, fmt.Errorf("accept for %s: negative price or parts: %w", req.AccountID, accounts.ErrInvalid)
		}
		ids[i] = store.NewShardedID("m", shard)
		keys = append(keys, s.Keys.Message(shard, ids[i]))
		args = append(args, ids[i], m.Sender, m.MailID, m.Source, m.To, m.Text,
			int(m.Coding), m.Parts, m.Price)
	}
	skip := "0"
	if req.SkipOptOut {
		skip = "1"
	}
	args = append(args, skip, idemExpire)
	// The parent's keys: the script checks the parent id they were built
	// for and names the right one if it differs (a caller that did not know
	// it), so the second try is the last.
	parentID := req.ParentID
	var res []any
	for try := 0; ; try++ {
		args[4] = parentID
		// The keys this request shares with the others of its account in
		// a group call (accept.lua: a context); keys holds its own.
		cx := s.ctxKeys.get(s, shard, req.AccountID, parentID, now.UnixMilli())
		res, err = s.acceptRun(ctx, shard, cx, keys, args)
		if err != nil {
			return nil, fmt.Errorf("accept for %s: %w", req.AccountID, err)
		}
		if k, _ := res[0].(string); k != "parent" || try > 0 {
			break
		}
		parentID, _ = res[1].(string)
		if n, ok := s.Keys.Shard(parentID); parentID != "" && (!ok || n != shard) {
			return nil, fmt.Errorf("accept for %s: parent %q names no shard: %w", req.AccountID, parentID, accounts.ErrNotFound)
		}
	}
	kind, _ := res[0].(string)
	switch kind {
	case "ok":
		if idem != "0" && idemExpire != "0" {
			s.idemBuckets.checked(shard, slot, now) // the script saw to its expiry
		}
		priced := acceptInt(res, 4) == 1
		blocked := acceptBlocked(res, n)
		out := &accounts.AcceptResult{IDs: ids, Balance: acceptInt(res, 1), LowBalance: acceptInt(res, 2) == 1,
			Recharged: acceptInt(res, 3)}
		if len(blocked) > 0 {
			out.IDs = make([]string, 0, n-len(blocked))
		}
		for i, m := range req.Messages {
			m.ID, m.AccountID, m.Status, m.CreatedAt = ids[i], req.AccountID, accounts.MsgQueued, now
			if priced {
				m.Price = acceptInt(res, 5+i)
			}
			if blocked[i] {
				m.Status, m.Price = accounts.MsgBlocked, 0
				out.Blocked = append(out.Blocked, m.To)
			} else if len(blocked) > 0 {
				out.IDs = append(out.IDs, ids[i])
			}
		}
		if len(blocked) > 0 {
			s.capBlocked(ctx, req.AccountID, shard)
		}
		s.accepted.put(req.Messages, blocked)
		return out, nil
	case "optout":
		oe := &accounts.OptedOutError{}
		for i, m := range req.Messages {
			m.ID, m.AccountID, m.Status, m.Price, m.CreatedAt = ids[i], req.AccountID, accounts.MsgBlocked, 0, now
			oe.Numbers = append(oe.Numbers, m.To)
		}
		s.capBlocked(ctx, req.AccountID, shard)
		return nil, fmt.Errorf("accept for %s: %w", req.AccountID, oe)
	case "dup":
		prev, _ := res[1].(string)
		return &accounts.AcceptResult{IDs: strings.Split(prev, ","), Duplicate: true, Balance: acceptInt(res, 2)}, nil
	case "bal":
		cur, _ := res[2].(string)
		be := &accounts.BalanceError{Need: acceptInt(res, 3), Have: acceptInt(res, 1), Currency: cur,
			CreditLimit: acceptInt(res, 4), Reserved: acceptInt(res, 8)}
		if acceptInt(res, 5) == 1 {
			be.RechargeFailed, be.ParentHave, be.Recharge = true, acceptInt(res, 6), acceptInt(res, 7)
		}
		return nil, fmt.Errorf("accept for %s: %w", req.AccountID, be)
	case "limit":
		return nil, fmt.Errorf("accept for %s: %w", req.AccountID, limitError(res))
	case "nf":
		return nil, fmt.Errorf("accept: account %s: %w", req.AccountID, accounts.ErrNotFound)
	case "deact":
		return nil, fmt.Errorf("accept: account %s: %w", req.AccountID, accounts.ErrDeactivated)
	}
	return nil, fmt.Errorf("accept for %s: unexpected script reply %v", req.AccountID, res)
}

// idempotency names a request's entry in the idempotency index: it
// returns the field (the first 16 bytes of SHA-256 over the account and
// the request's key; "0" when the request has none), when the bucket of
// now expires (unix ms), and keys with the keys accept.lua reads it under
// appended: the bucket of now, the bucket before it, and the key of the
// releases before the buckets (the bucket of now again once those have
// expired). A request without an idempotency key has none of these keys.
//
// A bucket spans one window (retention.idempotency), so the bucket of now
// and the one before it cover the window, and a bucket expires a window
// after its end: a submission is recognised for at least the window and
// at most twice that.
func (s *Store) idempotency(shard int, req accounts.AcceptRequest, now time.Time, keys []string) (field, expire string, _ []string, _ idemSlot) {
	if req.IdempotencyKey == "" {
		return "0", "0", keys, idemSlot{}
	}
	// SHA-256 of account, NUL, key, hashed from a buffer on the stack when
	// they fit (a Message-ID does): no allocation a mail.
	var buf [256]byte
	in := append(append(append(buf[:0], req.AccountID...), 0), req.IdempotencyKey...)
	sum := sha256.Sum256(in)
	slot := uint16(sum[0])<<4 | uint16(sum[1]>>4)
	span := max(s.IdempotencyTTL.Milliseconds(), 1)
	epoch := now.UnixMilli() / span
	bucket := s.Keys.IdempotencyBucket(shard, epoch, slot)
	legacy := bucket
	if now.UnixMilli() < s.legacyIdemUntil.Load() {
		sum := sha256.Sum256([]byte(req.IdempotencyKey))
		legacy = s.Keys.Idempotency(shard, req.AccountID, hex.EncodeToString(sum[:]))
	}
	keys = append(keys, bucket, s.Keys.IdempotencyBucket(shard, epoch-1, slot), legacy)
	return string(sum[:16]), strconv.FormatInt((epoch+2)*span, 10), keys, idemSlot{epoch, slot}
}

// errLegacyFound stops CheckLegacyIdempotency's scan at the first key.
var errLegacyFound = errors.New("found")

// CheckLegacyIdempotency looks for a key of the idempotency index of the
// releases before the buckets (<p>:{sN}:idem:<account>:<64 hex digits>,
// each kept one window). When there is none, as on a new installation or
// once an upgrade is a window old, accepts stop looking for them (one
// lookup a mail saved); when there is one, they go on for the window after
// the store started. It scans every key (SCAN, on every master of a
// cluster), so a gateway runs it once, in the background, at start.
func (s *Store) CheckLegacyIdempotency(ctx context.Context) (found bool, err error) {
	pattern := globEscape(s.Keys.Prefix) + ":{*}:idem:*:" + strings.Repeat("[0-9a-f]", 64)
	err = s.ScanKeys(ctx, pattern, func(string) error { return errLegacyFound })
	if errors.Is(err, errLegacyFound) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("look for idempotency keys of earlier releases: %w", err)
	}
	s.legacyIdemUntil.Store(0)
	return false, nil
}

// globEscape quotes the characters a SCAN MATCH pattern gives a meaning.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\^-`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// acceptInt returns element i of a script reply as an integer.
func acceptInt(res []any, i int) int64 {
	if i >= len(res) {
		return 0
	}
	switch v := res[i].(type) {
	case int64:
		return v
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return 0
}

// acceptBlocked reads the last element of an "ok" reply: the 1-based
// indexes of the blocked messages, comma-separated. The map is by 0-based
// message index.
func acceptBlocked(res []any, n int) map[int]bool {
	last, _ := res[len(res)-1].(string)
	if last == "" {
		return nil
	}
	out := make(map[int]bool)
	for f := range strings.SplitSeq(last, ",") {
		if i, err := strconv.Atoi(f); err == nil && i >= 1 && i <= n {
			out[i-1] = true
		}
	}
	return out
}

// isNoScript reports whether err is Redis's NOSCRIPT (script cache
// Empty, e.g. after a restart or SCRIPT FLUSH).
func isNoScript(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && strings.HasPrefix(re.Error(), "NOSCRIPT")
}

// capBlocked keeps the account's blocked log within its quota, dropping the
// oldest records (best effort: a failure leaves the log longer for a while).
func (s *Store) capBlocked(ctx context.Context, accountID string, shard int) {
	q, err := s.QuotasOf(ctx, accountID)
	if err != nil {
		return
	}
	_ = s.capLog(ctx, s.Keys.Blocked(shard, accountID), q.Blocked, func(id string) string { return s.Keys.Message(shard, id) })
}

// capLog trims the zset zkey (scored by time) to its newest max members,
// deleting the records (hashKey of each id) of those dropped.
func (s *Store) capLog(ctx context.Context, zkey string, max int64, hashKey func(id string) string) error {
	n, err := s.RDB.ZCard(ctx, zkey).Result()
	if err != nil || n <= max {
		return err
	}
	gone, err := s.RDB.ZPopMin(ctx, zkey, n-max).Result()
	if err != nil {
		return err
	}
	pipe := s.RDB.Pipeline()
	for _, z := range gone {
		if id, ok := z.Member.(string); ok {
			pipe.Del(ctx, hashKey(id))
		}
	}
	_, err = pipe.Exec(ctx)
	return err
}

// acceptKeys keeps each account's context keys (accept.lua) for the UTC
// minute they were built in: they change only with the minute and the day,
// and building them is a dozen allocations a mail.
type acceptKeys struct {
	mu sync.Mutex
	by map[acceptKeysOf]*acceptKeysEntry
}

type acceptKeysOf struct {
	shard           int
	account, parent string
}

type acceptKeysEntry struct {
	minute int64
	cx     acceptCtx
}

// acceptKeysMax bounds the cache; when full it starts over.
const acceptKeysMax = 10_000

// get returns the context keys of account (with parent's, "" for none) at
// nowMS (unix ms). The result is shared: not to be changed.
func (k *acceptKeys) get(s *Store, shard int, account, parent string, nowMS int64) *acceptCtx {
	of, minute := acceptKeysOf{shard, account, parent}, nowMS/60000
	k.mu.Lock()
	defer k.mu.Unlock()
	if e := k.by[of]; e != nil && e.minute == minute {
		return &e.cx
	}
	if k.by == nil || len(k.by) >= acceptKeysMax {
		k.by = map[acceptKeysOf]*acceptKeysEntry{}
	}
	e := &acceptKeysEntry{minute: minute}
	cx := &e.cx
	cx[0] = s.Keys.Account(shard, account)
	cx[1] = s.Keys.Ledger(shard, account)
	cx[2] = s.Keys.MessageStream(shard, account)
	cx[3] = s.Keys.Queue(shard)
	cx[4] = s.Keys.Stats(shard, account, nowMS/86400000)
	cx[5] = s.Keys.Prices(shard, account)
	cx[8] = s.Keys.OptOut(shard, account)
	cx[6], cx[7], cx[9] = cx[0], cx[1], cx[8] // placeholders: no parent
	if parent != "" {
		cx[6] = s.Keys.Account(shard, parent)
		cx[7] = s.Keys.Ledger(shard, parent)
		cx[9] = s.Keys.OptOut(shard, parent)
	}
	cx[10] = s.Keys.Blocked(shard, account)
	cx[11] = s.Keys.LimitMinute(shard, account, minute)
	cx[12] = s.Keys.LimitDay(shard, account, nowMS/86400000)
	k.by[of] = e
	return cx
}

// idemBuckets remembers the idempotency buckets whose expiry accept.lua
// saw to lately (it sets one on a bucket without), so that accepts into
// them within idemRecheck skip the look: one command a mail. A bucket
// loses its fields only by expiring whole, after its window, when nothing
// writes to it any more; one lost otherwise (a failover) is made again
// without an expiry, and gets it at the next look, within idemRecheck.
// It holds a shard's slots in an array (the bucket a slot had last, and
// when), found by index rather than by the bucket's key at every accept.
type idemBuckets struct {
	mu     sync.Mutex
	shards []*[idemSlots]idemSeen // by shard, made at its first accept
}

// idemSlot names a bucket: its window (epoch) and slot.
type idemSlot struct {
	epoch int64
	slot  uint16
}

// idemSeen is a slot's bucket whose expiry was last seen to (its epoch),
// and when (unix ms; 0: never).
type idemSeen struct{ epoch, at int64 }

const (
	idemRecheck = time.Minute
	idemSlots   = 1 << 12 // the slot is the first 12 bits of the digest (idempotency)
)

// fresh reports whether the expiry of the bucket b names on shard was seen
// to within idemRecheck of now.
func (b *idemBuckets) fresh(shard int, k idemSlot, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if shard < 0 || shard >= len(b.shards) || b.shards[shard] == nil {
		return false
	}
	e, ms := b.shards[shard][k.slot], now.UnixMilli()
	return e.at != 0 && e.epoch == k.epoch && ms-e.at < idemRecheck.Milliseconds() && ms >= e.at
}

// checked notes that the expiry of the bucket k names on shard was seen to
// at now.
func (b *idemBuckets) checked(shard int, k idemSlot, now time.Time) {
	if shard < 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.shards) <= shard {
		b.shards = append(b.shards, nil)
	}
	if b.shards[shard] == nil {
		b.shards[shard] = new([idemSlots]idemSeen)
	}
	b.shards[shard][k.slot] = idemSeen{epoch: k.epoch, at: now.UnixMilli()}
}
