package webhook

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/smsgate/smsgate/internal/redistest"
)

// TestExpireLogs: attempts older than the cut leave a webhook's delivery log,
// newer ones stay, in order; an attempt logged between the sweep's read and
// its trim is not lost.
func TestExpireLogs(t *testing.T) {
	rdb := redistest.Start(t)
	s := newService(testOptions(t, rdb))
	ctx := t.Context()
	const acct = "a0-expire"
	w, _, err := s.Create(ctx, acct, "https://example.com/hook", nil)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := s.keys(acct)
	key := s.logKey(k.shard, w.ID)
	now := time.Now()
	push := func(age time.Duration, id string) {
		b, _ := json.Marshal(Attempt{At: now.Add(-age), DeliveryID: id, EventType: TypeMessageStatus, Attempt: 1, Result: "delivered"})
		if err := rdb.LPush(ctx, key, b).Err(); err != nil {
			t.Fatal(err)
		}
	}
	push(50*24*time.Hour, "d-old-1") // oldest first: the log is newest first
	push(40*24*time.Hour, "d-old-2")
	push(2*24*time.Hour, "d-new-1")
	push(time.Hour, "d-new-2")
	n, err := s.ExpireLogs(ctx, []string{acct, "a0-none"}, now.Add(-30*24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("expire: %d, %v; want 2", n, err)
	}
	got, err := s.Deliveries(ctx, acct, w.ID, 0)
	if err != nil || len(got) != 2 || got[0].DeliveryID != "d-new-2" || got[1].DeliveryID != "d-new-1" {
		t.Fatalf("the log after: %+v, %v", got, err)
	}
	if n, err := s.ExpireLogs(ctx, []string{acct}, now.Add(-30*24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("again: %d, %v", n, err)
	}
	// The trim drops only what is still the log's tail: here the cap took
	// it meanwhile, and the entry now at the tail is young.
	push(45*24*time.Hour, "d-late")
	old, _ := rdb.LIndex(ctx, key, 0).Result()
	rdb.LPop(ctx, key) // as if trimmed away between the read and the trim
	if n, err := s.db.Run(ctx, trimLogScript, []string{key}, old).Int(); err != nil || n != 0 {
		t.Fatalf("trimming an entry that is no longer the tail: %d, %v", n, err)
	}
	if l := rdb.LLen(ctx, key).Val(); l != 2 {
		t.Fatalf("the log has %d entries, want 2", l)
	}
}
