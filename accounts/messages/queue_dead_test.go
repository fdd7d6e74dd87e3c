package messages_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/messages"
	"github.com/smsgate/smsgate/accounts/storetest"
)

// TestRemoveDeadConsumers: restarts leave consumers behind in the group;
// those with nothing pending go, one holding entries stays (until they are
// claimed), and the caller's own name is kept.
func TestRemoveDeadConsumers(t *testing.T) {
	ctx := t.Context()
	s := storetest.AcceptTestStore(t, 1)
	a := storetest.AcceptTestAccount(t, s, 1000)
	if err := s.EnsureGroups(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID,
			Messages: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)}}); err != nil {
			t.Fatal(err)
		}
	}
	busy := storetest.QueueTestRead(t, s, "busy-1", 1) // holds one entry
	done := storetest.QueueTestRead(t, s, "dead-1", 1)
	if err := s.Ack(ctx, done[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.RDB.XGroupCreateConsumer(ctx, s.Keys.Queue(0), messages.QueueGroup, "self").Err(); err != nil {
		t.Fatal(err)
	}
	n, err := s.RemoveDeadConsumers(ctx, "self", 0)
	if err != nil || n != 1 {
		t.Fatalf("removed %d, %v; want the one with nothing pending", n, err)
	}
	cs, err := s.RDB.XInfoConsumers(ctx, s.Keys.Queue(0), messages.QueueGroup).Result()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"busy-1", "self"}) || len(busy) != 1 {
		t.Fatalf("consumers left %v", names)
	}
	// A long idle threshold removes nothing that was just active.
	if n, err := s.RemoveDeadConsumers(context.WithoutCancel(ctx), "other", time.Hour); err != nil || n != 0 {
		t.Fatalf("with an hour's threshold: %d, %v", n, err)
	}
}
