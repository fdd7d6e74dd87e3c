package accounts

import (
	_ "embed"
)

// StatusDeleted marks a deleted sub-account. Such an account is invisible:
// GetAccount and every lookup answer ErrNotFound, and it cannot be
// reactivated. Its record, ledger, messages, inbox and statistics are kept
// for its parent's reports and audit (DeletedSubAccounts lists them).
const StatusDeleted Status = "deleted"

// DeleteResult says what DeleteAccount did.
type DeleteResult struct {
	AccountID string `json:"account_id"`
	ParentID  string `json:"parent_id"`
	// Returned is the balance moved back to the parent (minor units); a
	// negative value is a postpaid debt the parent settled.
	Returned  int64    `json:"returned"`
	Currency  string   `json:"currency"`
	Domains   []string `json:"domains_released"`
	Addresses []string `json:"addresses_released"`
	Keys      []string `json:"keys_revoked"`
}
