package messages_test

import (
	"context"
	"crypto/sha256"
	"strconv"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

// sameSlotKeys returns n idempotency keys of account whose entries go to
// the same slot's buckets, and that slot (accept.go: the first 12 bits of
// SHA-256 over the account and the key).
func sameSlotKeys(account string, n int) ([]string, uint16) {
	slot := func(key string) uint16 {
		h := sha256.Sum256([]byte(account + "\x00" + key))
		return uint16(h[0])<<4 | uint16(h[1]>>4)
	}
	keys := []string{"<0@acme.example>"}
	for i := 1; len(keys) < n; i++ {
		if k := "<" + strconv.Itoa(i) + "@acme.example>"; slot(k) == slot(keys[0]) {
			keys = append(keys, k)
		}
	}
	return keys, slot(keys[0])
}

// TestIdempotencyBucketExpiry: an idempotency bucket gets its expiry from
// the accept that makes it; accepts into it within the minute after do not
// look again (a bucket that lost its expiry stays without, which shows the
// look saved), and the first accept after the minute looks and gives it
// back its expiry.
func TestIdempotencyBucketExpiry(t *testing.T) {
	ctx := context.Background()
	clk := &storetest.StatsTestClock{}
	// Redis's own clock expires the buckets: the test's is the real one,
	// moved back if a day (a window) would begin within the test.
	now := time.Now()
	if day := 24 * time.Hour; now.Add(2*time.Minute).Truncate(day) != now.Truncate(day) {
		now = now.Add(-3 * time.Minute)
	}
	clk.Set(now)
	s := storetest.New(t, redisstore.Options{Shards: 1, Now: clk.Now})
	a := storetest.AcceptTestAccount(t, s, 1000)

	// Three idempotency keys whose entries share a bucket.
	keys, slot := sameSlotKeys(a.ID, 3)
	accept := func(key string) {
		t.Helper()
		if _, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID, IdempotencyKey: key,
			Messages: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)}}); err != nil {
			t.Fatal(err)
		}
	}
	epoch := clk.Now().UnixMilli() / (24 * time.Hour).Milliseconds()
	bucket := s.Keys.IdempotencyBucket(0, epoch, slot)
	pttl := func() time.Duration { return s.RDB.PTTL(ctx, bucket).Val() }

	accept(keys[0])
	if d := pttl(); d <= 0 {
		t.Fatalf("the new bucket's TTL is %v, want its expiry", d)
	}
	if err := s.RDB.Persist(ctx, bucket).Err(); err != nil { // as if a failover lost it
		t.Fatal(err)
	}
	clk.Set(clk.Now().Add(30 * time.Second))
	accept(keys[1])
	if d := pttl(); d != -1 {
		t.Errorf("within the minute: TTL %v, want none (the accept did not look)", d)
	}
	if n := s.RDB.HLen(ctx, bucket).Val(); n != 2 {
		t.Fatalf("%d entries in the bucket, want 2", n)
	}
	clk.Set(clk.Now().Add(31 * time.Second))
	accept(keys[2])
	if d := pttl(); d <= 0 {
		t.Errorf("after the minute: TTL %v, want the expiry back", d)
	}
}

// TestIdempotencyBucketNextWindow: a slot's bucket of the next window is
// another bucket, and gets its expiry at once, though the slot's bucket of
// the window before was seen to seconds earlier.
func TestIdempotencyBucketNextWindow(t *testing.T) {
	ctx := context.Background()
	clk := &storetest.StatsTestClock{}
	day := 24 * time.Hour
	// The windows end in the future of Redis's clock, which expires them.
	epoch := time.Now().UnixMilli() / day.Milliseconds()
	clk.Set(time.UnixMilli((epoch+1)*day.Milliseconds() - 10_000))
	s := storetest.New(t, redisstore.Options{Shards: 1, Now: clk.Now})
	a := storetest.AcceptTestAccount(t, s, 1000)
	keys, slot := sameSlotKeys(a.ID, 2)
	for i, k := range keys {
		if _, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID, IdempotencyKey: k,
			Messages: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)}}); err != nil {
			t.Fatal(err)
		}
		bucket := s.Keys.IdempotencyBucket(0, epoch+int64(i), slot)
		if d := s.RDB.PTTL(ctx, bucket).Val(); d <= 0 {
			t.Errorf("the bucket of window %d: TTL %v, want its expiry", i, d)
		}
		clk.Set(clk.Now().Add(20 * time.Second)) // into the next window
	}
}
