package money_test

import (
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

// TestExpireStats: the sweep deletes every account's statistics days before
// the cut, each day once (the next sweep starts where it stopped), and
// leaves the days from the cut on.
func TestExpireStats(t *testing.T) {
	s := storetest.New(t, redisstore.Options{Shards: 4})
	ctx := t.Context()
	a := statsTestAccount(t, s)
	b := storetest.AcceptTestAccount(t, s, 1000)
	today := accounts.StatsDay(time.Now())
	shardA, _ := s.ShardFromID(a.ID)
	shardB, _ := s.ShardFromID(b.ID)
	for _, d := range []int64{today - 300, today - 10, today - 3, today - 2, today} {
		for _, k := range []string{s.Keys.Stats(shardA, a.ID, d), s.Keys.Stats(shardB, b.ID, d)} {
			if err := s.RDB.HSet(ctx, k, "m:jo@example.com", 1).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	exists := func(acct string, shard int, d int64) bool {
		return s.RDB.Exists(ctx, s.Keys.Stats(shard, acct, d)).Val() == 1
	}
	n, err := s.ExpireStats(ctx, []string{a.ID, b.ID}, today-2)
	if err != nil || n != 6 {
		t.Fatalf("first sweep: %d deleted, %v; want 6 (days -300, -10, -3 of both)", n, err)
	}
	for _, d := range []int64{today - 2, today} {
		if !exists(a.ID, shardA, d) || !exists(b.ID, shardB, d) {
			t.Fatalf("day %d (from the cut on) is gone", d-today)
		}
	}
	if n, err := s.ExpireStats(ctx, []string{a.ID, b.ID}, today-2); err != nil || n != 0 {
		t.Fatalf("the same sweep again: %d, %v", n, err)
	}
	// The next day's sweep deletes only the day that came past the cut.
	if n, err := s.ExpireStats(ctx, []string{a.ID, b.ID}, today-1); err != nil || n != 2 {
		t.Fatalf("the next day's sweep: %d, %v; want 2", n, err)
	}
	if exists(a.ID, shardA, today-2) || !exists(a.ID, shardA, today) {
		t.Fatal("the next sweep deleted the wrong days")
	}
	// What the sweep left reads as it did.
	st, err := s.Stats(ctx, a.ID, time.Now().AddDate(0, 0, -1), time.Now(), "")
	if err != nil || st.Total.Messages != 1 {
		t.Fatalf("today's statistics after the sweeps: %+v, %v", st, err)
	}
}
