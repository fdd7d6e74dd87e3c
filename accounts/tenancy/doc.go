// Package tenancy is the part of the Redis store that owns who an account is:
// creating, updating, listing, activating and deactivating accounts and
// sub-accounts, their permission flags, their email-to-SMS registrations
// (domains and exact addresses, resolved at MAIL FROM) and their sending
// identities (numbers and alphanumeric sender ids).
package tenancy

import "github.com/smsgate/smsgate/accounts/store"

// DB is the tenancy part of the Redis store.
type Store struct{ *store.DB }

// New returns the tenancy store over db.
func New(db *store.DB) *Store { return &Store{db} }
