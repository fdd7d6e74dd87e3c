// Package store is the shared base of the Redis store packages (tenancy,
// members, money, messages, contacts, rules) and of the webhook service: the
// client, the keyspace (DB.Keys, package keyspace), the Lua script runner
// with its key guard (DB.Run), id generation, the clock, and the few reads
// every area needs (an account, whether it is active, the owner of a number).
//
// Every script declares every key it touches in KEYS: the Go side computes
// each key with the keyspace, reading first what a key depends on (the
// members of a set, an account's parent) when the script cannot be given it,
// and the script checks that what it finds is what the keys were built from.
package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/keyspace"
)

// Options configures a DB.
type Options struct {
	// Shards is the number of keyspace shards (hash tags {s0}..{sN-1}), each
	// with its own dispatch stream. Fixed for the life of a deployment:
	// changing it strands data. Default 1.
	Shards int
	// Prefix starts every key. Default "smsgate".
	Prefix string
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// PasswordCost is the bcrypt cost of user passwords; default 12. Tests
	// lower it (4 is bcrypt's minimum) to keep -race runs fast.
	PasswordCost int
	// KeyGuard runs every script under a guard that fails it, naming the
	// script and the key, when it touches a key missing from its KEYS.
	// Tests turn it on; production leaves it off (it costs a table lookup
	// per Redis call inside a script).
	KeyGuard bool
	// OnScript, if set, is called with the name of every script run; tests
	// use it to check that every script ran.
	OnScript func(name string)
	// Quotas are the default quotas of every account (configuration
	// quotas); zero ones are accounts.DefaultQuotas'.
	Quotas accounts.Quotas
	// MinReplicasAck is how many replicas must have a mail's accept before
	// it is confirmed (WAIT; redis.min_replicas_ack), waiting at most
	// ReplicaAckTimeout (default 1s). 0: confirmed once the master has it.
	MinReplicasAck    int
	ReplicaAckTimeout time.Duration
	// MasterState, if set, tells how many times the Redis master has
	// changed (the sentinels' +switch-master announcements) and whether it
	// has settled since. An accept is confirmed only when the master was
	// settled and did not change while it was stored: a master that stalled
	// past its failover and resumed may run it, and a replica not yet moved
	// to the new master ack it, yet it is dropped with the old master's data.
	MasterState func() (changes int64, settled bool)
	// IdempotencyTTL is how long a submission's idempotency key (its
	// Message-ID, digest or Idempotency-Key) recognises a retry: 24h by
	// default. ReceiptIndexTTL is how long a submitted part's SMSC id finds
	// its message for a late receipt: 7 days by default.
	IdempotencyTTL, ReceiptIndexTTL time.Duration
	// EntryPerMessage queues every accepted message as an entry of its own,
	// as releases before grouped entries did; by default the messages one
	// accept call queues on a shard are one entry (fewer stream writes,
	// reads and acknowledgements a message). A release that does not know
	// grouped entries leaves them pending (an instance of this one claims
	// them after dispatch.claim_idle), so a rolling upgrade sets it until
	// every instance runs this release.
	EntryPerMessage bool
	// KeepAccepted keeps up to this many of the messages this process
	// accepted, as accepted, for its dispatcher to take instead of reading
	// each back from Redis (messages.Store.LoadFresh); 0 keeps none (an
	// instance that does not dispatch).
	KeepAccepted int
}

// DB is the Redis client, keyspace and script runner that every area store
// shares. It is safe for concurrent use; it keeps no state besides its
// options.
type DB struct {
	RDB redis.UniversalClient
	// Keys names every key (the prefix and shard count of Options).
	Keys         keyspace.Space
	Now          func() time.Time
	PasswordCost int
	// PasswordWork bounds the bcrypt comparisons running at once (a slot
	// per two CPUs, at least one).
	PasswordWork chan struct{}
	// Quotas are the default quotas (QuotasOf adds a parent's overrides).
	Quotas accounts.Quotas

	keyGuard bool
	onScript func(name string)

	minReplicas int
	replicaWait time.Duration
	masterState func() (int64, bool)

	memory *memoryGate // WatchMemory's last measure, for CheckStorage

	// IdempotencyTTL and ReceiptIndexTTL are Options', defaults applied.
	IdempotencyTTL, ReceiptIndexTTL time.Duration
	// EntryPerMessage and KeepAccepted are Options'.
	EntryPerMessage bool
	KeepAccepted    int
}

