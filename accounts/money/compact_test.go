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

// TestCompactLedger: the entries before the cut-off are folded into a
// signed-off opening balance and trimmed from the stream; the later entries
// stay as they were; the ledger (read whole or by pages) still sums to the
// balance, money keeps moving, and a second compaction folds into the
// first. A ledger that does not balance is refused, not compacted.
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
		shard, _ := s.ShardFromID(a.ID)
		if n := s.RDB.XLen(ctx, s.Keys.Ledger(shard, a.ID)).Val(); n != 1 {
			t.Errorf("the stream holds %d entries after compaction, want 1 (the rest trimmed)", n)
		}
		p1, next, err := s.LedgerPage(ctx, a.ID, "", 1)
		if err != nil || len(p1) != 1 || p1[0] != before[0] || next == "" {
			t.Fatalf("page 1: %+v next %q %v", p1, next, err)
		}
		p2, next, err := s.LedgerPage(ctx, a.ID, next, 1)
		if err != nil || len(p2) != 1 || p2[0].Kind != "opening" || next != "" {
			t.Fatalf("page 2: %+v next %q %v, want the opening entry, last", p2, next, err)
		}
		if _, err := s.Debit(ctx, a.ID, 7, "later", "op"); err != nil {
			t.Fatal(err)
		}
		storetest.CheckLedger(t, s, a.ID, true)
		// Compacting again at the same cut-off: nothing left that old.
		if n, _, err := s.CompactLedger(ctx, a.ID, cut, "auditor@example.com"); err != nil || n != 0 {
			t.Errorf("again: %d, %v; want nothing", n, err)
		}
		// Later, everything so far: folded into the same opening balance.
		time.Sleep(2 * time.Millisecond)
		if n, sum, err := s.CompactLedger(ctx, a.ID, time.Now(), "auditor@example.com"); err != nil || n != 2 || sum != 0 {
			t.Errorf("second compaction: %d, %d, %v; want 2 entries summing to 0", n, sum, err)
		}
		if l, _ := s.Ledger(ctx, a.ID, 0); len(l) != 1 || l[0].Amount != 100 || l[0].Balance != 100 || !strings.Contains(l[0].Ref, "6 entries") {
			t.Errorf("after the second compaction: %+v", l)
		}
		storetest.CheckLedger(t, s, a.ID, true)

		// A ledger whose entries do not add up is refused as it is.
		b := storetest.AcctMustCreate(t, s, accounts.Account{Name: "B", Currency: "AUD"})
		for range 2 {
			if _, err := s.Credit(ctx, b.ID, 10, "x", "op"); err != nil {
				t.Fatal(err)
			}
		}
		shardB, _ := s.ShardFromID(b.ID)
		if err := s.RDB.XAdd(ctx, &redis.XAddArgs{Stream: s.Keys.Ledger(shardB, b.ID),
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
