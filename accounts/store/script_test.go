package store_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts/store"
	"github.com/smsgate/smsgate/accounts/storetest"
	"github.com/smsgate/smsgate/internal/redistest"
)

// TestKeyGuard runs small scripts under the key guard: declared keys pass,
// an undeclared one fails with an error naming the script, the command and
// the key, KEYS of two hash slots fail as on a Redis Cluster, and the same
// scripts run unguarded are left alone.
func TestKeyGuard(t *testing.T) {
	rdb := redistest.Start(t)
	guarded := store.NewDB(rdb, store.Options{KeyGuard: true})
	plain := store.NewDB(rdb, store.Options{})
	cases := []struct {
		name, src string
		keys      []string
		bad       string // "" when the guard lets the script run
	}{
		{"declared", "redis.call('SET', KEYS[1], 1) return redis.call('HSET', KEYS[2], 'f', 'v')",
			[]string{"{t}k1", "{t}k2"}, ""},
		{"undeclared", "redis.call('SET', KEYS[1], 1) return redis.call('SET', 'other', 1)",
			[]string{"{t}k1"}, "SET touches other, which is not in KEYS"},
		{"built from a declared key", "return redis.call('HGET', KEYS[1] .. ':x', 'f')",
			[]string{"{t}k1"}, "HGET touches {t}k1:x"},
		{"pcall", "return redis.pcall('GET', 'other')", nil, "GET touches other"},
		{"lower case", "return redis.call('get', 'other')", nil, "GET touches other"},
		{"every key of DEL", "return redis.call('DEL', KEYS[1], 'other')", []string{"{t}k1"}, "DEL touches other"},
		{"every key of EXISTS", "return redis.call('EXISTS', KEYS[1], KEYS[2])", []string{"{t}k1", "{t}k2"}, ""},
		{"only the first of HSET", "return redis.call('HSET', KEYS[1], 'not-a-key', 'v')", []string{"{t}k1"}, ""},
		{"keys of two hash slots", "return redis.call('EXISTS', KEYS[1])", []string{"{s0}:a", "{s1}:b"},
			"KEYS {s0}:a and {s1}:b are in different hash slots"},
		{"a tagged and an untagged key", "return 1", []string{"{s0}:a", "smsgate:domains"},
			"KEYS {s0}:a and smsgate:domains are in different hash slots"},
		{"one untagged key", "return redis.call('GET', KEYS[1])", []string{"smsgate:domains"}, ""},
		{"the key after a subcommand", "redis.call('XADD', KEYS[1], '*', 'f', 'v') return redis.call('XINFO', 'GROUPS', KEYS[1])",
			[]string{"{t}s"}, ""},
		{"an undeclared key after a subcommand", "redis.pcall('XINFO', 'GROUPS', 'other') return 1", nil, "XINFO touches other"},
		{"command without key positions", "return redis.call('KEYS', '*')", nil, "command KEYS has no key positions"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc := store.NewScript("test/"+strings.ReplaceAll(c.name, " ", "_")+".lua", c.src)
			err := guarded.Run(t.Context(), sc, c.keys).Err()
			if c.bad == "" {
				if err != nil && err.Error() != "redis: nil" {
					t.Fatalf("guarded: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), "key guard: "+sc.Name()+": ") ||
				!strings.Contains(err.Error(), c.bad) {
				t.Fatalf("guarded: err = %v, want the guard's %q", err, c.bad)
			}
			if c.name == "command without key positions" {
				return
			}
			if err := plain.Run(t.Context(), sc, c.keys).Err(); err != nil && err.Error() != "redis: nil" {
				t.Fatalf("unguarded: %v", err)
			}
		})
	}
}

// TestPromote moves the due ids of a retry zset, and only those, onto a
// stream under the field it is given.
func TestPromote(t *testing.T) {
	rdb := redistest.Start(t)
	db := store.NewDB(rdb, storetest.Guard(store.Options{}))
	ctx := t.Context()
	retry, stream := db.Keys.Retry(0), db.Keys.Queue(0)
	rdb.ZAdd(ctx, retry, redis.Z{Score: 100, Member: "m0-a"}, redis.Z{Score: 200, Member: "m0-b"},
		redis.Z{Score: 300, Member: "m0-c"})
	n, err := db.Promote(ctx, retry, stream, "m", 200, 10)
	if err != nil || n != 2 {
		t.Fatalf("Promote = %d, %v; want 2", n, err)
	}
	entries, err := rdb.XRange(ctx, stream, "-", "+").Result()
	if err != nil || len(entries) != 2 || entries[0].Values["m"] != "m0-a" || entries[1].Values["m"] != "m0-b" {
		t.Fatalf("stream = %v, %v", entries, err)
	}
	if left := rdb.ZRange(ctx, retry, 0, -1).Val(); len(left) != 1 || left[0] != "m0-c" {
		t.Fatalf("retry left %v", left)
	}
}

// TestMain fails the package when one of its scripts never ran under the
// key guard.
func TestMain(m *testing.M) { os.Exit(storetest.Main(m, "store")) }

// TestRunNotResent (issue 12): a script call that times out is not sent
// again by the Redis client (it may have run: running it twice would accept
// a mail or move money twice), while the client's retries stay on for the
// rest. The script counts its runs and keeps Redis busy for 300 ms: past
// the client's read timeout (200 ms), yet short enough that a retry's
// connection set-up gets its answer and the call goes again (with the
// client's retries it runs 4 times).
func TestRunNotResent(t *testing.T) {
	srv := redistest.StartServer(t, redistest.Options{})
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: srv.Socket, ReadTimeout: 200 * time.Millisecond, MaxRetries: 3})
	t.Cleanup(func() { _ = rdb.Close() })
	db := store.NewDB(rdb, store.Options{})
	sc := store.NewScript("test/slow.lua", `redis.call('INCR', KEYS[1])
local t0 = redis.call('TIME')
repeat local t = redis.call('TIME') until (t[1] - t0[1]) * 1000000 + (t[2] - t0[2]) > 300000
return 1`)
	if err := db.Run(t.Context(), sc, []string{"runs"}).Err(); err == nil {
		t.Fatal("a script longer than the read timeout answered in time")
	}
	// Run has returned, so any re-sent call is already written to Redis and
	// runs once the first is done; after the first, the probe below waits
	// while Redis is busy. A quiet period of two script lengths then shows
	// whether another run came (an absence cannot be awaited otherwise).
	probe := srv.Client(t)
	if err := probe.Get(t.Context(), "runs").Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	n, err := probe.Get(t.Context(), "runs").Int64()
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("the script ran %d times, want once", n)
	}
}

