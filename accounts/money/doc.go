// Package money is the part of the Redis store that owns balances: credits,
// debits, transfers between a parent and its sub-accounts, top-ups, the
// ledger (every balance change is an entry and the entries sum to the
// balance), prices per destination prefix and the sending statistics.
// It also stores each account's sending limits (limits.go; the accept
// script enforces them).
// Balance changes run in Lua scripts so that concurrent operations never lose
// or invent money.
package money

import "github.com/smsgate/smsgate/accounts/store"

// DB is the money part of the Redis store.
type Store struct{ *store.DB }

// New returns the money store over db.
func New(db *store.DB) *Store { return &Store{db} }
