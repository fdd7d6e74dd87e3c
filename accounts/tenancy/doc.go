package tenancy

import "github.com/smsgate/smsgate/accounts/store"

// Store is the tenancy part of the Redis store.
type Store struct{ *store.DB }

// New returns the tenancy store over db.
func New(db *store.DB) *Store { return &Store{db} }
