package money_test

import (
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

// TestCompactLedger: the entries before the cut-off become one signed-off
// opening entry; the later entries stay as they were; the ledger still
// sums to the balance, and money keeps moving afterwards. A ledger that
// does not balance is refused, not compacted.
func TestCompactLedger(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		// Entry ids are Redis's clock (unix ms): the cut-off is a moment
		// between the old entries and the recent one.
		a := storetest.AcctMustCreate(t, s, accounts.Account{Name: "A", Currency: "AUD"})
		for _, amt := range []int64{100, -30, 50, -20} { // four old entries: 100
			var err error
			if amt > 0 {
				_, err = s.Credit(ctx, a.ID, amt, "old", "op")
			} else {
				_, err = s.Debit(ctx, a.ID, -amt, "old", "op")
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(2 * time.Millisecond) // the next millisecond of the stream ids
		cut := time.Now()
		time.Sleep(2 * time.Millisecond)
		if _, err := s.Credit(ctx, a.ID, 7, "recent", "op"); err != nil {
			t.Fatal(err)
		}
		before, _ := s.Ledger(ctx, a.ID, 0)

		n, sum, err := s.CompactLedger(ctx, a.ID, cut, "auditor@example.com")
		if err != nil || n != 4 || sum != 100 {
			t.Fatalf("CompactLedger = %d, %d, %v; want 4 entries summing to 100", n, sum, err)
		}
		after, _ := s.Ledger(ctx, a.ID, 0) // newest first
		if len(after) != 2 || after[0] != before[0] {
			t.Fatalf("after: %+v; want the recent entry unchanged and one opening entry", after)
		}
		op := after[1]
		if op.Kind != "opening" || op.Amount != 100 || op.Balance != 100 || op.Actor != "auditor@example.com" ||
			!strings.Contains(op.Ref, "4 entries") || !strings.Contains(op.Ref, "sha1 ") || op.ID != before[1].ID {
			t.Errorf("opening entry %+v", op)
		}
		if b := storetest.CheckLedger(t, s, a.ID, true); b != 107 {
			t.Errorf("balance %d, want 107", b)
		}
		if _, err := s.Debit(ctx, a.ID, 7, "later", "op"); err != nil {
			t.Fatal(err)
		}
		storetest.CheckLedger(t, s, a.ID, true)
		// Compacting again at the same cut-off: only the opening entry is
		// that old, nothing to do.
		if n, _, err := s.CompactLedger(ctx, a.ID, cut, "auditor@example.com"); err != nil || n != 0 {
			t.Errorf("again: %d, %v; want nothing", n, err)
		}

		// A ledger whose entries do not add up is refused as it is.
		b := storetest.AcctMustCreate(t, s, accounts.Account{Name: "B", Currency: "AUD"})
		for range 2 {
			if _, err := s.Credit(ctx, b.ID, 10, "x", "op"); err != nil {
				t.Fatal(err)
			}
		}
		shard, _ := s.ShardFromID(b.ID)
		if err := s.RDB.XAdd(ctx, &redis.XAddArgs{Stream: s.Keys.Ledger(shard, b.ID),
			Values: []any{"amount", 5, "balance", 99, "kind", "bogus", "at", time.Now().UnixMilli()}}).Err(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
		if _, _, err := s.CompactLedger(ctx, b.ID, time.Now(), "auditor@example.com"); err == nil ||
			!strings.Contains(err.Error(), "ledger does not balance") {
			t.Errorf("an unbalanced ledger: %v, want it refused", err)
		}
		if l, _ := s.Ledger(ctx, b.ID, 0); len(l) != 3 {
			t.Errorf("the refused ledger has %d entries, want its 3 untouched", len(l))
		}
		if _, _, err := s.CompactLedger(ctx, a.ID, cut, ""); err == nil {
			t.Error("compaction without an actor was accepted")
		}
	})
}
