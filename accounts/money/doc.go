package money

import "github.com/smsgate/smsgate/accounts/store"

// Store is the money part of the Redis store.
type Store struct{ *store.DB }

// New returns the money store over db.
func New(db *store.DB) *Store { return &Store{db} }
