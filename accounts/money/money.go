package money

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
)

var (
	//go:embed lua/money_adjust.lua
	moneyAdjustLua    string
	moneyAdjustScript = store.NewScript("money/money_adjust.lua", moneyAdjustLua)

	//go:embed lua/money_transfer.lua
	moneyTransferLua    string
	moneyTransferScript = store.NewScript("money/money_transfer.lua", moneyTransferLua)

	//go:embed lua/ledger_compact.lua
	ledgerCompactLua    string
	ledgerCompactScript = store.NewScript("money/ledger_compact.lua", ledgerCompactLua)
)

// Credit adds amount (> 0, minor units) to an account's balance: an
// operator's top-up. The balance and its ledger entry (kind "credit") change
// in one Lua script. The account's status is not checked, so operators can
// settle deactivated accounts.
func (s *Store) Credit(ctx context.Context, accountID string, amount int64, ref, actor string) (*accounts.LedgerEntry, error) {
	if err := moneyCheckAmount(amount); err != nil {
		return nil, fmt.Errorf("credit %s: %w", accountID, err)
	}
	e, err := s.moneyAdjust(ctx, accountID, amount, accounts.KindCredit, ref, actor)
	if err != nil {
		return nil, fmt.Errorf("credit %s: %w", accountID, err)
	}
	return e, nil
}

// Debit takes amount (> 0) from an account's balance, never below its
// floor (0 for a prepaid account, -CreditLimit for a postpaid one): a short
// balance gives a *BalanceError (ErrInsufficientBalance) and changes
// nothing. Ledger kind "debit".
func (s *Store) Debit(ctx context.Context, accountID string, amount int64, ref, actor string) (*accounts.LedgerEntry, error) {
	if err := moneyCheckAmount(amount); err != nil {
		return nil, fmt.Errorf("debit %s: %w", accountID, err)
	}
	e, err := s.moneyAdjust(ctx, accountID, -amount, accounts.KindDebit, ref, actor)
	if err != nil {
		return nil, fmt.Errorf("debit %s: %w", accountID, err)
	}
	return e, nil
}

func (s *Store) moneyAdjust(ctx context.Context, id string, amount int64, kind, ref, actor string) (*accounts.LedgerEntry, error) {
	key, err := s.AcctKey(id)
	if err != nil {
		return nil, err
	}
	shard, _ := s.ShardFromID(id)
	at := s.Now().UnixMilli()
	res, err := s.Run(ctx, moneyAdjustScript, []string{key, s.Keys.Ledger(shard, id)},
		amount, kind, accounts.TrimLedgerText(ref), accounts.TrimLedgerText(actor), at).Slice()
	if err != nil {
		return nil, err
	}
	switch store.ReplyStr(res, 0) {
	case "ok":
		return &accounts.LedgerEntry{
			ID: store.ReplyStr(res, 2), AccountID: id, Amount: amount, Balance: store.ReplyInt(res, 1),
			Kind: kind, Ref: accounts.TrimLedgerText(ref), Actor: accounts.TrimLedgerText(actor), At: time.UnixMilli(at),
		}, nil
	case "insufficient":
		return nil, &accounts.BalanceError{Need: -amount, Have: store.ReplyInt(res, 1), Currency: store.ReplyStr(res, 2), CreditLimit: store.ReplyInt(res, 3), Reserved: store.ReplyInt(res, 4)}
	case "overflow":
		return nil, fmt.Errorf("%w: amount: balance would exceed the maximum", accounts.ErrInvalid)
	default:
		return nil, fmt.Errorf("account %q: %w", id, accounts.ErrNotFound)
	}
}

// Transfer moves amount (> 0) from one account to another of the same tree:
// A parent to one of its sub-accounts or a sub-account to its parent (not
// between siblings: the parent can do that in two steps). One Lua script
// checks the relation and the currencies, refuses to take the source below
// its floor (0 prepaid, -CreditLimit postpaid: *BalanceError), and writes
// both balances and both ledger entries ("transfer_out" on the source,
// "transfer_in" on the target).
func (s *Store) Transfer(ctx context.Context, fromID, toID string, amount int64, ref, actor string) (from, to *accounts.LedgerEntry, err error) {
	return s.moneyTransfer(ctx, fromID, toID, amount, ref, actor, accounts.KindTransferOut, accounts.KindTransferIn)
}

// TopUp is a sub-account pulling amount (> 0) from its parent (seed 003
// "Can Top Up"): a Transfer from the parent with ledger kinds "topup_out"
// on the parent and "topup_in" on the sub-account. ErrInvalid if subID is a
// Root account.
func (s *Store) TopUp(ctx context.Context, subID string, amount int64, ref, actor string) (parent, sub *accounts.LedgerEntry, err error) {
	a, err := s.GetAccount(ctx, subID)
	if err != nil {
		return nil, nil, fmt.Errorf("top up: %w", err)
	}
	if a.ParentID == "" {
		return nil, nil, accounts.Invalidf("account: %s has no parent account to top up from", subID)
	}
	return s.moneyTransfer(ctx, a.ParentID, subID, amount, ref, actor, accounts.KindTopUpOut, accounts.KindTopUpIn)
}

