package messages_test

import (
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

// TestLoadFresh: the members of a grouped entry this store accepted are
// handed to the dispatcher as accepted, once, with what a read of the hash
// gives; a lone entry (which may be a retry or a released message), a
// member handed over before and one pushed out of the bound are read from
// Redis.
func TestLoadFresh(t *testing.T) {
	ctx := t.Context()
	s := storetest.New(t, redisstore.Options{Shards: 1, KeepAccepted: 4})
	a := storetest.AcceptTestAccount(t, s, 1000)
	ids := queueTestAccept(t, s, a.ID, 1, 1, 1, 1) // four members
	lone := queueTestAccept(t, s, a.ID, 1)         // kept too: the first member pushed out by the bound of 4
	es := storetest.QueueTestRead(t, s, "c", 5)
	if len(es) != 5 || !es[0].Grouped() || es[4].Grouped() || es[4].MessageID != lone[0] {
		t.Fatalf("entries %+v, want four grouped members and a lone one", es)
	}
	want, err := s.LoadMessages(ctx, []string{ids[0], ids[1], ids[2], ids[3], lone[0]})
	if err != nil {
		t.Fatal(err)
	}
	// Change every text in Redis: what LoadFresh returns from Redis shows.
	for _, id := range append(ids, lone[0]) {
		key, _, _ := s.MsgKey(id)
		s.RDB.HSet(ctx, key, "text", "changed")
	}
	got, err := s.LoadFresh(ctx, es)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range got {
		fromRedis := i == 0 || i == 4 // pushed out; lone
		if fromRedis != (m.Text == "changed") {
			t.Errorf("message %d: text %q, want it from Redis: %v", i, m.Text, fromRedis)
		}
		if fromRedis {
			continue
		}
		// As a read of the hash gives it (the fields the dispatcher uses).
		w := want[i]
		if m.ID != w.ID || m.AccountID != w.AccountID || m.Source != w.Source || m.To != w.To || m.Text != w.Text ||
			!m.CreatedAt.Equal(w.CreatedAt) || m.Status != accounts.MsgQueued || w.Status != accounts.MsgQueued ||
			m.Attempts != w.Attempts || m.Held != w.Held || len(m.PartIDs) != len(w.PartIDs) ||
			m.Coding != w.Coding || m.Parts != w.Parts || m.Sender != w.Sender || m.MailID != w.MailID || m.Price != w.Price {
			t.Errorf("message %d handed over as\n%+v\nread back as\n%+v", i, *m, *w)
		}
	}
	// Once: the second time they come from Redis.
	got, err = s.LoadFresh(ctx, es[1:4])
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range got {
		if m.Text != "changed" {
			t.Errorf("member %d handed over twice (text %q)", i+1, m.Text)
		}
	}
}
