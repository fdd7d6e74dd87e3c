package messages

import "github.com/smsgate/smsgate/accounts/store"

// Store is the messages part of the Redis store.
type Store struct{ *store.DB }

// New returns the messages store over db.
func New(db *store.DB) *Store { return &Store{db} }
