// Package messages is the part of the Redis store that owns the life of an
// SMS: the atomic accept (opt-out check, debit, ledger entry, message record,
// queue entry and idempotency key in one Lua script), the dispatch queue (a
// Redis Streams consumer group per shard, retries and claims), delivery
// receipts, message queries, and replies in the inbox with their read and
// archived state and the blocked log.
package messages

import (
	"sync"

	"github.com/smsgate/smsgate/accounts/store"
)

// DB is the messages part of the Redis store.
type Store struct {
	*store.DB
	// parents remembers the parent of each account that sent (account id ->
	// parent id, "" for a top-level account), so that Accept can name the
	// parent's keys without a read. An account's parent never changes and ids
	// are never reused, so an entry never goes stale; there is one per
	// account that sends through this process.
	parents sync.Map
}

// New returns the messages store over db.
func New(db *store.DB) *Store { return &Store{DB: db} }
