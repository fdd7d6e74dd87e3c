package accounts

import (
	_ "embed"
)

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
