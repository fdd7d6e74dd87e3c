package contacts

import "github.com/smsgate/smsgate/accounts/store"

// Store is the contacts part of the Redis store.
type Store struct{ *store.DB }

// New returns the contacts store over db.
func New(db *store.DB) *Store { return &Store{db} }
