package accounts

import (
	_ "embed"
	"errors"
	"slices"
	"strings"
)

// Errors of the sender identity methods, tested with errors.Is.
var (
	// ErrNumberTaken: the number is assigned to another account of the same
	// tree; the error names it.
	ErrNumberTaken = errors.New("number is assigned to another account")
	// ErrNumberNotOwned: the number is not one of the numbers the operator
	// allocated to the account's tree (or it belongs to another tenant: the
	// two are not told apart).
	ErrNumberNotOwned = errors.New("number is not allocated to this account tree")
)

// Senders is what an account may send from.
type Senders struct {
	AccountID string   `json:"account_id"`
	Numbers   []string `json:"numbers"`           // dedicated numbers, E.164 digits, sorted
	SenderIDs []string `json:"sender_ids"`        // approved alphanumeric ids, sorted
	Default   string   `json:"default,omitempty"` // Account.SenderID; empty: the gateway's default
}

// Allows reports whether id names one of the identities and returns it in
// its stored form: a number as its digits (a leading '+' is ignored), an
// alphanumeric id as approved (compared without regard to ASCII case);
// "", false when it names none.
func (s *Senders) Allows(id string) (string, bool) {
	if s == nil {
		return "", false
	}
	id = strings.TrimSpace(id)
	if d := strings.TrimPrefix(id, "+"); d != "" && strings.Trim(d, "0123456789") == "" {
		if slices.Contains(s.Numbers, d) {
			return d, true
		}
		return "", false
	}
	for _, a := range s.SenderIDs {
		if strings.EqualFold(a, id) {
			return a, true
		}
	}
	return "", false
}

// SplitPlus splits an email address whose local part carries a
// sub-address ("alice+ACME@example.com", RFC 5233) into the address without
// it ("alice@example.com") and the tag ("ACME"). An address without one is
// returned whole with an empty tag.
func SplitPlus(addr string) (base, tag string) {
	at := strings.LastIndexByte(addr, '@')
	if at < 1 {
		return addr, ""
	}
	local, domain := addr[:at], addr[at:]
	plus := strings.IndexByte(local, '+')
	if plus < 1 { // "+x@y": no base to speak of
		return addr, ""
	}
	return local[:plus] + domain, local[plus+1:]
}
