package messages_test

import (
	"sync"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

// TestPickPoolSources: two accounts texting one phone get different pool
// numbers, each sticky; a third with the pool exhausted for that phone gets
// none; another phone is independent; a conversation that expired frees
// its number; concurrent picks never share a number.
func TestPickPoolSources(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	ctx := t.Context()
	pool := []string{"61480000001", "61480000002"}
	ttl := time.Hour
	pick := func(acct, sender string, phones ...string) []string {
		t.Helper()
		got, err := s.PickPoolSources(ctx, acct, sender, phones, pool, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	phone, other := "61412345678", "61412345679"
	a := pick("a1", "alice@a.example", phone, other)
	if a[0] != pool[0] || a[1] != pool[0] {
		t.Fatalf("first pick %v", a)
	}
	if b := pick("b1", "bob@b.example", phone); b[0] != pool[1] {
		t.Fatalf("second account on the same phone got %v, want %s", b, pool[1])
	}
	if b := pick("b1", "bob@b.example", other); b[0] != pool[1] && b[0] != pool[0] {
		t.Fatalf("other phone %v", b)
	}
	if a := pick("a1", "alice@a.example", phone); a[0] != pool[0] {
		t.Fatalf("sticky: %v", a)
	}
	// Another sender of the same account is another conversation.
	if c := pick("a1", "carol@a.example", phone); c[0] != "" {
		t.Fatalf("third owner on the phone got %v, want none (exhausted)", c)
	}
	// Conversations expire: after the ttl the number is free again.
	for _, k := range []string{s.Keys.PoolOwner(phone, pool[0])} {
		s.RDB.PExpire(ctx, k, time.Millisecond)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.RDB.Exists(ctx, s.Keys.PoolOwner(phone, pool[0])).Val() == 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if c := pick("a1", "carol@a.example", phone); c[0] != pool[0] {
		t.Fatalf("after expiry: %v", c)
	}

	// Concurrent owners on a fresh phone: each number to exactly one.
	fresh := "61499999999"
	var mu sync.Mutex
	got := map[string][]string{}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.PickPoolSources(ctx, "acct", string(rune('a'+i))+"@x.example", []string{fresh}, pool, ttl)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got[r[0]] = append(got[r[0]], string(rune('a'+i)))
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(got[pool[0]]) != 1 || len(got[pool[1]]) != 1 || len(got[""]) != 6 {
		t.Fatalf("concurrent picks %v", got)
	}
}