// NewDB returns a DB over rdb.
func NewDB(rdb redis.UniversalClient, opts Options) *DB {
	if opts.Shards <= 0 {
		opts.Shards = 1
	}
	if opts.Prefix == "" {
		opts.Prefix = "smsgate"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PasswordCost == 0 {
		opts.PasswordCost = accounts.DefaultPasswordCost
	}
	return &DB{RDB: rdb, Keys: keyspace.Space{Prefix: opts.Prefix, Shards: opts.Shards}, Now: opts.Now,
		PasswordCost: opts.PasswordCost, PasswordWork: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)),
		memory:         &memoryGate{},
		IdempotencyTTL: cmp.Or(opts.IdempotencyTTL, 24*time.Hour), ReceiptIndexTTL: cmp.Or(opts.ReceiptIndexTTL, 7*24*time.Hour),
		Quotas:   opts.Quotas.Or(accounts.DefaultQuotas()),
		keyGuard: opts.KeyGuard, onScript: opts.OnScript,
		minReplicas: opts.MinReplicasAck, replicaWait: cmp.Or(opts.ReplicaAckTimeout, time.Second),
		masterState: opts.MasterState, EntryPerMessage: opts.EntryPerMessage, KeepAccepted: max(opts.KeepAccepted, 0)}
}

// Shards returns the number of keyspace shards.
func (s *DB) Shards() int { return s.Keys.Shards }

// Ping checks that Redis answers (for /readyz).
func (s *DB) Ping(ctx context.Context) error {
	if err := s.RDB.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// ErrShardsChanged is what PinShards returns when Redis holds data written
// with another shard count.
var ErrShardsChanged = errors.New("the shard count differs from the one this Redis was set up with")

// PinShards records the shard count in Redis (<prefix>:shards) the first
// time a store of this deployment starts, and afterwards refuses to run
// with another count: keys are named by shard, so a changed count would
// strand every account tree whose shard moved.
func (s *DB) PinShards(ctx context.Context) error {
	key := s.Keys.ShardCount()
	want := strconv.Itoa(s.Keys.Shards)
	// Read first: an instance starting while Redis refuses writes (OOM, a
	// replica, a failed save) finds the count and starts; only the first
	// start of a deployment writes.
	old, err := s.RDB.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		old, err = s.RDB.SetArgs(ctx, key, want, redis.SetArgs{Mode: "NX", Get: true}).Result()
	}
	switch {
	case errors.Is(err, redis.Nil):
		return nil // first start: recorded
	case err != nil:
		return fmt.Errorf("record the shard count in %s: %w", key, err)
	case old != want:
		return fmt.Errorf("%w: %s holds %s and this instance is configured for %s; set redis.shards: %s",
			ErrShardsChanged, key, old, want, old)
	}
	return nil
}

// ScanKeys calls fn with every key matching pattern (SCAN MATCH), on every
// master of a Redis Cluster (a cluster client's SCAN sees one node only),
// one key at a time. A key may be seen twice if it is written or moved
// during the scan.
func (s *DB) ScanKeys(ctx context.Context, pattern string, fn func(key string) error) error {
	var mu sync.Mutex
	scan := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, pattern, 500).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			err := fn(iter.Val())
			mu.Unlock()
			if err != nil {
				return err
			}
		}
		if err := iter.Err(); err != nil {
			return fmt.Errorf("scan %s: %w", pattern, err)
		}
		return nil
	}
	if cc, ok := s.RDB.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	}
	return scan(ctx, s.RDB)
}

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns prefix followed by n bytes of randomness in lower-case
// Crockford base32, e.g. "acc_3k9v...".
func NewID(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return prefix + idEncoding.EncodeToString(b)
}

// RandomSecret returns n random bytes encoded for use in secrets.
func RandomSecret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return idEncoding.EncodeToString(b)
}

// NewShardedID returns an id of the given kind ("a" account, "m" message,
// "r" reply, "l" ledger entry) that names its shard (keyspace.ShardOf parses
// it), so that any id leads to its keys without a lookup:
// "<kind><shard>-<random>", e.g. "m0-9x8c7v6b5n4m3k2j".
func NewShardedID(kind string, shard int) string {
	return NewID(kind+strconv.Itoa(shard)+"-", 10)
}

// ShardFromID returns the shard named by an id from NewShardedID
// (keyspace.ShardOf); a malformed id or a shard this deployment does not
// have wraps ErrNotFound.
func (s *DB) ShardFromID(id string) (int, error) {
	n, ok := s.Keys.Shard(id)
	if !ok {
		return 0, fmt.Errorf("id %q: %w", id, accounts.ErrNotFound)
	}
	return n, nil
}
