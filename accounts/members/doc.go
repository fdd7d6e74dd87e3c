package members

import "github.com/smsgate/smsgate/accounts/store"

// Store is the members part of the Redis store.
type Store struct{ *store.DB }

// New returns the members store over db.
func New(db *store.DB) *Store { return &Store{db} }