// TestPinShards: the first store records its shard count; a store with the
// same count starts, one with another count is refused with an error that
// names the recorded count.
func TestPinShards(t *testing.T) {
	rdb := redistest.Start(t)
	ctx := t.Context()
	first := store.NewDB(rdb, store.Options{Shards: 4})
	for range 2 {
		if err := first.PinShards(ctx); err != nil {
			t.Fatalf("PinShards(4): %v", err)
		}
	}
	if v := rdb.Get(ctx, first.Keys.ShardCount()).Val(); v != "4" {
		t.Fatalf("%s = %q, want 4", first.Keys.ShardCount(), v)
	}
	err := store.NewDB(rdb, store.Options{Shards: 16}).PinShards(ctx)
	if !errors.Is(err, store.ErrShardsChanged) || !strings.Contains(err.Error(), "set redis.shards: 4") {
		t.Fatalf("PinShards(16) after 4: %v", err)
	}
	// Another prefix is another deployment.
	if err := store.NewDB(rdb, store.Options{Shards: 16, Prefix: "other"}).PinShards(ctx); err != nil {
		t.Fatalf("another prefix: %v", err)
	}
}

// TestLease: one holder at a time; the holder renews it; another takes it
// once it has expired.
func TestLease(t *testing.T) {
	rdb := redistest.Start(t)
	db := store.NewDB(rdb, storetest.Guard(store.Options{}))
	ctx := t.Context()
	take := func(holder string, ttl time.Duration) bool {
		t.Helper()
		ok, err := db.Lease(ctx, "housekeeping", holder, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !take("a", time.Minute) {
		t.Fatal("a could not take a free lease")
	}
	if !take("a", time.Minute) {
		t.Fatal("a could not renew its lease")
	}
	if take("b", time.Minute) {
		t.Fatal("b took a lease a holds")
	}
	if !take("a", 50*time.Millisecond) { // a renews it, briefly, and then ends
		t.Fatal("a could not renew")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !take("b", time.Minute) {
		if time.Now().After(deadline) {
			t.Fatal("b never took the expired lease")
		}
		time.Sleep(10 * time.Millisecond) // waiting out a Redis TTL
	}
	if take("a", time.Minute) {
		t.Fatal("a took the lease back from b")
	}
}
