package accounts

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// moneyMaxAmount bounds one credit, debit, transfer or price (minor units):
// large enough for any real top-up, small enough that balances stay exact
// in Redis Lua's doubles.
const moneyMaxAmount = 1e13

// Ledger entry kinds. The accept path writes "send" (and "recharge_in" /
// "recharge_out" for auto-recharge), a failed message "refund", and
// DeleteAccount "close_out" / "close_in" when it returns a deleted
// sub-account's balance to its parent.
const (
	KindCredit      = "credit"
	KindDebit       = "debit"
	KindTransferOut = "transfer_out"
	KindTransferIn  = "transfer_in"
	KindTopUpOut    = "topup_out"
	KindTopUpIn     = "topup_in"
	KindSend        = "send"
	KindRefund      = "refund"
	KindRechargeOut = "recharge_out"
	KindRechargeIn  = "recharge_in"
	KindCloseOut    = "close_out"
	KindCloseIn     = "close_in"
)

var (
	//go:embed lua/money_adjust.lua
	moneyAdjustLua    string
	moneyAdjustScript = redis.NewScript(moneyAdjustLua)

	//go:embed lua/money_transfer.lua
	moneyTransferLua    string
	moneyTransferScript = redis.NewScript(moneyTransferLua)
)

// BalanceError reports a balance too small for a debit, transfer or send.
// errors.Is(err, ErrInsufficientBalance) holds for it.
type BalanceError struct {
	Need     int64 // minor units required
	Have     int64 // balance, minor units
	Currency string
	// CreditLimit of a postpaid account: the balance may go down to
	// -CreditLimit, so what is available is Have + CreditLimit.
	CreditLimit int64
	// RechargeFailed: auto-recharge would have covered the send but the
	// parent could not pay Recharge; ParentHave is the parent's balance.
	RechargeFailed bool
	ParentHave     int64
	Recharge       int64
}

