// Package contacts is the part of the Redis store that owns an account's
// address book: contacts (unique per number), CSV import and export, groups
// and their members, and groups shared down from a parent to its
// sub-accounts (read-only there, revocable).
package contacts

import "github.com/smsgate/smsgate/accounts/store"

// DB is the contacts part of the Redis store.
type Store struct{ *store.DB }

// New returns the contacts store over db.
func New(db *store.DB) *Store { return &Store{db} }
