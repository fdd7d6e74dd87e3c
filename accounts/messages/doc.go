// Package messages is the part of the Redis store that owns the life of an
// SMS: the atomic accept (opt-out check, debit, ledger entry, message record,
// queue entry and idempotency key in one Lua script), the dispatch queue (a
// Redis Streams consumer group per shard, retries and claims), delivery
// receipts, message queries, and replies in the inbox with their read and
// archived state and the blocked log.
package messages

import (
	"sync/atomic"

	"github.com/smsgate/smsgate/accounts/store"
)

// Store is the messages part of the Redis store.
type Store struct {
	*store.DB
	commit  *committers // group commit of accepts, per shard
	ctxKeys acceptKeys  // the accounts' context keys of accept.lua
	// idemBuckets: the idempotency buckets known to have their expiry.
	idemBuckets idemBuckets
	readers     *readers // the concurrent shard reads of each consumer
	// legacyIdemUntil (unix ms): until then, accept also looks for a
	// retry under the idempotency key of the releases before the buckets
	// (one idempotency window after the store started: by then the last
	// key written before an upgrade has expired), or 0 once
	// CheckLegacyIdempotency has found no such key.
	legacyIdemUntil atomic.Int64
	// accepted are the messages this process accepted lately, for its
	// dispatcher (LoadFresh); nil when KeepAccepted is 0.
	accepted *acceptedCache
}

// New returns the messages store over db.
func New(db *store.DB) *Store {
	s := &Store{DB: db, commit: &committers{}, readers: &readers{}}
	if db.KeepAccepted > 0 {
		s.accepted = newAcceptedCache(db.KeepAccepted)
	}
	s.legacyIdemUntil.Store(db.Now().Add(db.IdempotencyTTL).UnixMilli())
	return s
}