// Error says what was needed and what there was, e.g. "insufficient
// balance: needs 0.24 USD, balance is 0.10 USD", or for a postpaid account
// "insufficient balance: needs 5.00 USD, available 1.00 USD (balance -9.00
// USD, credit limit 10.00 USD)", followed by "; auto-recharge from the
// parent failed: parent balance 0.50 USD, recharge 2.00 USD" when that was
// tried.
func (e *BalanceError) Error() string {
	var b strings.Builder
	b.WriteString("insufficient balance: needs ")
	b.WriteString(FormatMoney(e.Need, e.Currency))
	if e.CreditLimit > 0 {
		fmt.Fprintf(&b, ", available %s (balance %s, credit limit %s)", FormatMoney(e.Have+e.CreditLimit, e.Currency),
			FormatMoney(e.Have, e.Currency), FormatMoney(e.CreditLimit, e.Currency))
	} else {
		b.WriteString(", balance is ")
		b.WriteString(FormatMoney(e.Have, e.Currency))
	}
	if e.RechargeFailed {
		fmt.Fprintf(&b, ", and auto-recharge from the parent failed: parent balance %s, recharge %s",
			FormatMoney(e.ParentHave, e.Currency), FormatMoney(e.Recharge, e.Currency))
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInsufficientBalance) true.
func (e *BalanceError) Is(target error) bool { return target == ErrInsufficientBalance }

// FormatMoney formats minor units with two decimals and the currency code:
// FormatMoney(-5, "USD") is "-0.05 USD".
func FormatMoney(minor int64, currency string) string {
	sign := ""
	u := uint64(minor)
	if minor < 0 {
		sign, u = "-", uint64(-minor) // also right for math.MinInt64
	}
	s := fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
	if currency != "" {
		s += " " + currency
	}
	return s
}

// Credit adds amount (> 0, minor units) to an account's balance: an
// operator's top-up. The balance and its ledger entry (kind "credit") change
// in one Lua script. The account's status is not checked, so operators can
// settle deactivated accounts.
func (s *Store) Credit(ctx context.Context, accountID string, amount int64, ref, actor string) (*LedgerEntry, error) {
	if err := moneyCheckAmount(amount); err != nil {
		return nil, fmt.Errorf("credit %s: %w", accountID, err)
	}
	e, err := s.moneyAdjust(ctx, accountID, amount, KindCredit, ref, actor)
	if err != nil {
		return nil, fmt.Errorf("credit %s: %w", accountID, err)
	}
	return e, nil
}

// Debit takes amount (> 0) from an account's balance, never below its
// floor (0 for a prepaid account, -CreditLimit for a postpaid one): a short
// balance gives a *BalanceError (ErrInsufficientBalance) and changes
// nothing. Ledger kind "debit".
func (s *Store) Debit(ctx context.Context, accountID string, amount int64, ref, actor string) (*LedgerEntry, error) {
	if err := moneyCheckAmount(amount); err != nil {
		return nil, fmt.Errorf("debit %s: %w", accountID, err)
	}
	e, err := s.moneyAdjust(ctx, accountID, -amount, KindDebit, ref, actor)
	if err != nil {
		return nil, fmt.Errorf("debit %s: %w", accountID, err)
	}
	return e, nil
}

func (s *Store) moneyAdjust(ctx context.Context, id string, amount int64, kind, ref, actor string) (*LedgerEntry, error) {
	key, err := s.acctKey(id)
	if err != nil {
		return nil, err
	}
	shard, _ := s.shardFromID(id)
	at := s.now().UnixMilli()
	res, err := moneyAdjustScript.Run(ctx, s.rdb, []string{key, s.skey(shard, "ledger", id)},
		amount, kind, moneyTrim(ref), moneyTrim(actor), at).Slice()
	if err != nil {
		return nil, err
	}
	switch moneyStr(res, 0) {
	case "ok":
		return &LedgerEntry{
			ID: moneyStr(res, 2), AccountID: id, Amount: amount, Balance: moneyInt(res, 1),
			Kind: kind, Ref: moneyTrim(ref), Actor: moneyTrim(actor), At: time.UnixMilli(at),
		}, nil
	case "insufficient":
		return nil, &BalanceError{Need: -amount, Have: moneyInt(res, 1), Currency: moneyStr(res, 2), CreditLimit: moneyInt(res, 3)}
	case "overflow":
		return nil, fmt.Errorf("%w: amount: balance would exceed the maximum", ErrInvalid)
	default:
		return nil, fmt.Errorf("account %q: %w", id, ErrNotFound)
	}
}

// Transfer moves amount (> 0) from one account to another of the same tree:
// a parent to one of its sub-accounts or a sub-account to its parent (not
// between siblings: the parent can do that in two steps). One Lua script
// checks the relation and the currencies, refuses to take the source below
// its floor (0 prepaid, -CreditLimit postpaid: *BalanceError), and writes
// both balances and both ledger entries ("transfer_out" on the source,
// "transfer_in" on the target).
func (s *Store) Transfer(ctx context.Context, fromID, toID string, amount int64, ref, actor string) (from, to *LedgerEntry, err error) {
	return s.moneyTransfer(ctx, fromID, toID, amount, ref, actor, KindTransferOut, KindTransferIn)
}

// TopUp is a sub-account pulling amount (> 0) from its parent (seed 003
// "Can Top Up"): a Transfer from the parent with ledger kinds "topup_out"
// on the parent and "topup_in" on the sub-account. ErrInvalid if subID is a
// root account.
func (s *Store) TopUp(ctx context.Context, subID string, amount int64, ref, actor string) (parent, sub *LedgerEntry, err error) {
	a, err := s.GetAccount(ctx, subID)
	if err != nil {
		return nil, nil, fmt.Errorf("top up: %w", err)
	}
	if a.ParentID == "" {
		return nil, nil, acctInvalid("account: %s has no parent account to top up from", subID)
	}
	return s.moneyTransfer(ctx, a.ParentID, subID, amount, ref, actor, KindTopUpOut, KindTopUpIn)
}

func (s *Store) moneyTransfer(ctx context.Context, fromID, toID string, amount int64, ref, actor, outKind, inKind string) (from, to *LedgerEntry, err error) {
	if err := moneyCheckAmount(amount); err != nil {
		return nil, nil, fmt.Errorf("transfer %s to %s: %w", fromID, toID, err)
	}
	fromKey, err := s.acctKey(fromID)
	if err != nil {
		return nil, nil, fmt.Errorf("transfer from: %w", err)
	}
	toKey, err := s.acctKey(toID)
	if err != nil {
		return nil, nil, fmt.Errorf("transfer to: %w", err)
	}
	fs, _ := s.shardFromID(fromID)
	ts, _ := s.shardFromID(toID)
	if fs != ts || fromID == toID {
		return nil, nil, acctInvalid("to: %s is not the parent or a sub-account of %s", toID, fromID)
	}
	at := s.now().UnixMilli()
	ref, actor = moneyTrim(ref), moneyTrim(actor)
	keys := []string{fromKey, toKey, s.skey(fs, "ledger", fromID), s.skey(fs, "ledger", toID)}
	res, err := moneyTransferScript.Run(ctx, s.rdb, keys, amount, ref, actor, at, outKind, inKind).Slice()
	if err != nil {
		return nil, nil, fmt.Errorf("transfer %s to %s: %w", fromID, toID, err)
	}
	switch moneyStr(res, 0) {
	case "ok":
		from = &LedgerEntry{ID: moneyStr(res, 2), AccountID: fromID, Amount: -amount, Balance: moneyInt(res, 1),
			Kind: outKind, Ref: ref, Actor: actor, At: time.UnixMilli(at)}
		to = &LedgerEntry{ID: moneyStr(res, 4), AccountID: toID, Amount: amount, Balance: moneyInt(res, 3),
			Kind: inKind, Ref: ref, Actor: actor, At: time.UnixMilli(at)}
		return from, to, nil
	case "insufficient":
		return nil, nil, fmt.Errorf("transfer from %s: %w", fromID,
			&BalanceError{Need: amount, Have: moneyInt(res, 1), Currency: moneyStr(res, 2), CreditLimit: moneyInt(res, 3)})
	case "notfound":
		id := fromID
		if moneyStr(res, 1) == "to" {
			id = toID
		}
		return nil, nil, fmt.Errorf("transfer: account %q: %w", id, ErrNotFound)
	case "nottree":
		return nil, nil, acctInvalid("to: %s is not the parent or a sub-account of %s", toID, fromID)
	case "currency":
		return nil, nil, acctInvalid("to: %s has another currency than %s", toID, fromID)
	default: // "overflow"
		return nil, nil, acctInvalid("amount: balance of %s would exceed the maximum", toID)
	}
}

// Ledger returns an account's ledger entries, newest first, at most limit
// of them (all when limit <= 0). ErrNotFound for an unknown account.
func (s *Store) Ledger(ctx context.Context, accountID string, limit int) ([]LedgerEntry, error) {
	entries, _, err := s.LedgerPage(ctx, accountID, "", limit)
	return entries, err
}

// LedgerPage returns up to limit (all when limit <= 0) ledger entries of an
// account, newest first, older than the entry id before (empty: from the
// newest). next is the id to pass as before for the following page, empty
// when there is none. A malformed before is ErrInvalid; an unknown or
// deleted account ErrNotFound.
func (s *Store) LedgerPage(ctx context.Context, accountID, before string, limit int) (entries []LedgerEntry, next string, err error) {
	if _, err := s.GetAccount(ctx, accountID); err != nil {
		return nil, "", fmt.Errorf("ledger: %w", err)
	}
	start := "+"
	if before != "" {
		if !moneyValidEntryID(before) {
			return nil, "", acctInvalid("before: %q is not a ledger entry id such as 1700000000000-0", before)
		}
		start = "(" + before // exclusive (Redis 6.2+)
	}
	shard, _ := s.shardFromID(accountID)
	key := s.skey(shard, "ledger", accountID)
	var msgs []redis.XMessage
	if limit > 0 {
		msgs, err = s.rdb.XRevRangeN(ctx, key, start, "-", int64(limit)+1).Result()
	} else {
		msgs, err = s.rdb.XRevRange(ctx, key, start, "-").Result()
	}
	if err != nil {
		return nil, "", fmt.Errorf("ledger of %s: %w", accountID, err)
	}
	if limit > 0 && len(msgs) > limit {
		msgs = msgs[:limit]
		next = msgs[limit-1].ID
	}
	entries = make([]LedgerEntry, 0, len(msgs))
	for _, m := range msgs {
		e, err := moneyEntry(accountID, m)
		if err != nil {
			return nil, "", err
		}
		entries = append(entries, e)
	}
	return entries, next, nil
}

// moneyEntry decodes one ledger stream entry.
func moneyEntry(accountID string, m redis.XMessage) (LedgerEntry, error) {
	e := LedgerEntry{ID: m.ID, AccountID: accountID}
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
	return strings.Trim(ms, "0123456789") == "" && strings.Trim(seq, "0123456789") == ""
}

func moneyCheckAmount(amount int64) error {
	if amount <= 0 {
		return fmt.Errorf("%w: amount: must be positive", ErrInvalid)
	}
	if amount > moneyMaxAmount {
		return fmt.Errorf("%w: amount: larger than %d", ErrInvalid, int64(moneyMaxAmount))
	}
	return nil
}

// moneyTrim bounds the free-text ref and actor fields of a ledger entry.
func moneyTrim(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "")
	}
	return s
}

func moneyStr(res []any, i int) string {
	if i >= len(res) {
		return ""
	}
	v, _ := res[i].(string)
	return v
}

func moneyInt(res []any, i int) int64 {
	if i >= len(res) {
		return 0
	}
	v, _ := res[i].(int64)
	return v
}
