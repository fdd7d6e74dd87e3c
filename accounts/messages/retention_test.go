package messages_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/messages"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

// TestExpireOld: records older than the retention go, with their own keys
// and log entries (messages of a parent and of a sub-account, replies routed
// and unrouted, blocked recipients); newer ones stay; a kind kept for ever
// (0) is not touched; a second run finds nothing more.
func TestExpireOld(t *testing.T) {
	ctx := t.Context()
	s := storetest.AcceptTestStore(t, 2)
	var clock storetest.StatsTestClock
	s.Now = clock.Now
	now := time.UnixMilli(1_800_000_000_000)
	old, recent := now.Add(-100*24*time.Hour), now.Add(-24*time.Hour)

	clock.Set(old)
	root, sub := storetest.AcceptTestTree(t, s, 1000, 3000, accounts.Account{Name: "Sub", PricePerPart: 5})
	accept := func(acct, to string) string {
		t.Helper()
		res, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: acct,
			Messages: []*accounts.Message{storetest.AcceptTestMsg(to, 1, 5)}})
		if err != nil {
			t.Fatal(err)
		}
		return res.IDs[0]
	}
	oldRoot, oldSub := accept(root.ID, "61411111111"), accept(sub.ID, "61411111112")
	// A mail to a group of 250: one entry of the log, more keys than one
	// sweep call takes.
	var group []*accounts.Message
	for i := range 250 {
		group = append(group, storetest.AcceptTestMsg(fmt.Sprintf("61422%06d", i), 1, 5))
	}
	res, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: sub.ID, Messages: group})
	if err != nil {
		t.Fatal(err)
	}
	oldGroup := res.IDs
	// The root's old message as a release before the log streams logged
	// it: in the zset, which is expired too.
	rootShard, _ := s.ShardFromID(root.ID)
	if err := s.RDB.Del(ctx, s.Keys.MessageStream(rootShard, root.ID)).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.RDB.ZAdd(ctx, s.Keys.MessageLog(rootShard, root.ID), redis.Z{Score: float64(old.UnixMilli()), Member: oldRoot}).Err(); err != nil {
		t.Fatal(err)
	}
	oldBlocked, err := s.RecordRefusedOptOut(ctx, sub.ID, "alice@example.com", "61411111113")
	if err != nil {
		t.Fatal(err)
	}
	oldReply, _, err := s.RouteReply(ctx, accounts.Reply{From: "61499999999", To: "61400000009", Text: "old", ReceivedAt: old})
	if err != nil {
		t.Fatal(err)
	}
	clock.Set(recent)
	newSub := accept(sub.ID, "61411111114")
	newReply, _, err := s.RouteReply(ctx, accounts.Reply{From: "61499999999", To: "61400000009", Text: "new", ReceivedAt: recent})
	if err != nil {
		t.Fatal(err)
	}

	keep := 90 * 24 * time.Hour
	got, err := s.ExpireOld(ctx, messages.Retention{Messages: keep, Inbox: keep, Blocked: keep}, now)
	if err != nil {
		t.Fatal(err)
	}
	if got != (messages.Expired{Messages: 252, Replies: 1, Blocked: 1}) {
		t.Errorf("expired %+v, want 252 messages, 1 reply, 1 blocked", got)
	}
	for _, id := range append([]string{oldRoot, oldSub, oldBlocked}, oldGroup...) {
		if _, err := s.GetMessage(ctx, id); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("old message %s: %v, want it gone", id, err)
		}
	}
	if _, err := s.GetReply(ctx, oldReply.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("old reply: %v, want it gone", err)
	}
	if m, err := s.GetMessage(ctx, newSub); err != nil || m.ID != newSub {
		t.Errorf("recent message: %v", err)
	}
	if r, err := s.GetReply(ctx, newReply.ID); err != nil || r.Text != "new" {
		t.Errorf("recent reply: %v", err)
	}
	subShard, _ := s.ShardFromID(sub.ID)
	if n := s.RDB.XLen(ctx, s.Keys.MessageStream(subShard, sub.ID)).Val(); n != 1 {
		t.Errorf("the sub-account's log stream holds %d entries, want the recent one", n)
	}
	if n := s.RDB.ZCard(ctx, s.Keys.MessageLog(rootShard, root.ID)).Val(); n != 0 {
		t.Errorf("the root's log zset of an earlier release holds %d entries, want none", n)
	}
	if msgs, _ := s.ListMessages(ctx, sub.ID, 10); len(msgs) != 1 || msgs[0].ID != newSub {
		t.Errorf("the sub-account's log lists %d messages, want the recent one", len(msgs))
	}
	if msgs, _ := s.ListMessages(ctx, root.ID, 10); len(msgs) != 0 {
		t.Errorf("the parent's log lists %d messages, want none", len(msgs))
	}
	if again, err := s.ExpireOld(ctx, messages.Retention{Messages: keep, Inbox: keep, Blocked: keep}, now); err != nil || again != (messages.Expired{}) {
		t.Errorf("second run: %+v, %v; want nothing", again, err)
	}
	// Kept for ever: nothing goes, however old.
	if none, err := s.ExpireOld(ctx, messages.Retention{}, now.Add(1000*24*time.Hour)); err != nil || none != (messages.Expired{}) {
		t.Errorf("retention 0: %+v, %v", none, err)
	}
}

// TestRetentionTTLs: a submission's idempotency key and a submitted part's
// SMSC-id index live as long as the store is told (retention.idempotency,
// retention.receipt_index).
func TestRetentionTTLs(t *testing.T) {
	ctx := t.Context()
	s := storetest.New(t, redisstore.Options{IdempotencyTTL: 90 * time.Second, ReceiptIndexTTL: 45 * time.Minute})
	a := storetest.AcceptTestAccount(t, s, 100)
	key := "<ttl@example.com>"
	if _, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID, IdempotencyKey: key,
		Messages: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)}}); err != nil {
		t.Fatal(err)
	}
	// The bucket of a submission spans the window and expires a window
	// after its end: 90s to 180s from now.
	var buckets []string
	_ = s.ScanKeys(ctx, s.Keys.Prefix+":{*}:idem:*", func(k string) error { buckets = append(buckets, k); return nil })
	if len(buckets) != 1 {
		t.Fatalf("idempotency buckets %v, want one", buckets)
	}
	if ttl := s.RDB.TTL(ctx, buckets[0]).Val(); ttl < 89*time.Second || ttl > 180*time.Second {
		t.Errorf("idempotency bucket TTL %v, want 90s to 180s", ttl)
	}
	e := storetest.QueueTestRead(t, s, "w1", 1)[0]
	if err := s.MarkSubmitted(ctx, []accounts.Submitted{{Entry: e, Link: "l1", SMSCIDs: []string{"ABC1"}}}); err != nil {
		t.Fatal(err)
	}
	var idx []string
	_ = s.ScanKeys(ctx, s.Keys.SMSCMessage("l1", "*"), func(k string) error { idx = append(idx, k); return nil })
	if len(idx) != 1 {
		t.Fatalf("SMSC-id index keys %v", idx)
	}
	if ttl := s.RDB.TTL(ctx, idx[0]).Val(); ttl <= 44*time.Minute || ttl > 45*time.Minute {
		t.Errorf("SMSC-id index TTL %v, want 45m", ttl)
	}
}
