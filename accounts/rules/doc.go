// Package rules is the part of the Redis store that owns what an account has
// decided about its traffic: opt-out lists and the Stop rule, message
// templates (shared down from a parent), automation rules (auto-replies and
// notices, with their limits) and inbox rules (where replies are forwarded).
package rules

import "github.com/smsgate/smsgate/accounts/store"

// DB is the rules part of the Redis store.
type Store struct{ *store.DB }

// New returns the rules store over db.
func New(db *store.DB) *Store { return &Store{db} }
