package accounts

import (
	_ "embed"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Account defaults applied by CreateAccount and UpdateAccount.
const (
	acctDefaultCountry  = "US"
	acctDefaultCurrency = "USD"
	acctDefaultMaxParts = 10
	// acctMaxMaxParts is the most parts a concatenated SMS can have: the
	// concatenation header counts parts in one octet (3GPP TS 23.040 §9.2.3.24.1).
	acctMaxMaxParts = 255
	AcctMaxNameLen  = 100
)

// acctInvalid returns an error wrapping ErrInvalid whose text names the
// field, e.g. "invalid: name: required".
func AcctInvalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// acctNormalize trims a's settings, applies defaults and validates them.
func AcctNormalize(a *Account) error {
	a.Name = strings.TrimSpace(a.Name)
	switch {
	case a.Name == "":
		return AcctInvalid("name: required")
	case utf8.RuneCountInString(a.Name) > AcctMaxNameLen:
		return AcctInvalid("name: longer than %d characters", AcctMaxNameLen)
	case !utf8.ValidString(a.Name):
		return AcctInvalid("name: not valid UTF-8")
	}
	a.ContactEmail = strings.TrimSpace(a.ContactEmail)
	if a.ContactEmail != "" {
		addr, err := mail.ParseAddress(a.ContactEmail)
		if err != nil {
			return AcctInvalid("contact_email: %q is not an email address", a.ContactEmail)
		}
		a.ContactEmail = addr.Address
	}
	a.DefaultCountry = strings.ToUpper(strings.TrimSpace(a.DefaultCountry))
	if a.DefaultCountry == "" {
		a.DefaultCountry = acctDefaultCountry
	}
	if !acctUpperLetters(a.DefaultCountry, 2) {
		return AcctInvalid("default_country: unknown country %q", a.DefaultCountry)
	}
	if a.PricePerPart < 0 {
		return AcctInvalid("price_per_part: negative")
	}
	if a.PricePerPart > MoneyMaxAmount {
		return AcctInvalid("price_per_part: larger than %d", int64(MoneyMaxAmount))
	}
	a.Currency = strings.ToUpper(strings.TrimSpace(a.Currency))
	if a.Currency == "" {
		a.Currency = acctDefaultCurrency
	}
	if !acctUpperLetters(a.Currency, 3) {
		return AcctInvalid("currency: %q is not an ISO 4217 code", a.Currency)
	}
	if a.MaxParts == 0 {
		a.MaxParts = acctDefaultMaxParts
	}
	if a.MaxParts < 1 || a.MaxParts > acctMaxMaxParts {
		return AcctInvalid("max_parts: %d is not between 1 and %d", a.MaxParts, acctMaxMaxParts)
	}
	switch a.LongMessage {
	case "":
		a.LongMessage = LongReject
	case LongReject, LongTruncate:
	default:
		return AcctInvalid("long_message: %q is not %q or %q", a.LongMessage, LongReject, LongTruncate)
	}
	switch a.SubjectMode {
	case "":
		a.SubjectMode = SubjectIgnore
	case SubjectIgnore, SubjectPrepend:
	default:
		return AcctInvalid("subject_mode: %q is not %q or %q", a.SubjectMode, SubjectIgnore, SubjectPrepend)
	}
	a.SenderID = strings.TrimSpace(a.SenderID)
	if a.SenderID != "" && !acctValidSenderID(a.SenderID) {
		return AcctInvalid("sender_id: %q is neither a number of up to 15 digits nor up to 11 letters and digits", a.SenderID)
	}
	switch a.Billing {
	case "":
		a.Billing = BillingPrepaid
	case BillingPrepaid, BillingPostpaid:
	default:
		return AcctInvalid("billing: %q is not %q or %q", a.Billing, BillingPrepaid, BillingPostpaid)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"credit_limit", a.CreditLimit}, {"auto_recharge.threshold", a.AutoRecharge.Threshold},
		{"auto_recharge.amount", a.AutoRecharge.Amount}, {"low_balance_threshold", a.LowBalance}} {
		if f.v < 0 || f.v > MoneyMaxAmount {
			return AcctInvalid("%s: %d is not between 0 and %d", f.name, f.v, int64(MoneyMaxAmount))
		}
	}
	if a.Billing == BillingPrepaid && a.CreditLimit != 0 {
		return AcctInvalid("credit_limit: only postpaid accounts have one")
	}
	if a.AutoRecharge.Amount > 0 && a.ParentID == "" {
		return AcctInvalid("auto_recharge: only sub-accounts recharge, from their parent")
	}
	if a.Permissions.Granted == nil {
		a.Permissions.Granted = []string{}
	}
	if a.Permissions.Enabled == nil {
		a.Permissions.Enabled = []string{}
	}
	return nil
}

// acctValidSenderID accepts a numeric source address (E.164, up to 15
// digits, optional '+') or an alphanumeric one (up to 11 characters, the
// limit of a GSM alphanumeric originator, 3GPP TS 23.040 §9.1.2.5).
func acctValidSenderID(id string) bool {
	digits := strings.TrimPrefix(id, "+")
	if digits != "" && strings.Trim(digits, "0123456789") == "" {
		return len(digits) <= 15
	}
	if len(id) > 11 {
		return false
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(" .-_&", c)
		if !ok {
			return false
		}
	}
	return true
}

func acctUpperLetters(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := range len(s) {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// acctSplit splits a stored comma list; empty is none.
func AcctSplit(v string) []string {
	if v == "" {
		return []string{}
	}
	return strings.Split(v, ",")
}

// acctFromHash decodes an account hash; an empty hash is ErrNotFound.
func AcctFromHash(id string, h map[string]string) (*Account, error) {
	if len(h) == 0 || h["id"] == "" || Status(h["status"]) == StatusDeleted { // deleted: invisible (lifecycle.go)
		return nil, fmt.Errorf("account %q: %w", id, ErrNotFound)
	}
	a := &Account{
		ID:             h["id"],
		ParentID:       h["parent_id"],
		Name:           h["name"],
		ContactEmail:   h["contact_email"],
		Status:         Status(h["status"]),
		DefaultCountry: h["default_country"],
		Currency:       h["currency"],
		LongMessage:    h["long_message"],
		SubjectMode:    h["subject_mode"],
		SenderID:       h["sender_id"],
		Billing:        h["billing"],
		Permissions:    Permissions{Granted: AcctSplit(h["perm_granted"]), Enabled: AcctSplit(h["perm_enabled"])},
	}
	if a.Billing == "" {
		a.Billing = BillingPrepaid
	}
	var err error
	num := func(field string) int64 {
		v, e := strconv.ParseInt(h[field], 10, 64)
		if e != nil && err == nil {
			err = fmt.Errorf("account %s: field %s: %w", id, field, e)
		}
		return v
	}
	a.PricePerPart = num("price_per_part")
	a.MaxParts = int(num("max_parts"))
	a.Balance = num("balance")
	a.CreatedAt = time.UnixMilli(num("created_at"))
	opt := func(field string) int64 { // fields added after the first release may be absent
		if h[field] == "" {
			return 0
		}
		return num(field)
	}
	a.CreditLimit = opt("credit_limit")
	a.AutoRecharge = AutoRecharge{Threshold: opt("recharge_threshold"), Amount: opt("recharge_amount")}
	a.LowBalance = opt("low_balance")
	if err != nil {
		return nil, err
	}
	return a, nil
}
