package accounts

import (
	"fmt"
	"strings"
	"time"
)

// MaxAmount bounds one credit, debit, transfer or price (minor units):
// large enough for any real top-up, small enough that balances stay exact
// in Redis Lua's doubles.
const MaxAmount = 1e13

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

// BalanceError reports a balance too small for a debit, transfer or send.
// errors.Is(err, ErrInsufficientBalance) holds for it.
type BalanceError struct {
	Need     int64 // minor units required
	Have     int64 // balance, minor units
	Currency string
	// CreditLimit of a postpaid account: the balance may go down to
	// -CreditLimit, so what is available is Have + CreditLimit.
	CreditLimit int64
	// Reserved is the credit the account extends to its sub-accounts (the
	// sum of their credit limits): it backs their spending, so it is not
	// available to the account itself.
	Reserved int64
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
	if e.CreditLimit > 0 || e.Reserved > 0 {
		fmt.Fprintf(&b, ", available %s (balance %s", FormatMoney(e.Have+e.CreditLimit-e.Reserved, e.Currency), FormatMoney(e.Have, e.Currency))
		if e.CreditLimit > 0 {
			fmt.Fprintf(&b, ", credit limit %s", FormatMoney(e.CreditLimit, e.Currency))
		}
		if e.Reserved > 0 {
			fmt.Fprintf(&b, ", %s backing the credit limits of its sub-accounts", FormatMoney(e.Reserved, e.Currency))
		}
		b.WriteString(")")
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

// TrimLedgerText bounds the free-text ref and actor fields of a ledger entry.
func TrimLedgerText(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "")
	}
	return s
}

// PriceTable is what an account pays per SMS part: Default (the account's
// PricePerPart) unless a prefix of the destination number has its own
// price, the longest such prefix winning. It is stored at
// P:{sN}:prices:<acct> (a hash prefix -> minor units per part) and read by
// the accept script itself, so a price change applies from the next mail.
type PriceTable struct {
	AccountID string           `json:"account_id"`
	Currency  string           `json:"currency"`
	Default   int64            `json:"default"`  // minor units per part
	Prefixes  map[string]int64 `json:"prefixes"` // E.164 prefix (digits) -> minor units per part
}

// For returns the price per part of a number (E.164 digits without '+').
func (t *PriceTable) For(number string) int64 {
	for l := min(len(number), 15); l > 0; l-- {
		if p, ok := t.Prefixes[number[:l]]; ok {
			return p
		}
	}
	return t.Default
}

// StatsMaxDays bounds the period of one statistics query.
const StatsMaxDays = 366

// statsDayMS is the length of a statistics day in milliseconds.
const statsDayMS = 86_400_000

// StatsRow is one line of a report: the counts of one day, one sender, one
// account, or a total. Day, Sender and AccountID say which.
type StatsRow struct {
	Day       string `json:"day,omitempty"`        // YYYY-MM-DD (UTC)
	Sender    string `json:"sender,omitempty"`     // the sending email address (or api:<key id>)
	AccountID string `json:"account_id,omitempty"` // per-account rows
	Name      string `json:"name,omitempty"`       // the account's name, per-account rows

	Messages      int64 `json:"messages"`
	Parts         int64 `json:"parts"`
	Cost          int64 `json:"cost"` // minor units, net of refunds
	Delivered     int64 `json:"delivered"`
	Failed        int64 `json:"failed"`
	Undeliverable int64 `json:"undeliverable"`
	Expired       int64 `json:"expired"`
	Rejected      int64 `json:"rejected"`
}

// Add adds o's counts to r.
func (r *StatsRow) Add(o *StatsRow) {
	r.Messages += o.Messages
	r.Parts += o.Parts
	r.Cost += o.Cost
	r.Delivered += o.Delivered
	r.Failed += o.Failed
	r.Undeliverable += o.Undeliverable
	r.Expired += o.Expired
	r.Rejected += o.Rejected
}

// Empty reports whether every count is zero.
func (r *StatsRow) Empty() bool {
	return r.Messages == 0 && r.Parts == 0 && r.Cost == 0 && r.Delivered == 0 && r.Failed == 0 &&
		r.Undeliverable == 0 && r.Expired == 0 && r.Rejected == 0
}

// Set adds n to the counter a statistics field names (kind "m", "p", "c"
// or "s:<status>").
func (r *StatsRow) Set(kind string, n int64) {
	switch kind {
	case "m":
		r.Messages += n
	case "p":
		r.Parts += n
	case "c":
		r.Cost += n
	case "s:" + string(MsgDelivered):
		r.Delivered += n
	case "s:" + string(MsgFailed):
		r.Failed += n
	case "s:" + string(MsgUndeliverable):
		r.Undeliverable += n
	case "s:" + string(MsgExpired):
		r.Expired += n
	case "s:" + string(MsgRejected):
		r.Rejected += n
	}
}

// Stats is an account's report over a period of whole UTC days.
type Stats struct {
	AccountID string `json:"account_id"`
	From      string `json:"from"`             // first day, YYYY-MM-DD
	To        string `json:"to"`               // last day, inclusive
	Sender    string `json:"sender,omitempty"` // set when the report is one sender's
	// Rows has one row per day and sender with any count, by day then
	// sender.
	Rows []StatsRow `json:"rows"`
	// Days has one row per day with any count (Sender empty).
	Days []StatsRow `json:"days"`
	// Senders has one row per sender over the whole period (Day empty).
	Senders []StatsRow `json:"senders"`
	Total   StatsRow   `json:"total"`
}

// StatsDay returns the statistics day of t: whole UTC days since the Unix
// epoch.
func StatsDay(t time.Time) int64 {
	ms := t.UnixMilli()
	d := ms / statsDayMS
	if ms < 0 && ms%statsDayMS != 0 {
		d-- // floor, not truncation
	}
	return d
}

// StatsDate formats a statistics day as YYYY-MM-DD.
func StatsDate(day int64) string {
	return time.UnixMilli(day * statsDayMS).UTC().Format(time.DateOnly)
}

// CreditError reports a sub-account credit limit that its parent cannot
// back: a parent holds its sub-accounts' credit limits out of its balance
// and its own credit limit, so the credit in a tree never exceeds what the
// operator granted its root. errors.Is(err, ErrInsufficientBalance) holds.
type CreditError struct {
	Parent    string // the parent account
	Available int64  // what the parent has to back more credit, minor units
	Want      int64  // the credit asked for beyond what it holds already
	Currency  string
}

func (e *CreditError) Error() string {
	return fmt.Sprintf("credit_limit: parent account %s has %s available to back %s more credit for its sub-accounts (its balance and its own credit limit, less the credit they already hold)",
		e.Parent, FormatMoney(max(e.Available, 0), e.Currency), FormatMoney(e.Want, e.Currency))
}

// Is makes errors.Is(err, ErrInsufficientBalance) true.
func (e *CreditError) Is(target error) bool { return target == ErrInsufficientBalance }
