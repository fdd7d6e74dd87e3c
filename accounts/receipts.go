package accounts

import (
	"time"
)

// ReceiptUpdate is one delivery receipt to apply: the part's SMSC id in its
// canonical form, on the link it was submitted on, and its final status.
type ReceiptUpdate struct {
	Link, CanonicalID string
	Status, ErrCode   string
	At                time.Time
}
