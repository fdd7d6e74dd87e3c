package accounts

import (
	_ "embed"
	"fmt"
	"strings"
)

// moneyMaxAmount bounds one credit, debit, transfer or price (minor units):
// large enough for any real top-up, small enough that balances stay exact
// in Redis Lua's doubles.
const MoneyMaxAmount = 1e13

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

// moneyTrim bounds the free-text ref and actor fields of a ledger entry.
func MoneyTrim(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "")
	}
	return s
}

func MoneyStr(res []any, i int) string {
	if i >= len(res) {
		return ""
	}
	v, _ := res[i].(string)
	return v
}

func MoneyInt(res []any, i int) int64 {
	if i >= len(res) {
		return 0
	}
	v, _ := res[i].(int64)
	return v
}
