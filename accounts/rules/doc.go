package rules

import "github.com/smsgate/smsgate/accounts/store"

// Store is the rules part of the Redis store.
type Store struct{ *store.DB }

// New returns the rules store over db.
func New(db *store.DB) *Store { return &Store{db} }