func (s *Store) moneyTransfer(ctx context.Context, fromID, toID string, amount int64, ref, actor, outKind, inKind string) (from, to *accounts.LedgerEntry, err error) {
	if err := moneyCheckAmount(amount); err != nil {
		return nil, nil, fmt.Errorf("transfer %s to %s: %w", fromID, toID, err)
	}
	fromKey, err := s.AcctKey(fromID)
	if err != nil {
		return nil, nil, fmt.Errorf("transfer from: %w", err)
	}
	toKey, err := s.AcctKey(toID)
	if err != nil {
		return nil, nil, fmt.Errorf("transfer to: %w", err)
	}
	fs, _ := s.ShardFromID(fromID)
	ts, _ := s.ShardFromID(toID)
	if fs != ts || fromID == toID {
		return nil, nil, accounts.Invalidf("to: %s is not the parent or a sub-account of %s", toID, fromID)
	}
	at := s.Now().UnixMilli()
	ref, actor = accounts.TrimLedgerText(ref), accounts.TrimLedgerText(actor)
	keys := []string{fromKey, toKey, s.Keys.Ledger(fs, fromID), s.Keys.Ledger(fs, toID)}
	res, err := s.Run(ctx, moneyTransferScript, keys, amount, ref, actor, at, outKind, inKind).Slice()
	if err != nil {
		return nil, nil, fmt.Errorf("transfer %s to %s: %w", fromID, toID, err)
	}
	switch store.ReplyStr(res, 0) {
	case "ok":
		from = &accounts.LedgerEntry{ID: store.ReplyStr(res, 2), AccountID: fromID, Amount: -amount, Balance: store.ReplyInt(res, 1),
			Kind: outKind, Ref: ref, Actor: actor, At: time.UnixMilli(at)}
		to = &accounts.LedgerEntry{ID: store.ReplyStr(res, 4), AccountID: toID, Amount: amount, Balance: store.ReplyInt(res, 3),
			Kind: inKind, Ref: ref, Actor: actor, At: time.UnixMilli(at)}
		return from, to, nil
	case "insufficient":
		return nil, nil, fmt.Errorf("transfer from %s: %w", fromID,
			&accounts.BalanceError{Need: amount, Have: store.ReplyInt(res, 1), Currency: store.ReplyStr(res, 2), CreditLimit: store.ReplyInt(res, 3), Reserved: store.ReplyInt(res, 4)})
	case "notfound":
		id := fromID
		if store.ReplyStr(res, 1) == "to" {
			id = toID
		}
		return nil, nil, fmt.Errorf("transfer: account %q: %w", id, accounts.ErrNotFound)
	case "nottree":
		return nil, nil, accounts.Invalidf("to: %s is not the parent or a sub-account of %s", toID, fromID)
	case "currency":
		return nil, nil, accounts.Invalidf("to: %s has another currency than %s", toID, fromID)
	default: // "overflow"
		return nil, nil, accounts.Invalidf("amount: balance of %s would exceed the maximum", toID)
	}
}

// Ledger returns an account's ledger entries, newest first, at most limit
// of them (all when limit <= 0). ErrNotFound for an unknown account.
func (s *Store) Ledger(ctx context.Context, accountID string, limit int) ([]accounts.LedgerEntry, error) {
	entries, _, err := s.LedgerPage(ctx, accountID, "", limit)
	return entries, err
}

// LedgerPage returns up to limit (all when limit <= 0) ledger entries of an
// account, newest first, older than the entry id before (empty: from the
// newest). next is the id to pass as before for the following page, empty
// when there is none. A malformed before is ErrInvalid; an unknown or
// deleted account ErrNotFound.
func (s *Store) LedgerPage(ctx context.Context, accountID, before string, limit int) (entries []accounts.LedgerEntry, next string, err error) {
	if _, err := s.GetAccount(ctx, accountID); err != nil {
		return nil, "", fmt.Errorf("ledger: %w", err)
	}
	start := "+"
	if before != "" {
		if !moneyValidEntryID(before) {
			return nil, "", accounts.Invalidf("before: %q is not a ledger entry id such as 1700000000000-0", before)
		}
		start = "(" + before // exclusive (Redis 6.2+)
	}
	shard, _ := s.ShardFromID(accountID)
	key := s.Keys.Ledger(shard, accountID)
	var msgs []redis.XMessage
	if limit > 0 {
		msgs, err = s.RDB.XRevRangeN(ctx, key, start, "-", int64(limit)+1).Result()
	} else {
		msgs, err = s.RDB.XRevRange(ctx, key, start, "-").Result()
	}
	if err != nil {
		return nil, "", fmt.Errorf("ledger of %s: %w", accountID, err)
	}
	if limit > 0 && len(msgs) > limit {
		msgs = msgs[:limit]
		next = msgs[limit-1].ID
	}
	entries = make([]accounts.LedgerEntry, 0, len(msgs)+1)
	for _, m := range msgs {
		e, err := MoneyEntry(accountID, m)
		if err != nil {
			return nil, "", err
		}
		entries = append(entries, e)
	}
	// A compacted ledger starts with its opening entry, older than every
	// entry left in the stream: it ends the last page (a full page hands
	// it to the next one).
	if next == "" {
		op, ok, err := s.ledgerOpening(ctx, shard, accountID)
		if err != nil {
			return nil, "", fmt.Errorf("ledger of %s: %w", accountID, err)
		}
		if ok && (before == "" || entryIDLess(op.ID, before)) {
			if limit > 0 && len(entries) == limit {
				next = entries[len(entries)-1].ID
			} else {
				entries = append(entries, op)
			}
		}
	}
	return entries, next, nil
}

// CompactLedger folds the ledger entries of accountID dated before
// `before` into its opening balance, signed off by actor, and trims them
// from the stream: the ledger then reads as one "opening" entry (the sum
// so far, the running balance it ends at, the actor, and a SHA-1 chained
// over every compaction's entries) followed by the later entries, and still
// sums to the balance. It returns how many entries were folded and their
// sum. One script, O(entries folded): it may run as often as wanted (the
// housekeeping's retention.ledger does).
func (s *Store) CompactLedger(ctx context.Context, accountID string, before time.Time, actor string) (int, int64, error) {
	if actor == "" {
		return 0, 0, accounts.Invalidf("actor: required: who signs the opening balance off")
	}
	if _, err := s.GetAccount(ctx, accountID); err != nil {
		return 0, 0, fmt.Errorf("compact ledger: %w", err)
	}
	shard, _ := s.ShardFromID(accountID)
	cut := strconv.FormatInt(before.UnixMilli(), 10) + "-0"
	res, err := s.Run(ctx, ledgerCompactScript, []string{s.Keys.Ledger(shard, accountID), s.Keys.LedgerOpening(shard, accountID)},
		cut, actor, s.Now().UnixMilli()).Int64Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("compact ledger of %s: %w", accountID, err)
	}
	return int(res[0]), res[1], nil
}

// ledgerOpening reads the opening entry of a compacted ledger (ok false
// when it was never compacted).
func (s *Store) ledgerOpening(ctx context.Context, shard int, accountID string) (e accounts.LedgerEntry, ok bool, err error) {
	h, err := s.RDB.HGetAll(ctx, s.Keys.LedgerOpening(shard, accountID)).Result()
	if err != nil || len(h) == 0 {
		return e, false, err
	}
	num := func(k string) int64 { n, _ := strconv.ParseInt(h[k], 10, 64); return n }
	return accounts.LedgerEntry{ID: h["upto"], AccountID: accountID, Amount: num("amount"), Balance: num("balance"),
		Kind: "opening", Actor: h["actor"], At: time.UnixMilli(num("at")),
		Ref: "opening balance: " + h["count"] + " entries up to " + h["upto"] + ", sha1 " + h["digest"]}, true, nil
}

// entryIDLess compares two stream entry ids ("<ms>-<seq>").
func entryIDLess(a, b string) bool {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	ams, _ := strconv.ParseUint(am, 10, 64)
	bms, _ := strconv.ParseUint(bm, 10, 64)
	if ams != bms {
		return ams < bms
	}
	asq, _ := strconv.ParseUint(as, 10, 64)
	bsq, _ := strconv.ParseUint(bs, 10, 64)
	return asq < bsq
}

// MoneyEntry decodes one ledger stream entry.
func MoneyEntry(accountID string, m redis.XMessage) (accounts.LedgerEntry, error) {
	e := accounts.LedgerEntry{ID: m.ID, AccountID: accountID}
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	var perr error
	num := func(k string) int64 {
		n, err := strconv.ParseInt(str(k), 10, 64)
		if err != nil && perr == nil {
			perr = fmt.Errorf("ledger of %s: entry %s: field %s: %w", accountID, m.ID, k, err)
		}
		return n
	}
	e.Amount, e.Balance = num("amount"), num("balance")
	e.At = time.UnixMilli(num("at"))
	e.Kind, e.Ref, e.Actor = str("kind"), str("ref"), str("actor")
	return e, perr
}

// moneyValidEntryID reports whether id looks like a stream entry id
// ("<ms>-<seq>").
func moneyValidEntryID(id string) bool {
	ms, seq, ok := strings.Cut(id, "-")
	if !ok || ms == "" || seq == "" || len(id) > 41 {
		return false
	}
	// Both halves are 64-bit unsigned in Redis: "99999999999999999999-0"
	// is no id (Redis would refuse it with an error).
	_, err1 := strconv.ParseUint(ms, 10, 64)
	_, err2 := strconv.ParseUint(seq, 10, 64)
	return err1 == nil && err2 == nil
}

func moneyCheckAmount(amount int64) error {
	if amount <= 0 {
		return fmt.Errorf("%w: amount: must be positive", accounts.ErrInvalid)
	}
	if amount > accounts.MaxAmount {
		return fmt.Errorf("%w: amount: larger than %d", accounts.ErrInvalid, int64(accounts.MaxAmount))
	}
	return nil
}
