package messages_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/messages"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

func TestMessages(t *testing.T) {
	ctx := t.Context()
	s := storetest.New(t, redisstore.Options{Now: storetest.MsgTestClock()})
	a := storetest.AcceptTestAccount(t, s, 1000)
	var ids []string
	for i := range 5 {
		res, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID,
			Messages: []*accounts.Message{storetest.AcceptTestMsg("6141111111"+strconv.Itoa(i), 1, 5)}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.IDs...)
	}

	t.Run("get", func(t *testing.T) {
		m, err := s.GetMessage(ctx, ids[2])
		if err != nil || m.To != "61411111112" || m.Coding != 0 || m.Parts != 1 || m.Attempts != 0 {
			t.Fatalf("GetMessage = %+v, %v", m, err)
		}
	})
	for _, id := range []string{"m0-nosuchmessage", "garbage", "m7-otherstore", ""} {
		t.Run("not found "+id, func(t *testing.T) {
			if _, err := s.GetMessage(ctx, id); !errors.Is(err, accounts.ErrNotFound) {
				t.Fatalf("GetMessage(%q) = %v, want ErrNotFound", id, err)
			}
		})
	}
	t.Run("load keeps order and gaps", func(t *testing.T) {
		ms, err := s.LoadMessages(ctx, []string{ids[4], "m0-missing", "bad", ids[0]})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 4 || ms[0].ID != ids[4] || ms[1] != nil || ms[2] != nil || ms[3].ID != ids[0] {
			t.Fatalf("LoadMessages = %v", ms)
		}
	})
	t.Run("list newest first", func(t *testing.T) {
		ms, err := s.ListMessages(ctx, a.ID, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 3 || ms[0].ID != ids[4] || ms[1].ID != ids[3] || ms[2].ID != ids[2] {
			t.Fatalf("ListMessages = %v", ms)
		}
		all, err := s.ListMessages(ctx, a.ID, 0)
		if err != nil || len(all) != 5 {
			t.Fatalf("ListMessages default limit = %d, %v", len(all), err)
		}
	})
	t.Run("list unknown account", func(t *testing.T) {
		if ms, err := s.ListMessages(ctx, "a0-nobody", 10); err != nil || len(ms) != 0 {
			t.Fatalf("ListMessages = %v, %v", ms, err)
		}
	})
}

// FuzzMsgFromHash checks that decoding a stored message never panics and
// reads back the numbers and times it is given.
func FuzzMsgFromHash(f *testing.F) {
	f.Add("5", "1700000000000", "8", "queued")
	f.Add("", "0", "x", "")
	f.Add("-3", "-1", "300", "delivered")
	f.Fuzz(func(t *testing.T, price, created, coding, status string) {
		m := messages.MsgFromHash("m0-x", map[string]string{"price": price, "created_at": created, "coding": coding, "status": status})
		if n, err := strconv.ParseInt(price, 10, 64); err == nil && m.Price != n {
			t.Fatalf("price %q read as %d", price, m.Price)
		}
		if n, err := strconv.ParseInt(created, 10, 64); err == nil && n != 0 && m.CreatedAt.UnixMilli() != n {
			t.Fatalf("created_at %q read as %v", created, m.CreatedAt)
		}
		if m.Status != accounts.MessageStatus(status) {
			t.Fatalf("status %q read as %q", status, m.Status)
		}
	})
}

// queryTestLog fills an account's log: one mail to 120 recipients accepted
// in one millisecond (a run of equal scores longer than a scan batch) and
// logged as releases before the log stream did, in a zset, then
// 40 single messages a second apart, from two senders, in several
// statuses, and after the 20th a mail to a group of 30 (one entry of the
// log stream). It returns every message, newest first (the log's order).
func queryTestLog(t *testing.T) (*redisstore.Store, *accounts.Account, []*accounts.Message) {
	t.Helper()
	ctx := t.Context()
	s := storetest.New(t, redisstore.Options{Now: storetest.MsgTestClock()})
	a := storetest.AcceptTestAccount(t, s, 100000)
	var bulk []*accounts.Message
	for i := range 120 {
		bulk = append(bulk, &accounts.Message{To: fmt.Sprintf("61422%06d", i), Text: "bulk", Parts: 1, Price: 5, Sender: "jo@acme.example"})
	}
	res, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID, Messages: bulk})
	if err != nil {
		t.Fatal(err)
	}
	// The bulk as a release before the log streams logged it: in a zset
	// scored by creation (equal scores ordered by id), read after the
	// stream.
	if err := s.RDB.Del(ctx, s.Keys.MessageStream(0, a.ID)).Err(); err != nil {
		t.Fatal(err)
	}
	for i, id := range res.IDs {
		if err := s.RDB.ZAdd(ctx, s.Keys.MessageLog(0, a.ID), redis.Z{Score: float64(bulk[i].CreatedAt.UnixMilli()), Member: id}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	statuses := []accounts.MessageStatus{accounts.MsgQueued, accounts.MsgDelivered, accounts.MsgFailed, accounts.MsgDelivered, accounts.MsgUndeliverable}
	// Then, in the stream, 40 single messages and, after the 20th, a mail
	// to a group of 30: one entry of the log holds the group's ids.
	var logged []string // in accept order
	accept := func(msgs []*accounts.Message) {
		t.Helper()
		res, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID, Messages: msgs})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range res.IDs {
			// Statuses are set directly: this test is about the query.
			st := statuses[len(logged)%len(statuses)]
			if err := s.RDB.HSet(ctx, s.Keys.Message(0, id), "status", string(st)).Err(); err != nil {
				t.Fatal(err)
			}
			logged = append(logged, id)
		}
	}
	for i := range 40 {
		sender := []string{"jo@acme.example", "Ann@acme.example"}[i%2]
		accept([]*accounts.Message{{To: fmt.Sprintf("61433%06d", i), Text: "single", Parts: 1, Price: 5, Sender: sender}})
		if i == 20 {
			var group []*accounts.Message
			for j := range 30 {
				group = append(group, &accounts.Message{To: fmt.Sprintf("61444%06d", j), Text: "group", Parts: 1, Price: 5, Sender: "Ann@acme.example"})
			}
			accept(group)
		}
	}
	if n := s.RDB.XLen(ctx, s.Keys.MessageStream(0, a.ID)).Val(); n != 41 {
		t.Fatalf("the log stream has %d entries, want 41 (the group's in one)", n)
	}
	// Newest first: the stream's from its end, then the zset's (equal
	// scores by id, descending).
	var want []string
	for i := len(logged) - 1; i >= 0; i-- {
		want = append(want, logged[i])
	}
	zset := slices.Clone(res.IDs)
	slices.Sort(zset)
	slices.Reverse(zset)
	want = append(want, zset...)
	all, err := s.ListMessages(ctx, a.ID, 1000)
	if err != nil || len(all) != 190 {
		t.Fatalf("ListMessages = %d, %v", len(all), err)
	}
	got := make([]string, len(all))
	for i, m := range all {
		got[i] = m.ID
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ListMessages order:\n got %v\nwant %v", got, want)
	}
	return s, a, all
}

func TestQueryMessages(t *testing.T) {
	ctx := t.Context()
	s, a, all := queryTestLog(t)
	mid := all[20].CreatedAt // the group's time (all[19:49])
	filters := []struct {
		name string
		q    accounts.MessageQuery
		keep func(m *accounts.Message) bool
	}{
		{"everything", accounts.MessageQuery{}, func(*accounts.Message) bool { return true }},
		{"sender, any case", accounts.MessageQuery{Sender: "ann@ACME.example"}, func(m *accounts.Message) bool { return m.Sender == "Ann@acme.example" }},
		{"status", accounts.MessageQuery{Status: accounts.MsgDelivered}, func(m *accounts.Message) bool { return m.Status == accounts.MsgDelivered }},
		{"number exact", accounts.MessageQuery{Number: "+61 433 000 007"}, func(m *accounts.Message) bool { return m.To == "61433000007" }},
		{"number digits", accounts.MessageQuery{Number: "00001"}, func(m *accounts.Message) bool { return strings.Contains(m.To, "00001") }},
		{"number that none has", accounts.MessageQuery{Number: "+61499999999"}, func(*accounts.Message) bool { return false }},
		{"from", accounts.MessageQuery{From: mid}, func(m *accounts.Message) bool { return !m.CreatedAt.Before(mid) }},
		{"to", accounts.MessageQuery{To: mid}, func(m *accounts.Message) bool { return m.CreatedAt.Before(mid) }},
		{"sender, status and period", accounts.MessageQuery{Sender: "jo@acme.example", Status: accounts.MsgQueued, To: mid},
			func(m *accounts.Message) bool {
				return m.Sender == "jo@acme.example" && m.Status == accounts.MsgQueued && m.CreatedAt.Before(mid)
			}},
	}
	for _, f := range filters {
		var want []string
		for _, m := range all {
			if f.keep(m) {
				want = append(want, m.ID)
			}
		}
		for _, limit := range []int{1, 7, 1000} {
			for _, scan := range []int{0, 13} {
				t.Run(fmt.Sprintf("%s limit %d scan %d", f.name, limit, scan), func(t *testing.T) {
					got := storetest.QueryTestPages(t, func(cursor string) ([]*accounts.Message, string, error) {
						q := f.q
						q.AccountID, q.Limit, q.Cursor, q.Scan = a.ID, limit, cursor, scan
						ms, next, err := s.QueryMessages(ctx, q)
						if len(ms) > limit {
							t.Fatalf("page of %d, limit %d", len(ms), limit)
						}
						return ms, next, err
					}, func(m *accounts.Message) string { return m.ID })
					if strings.Join(got, ",") != strings.Join(want, ",") {
						t.Fatalf("got %d ids, want %d:\n got %v\nwant %v", len(got), len(want), got, want)
					}
				})
			}
		}
	}
	t.Run("scan bound returns early with a cursor", func(t *testing.T) {
		ms, next, err := s.QueryMessages(ctx, accounts.MessageQuery{AccountID: a.ID, Number: "+61499999999", Scan: 30})
		if err != nil || len(ms) != 0 || next == "" {
			t.Fatalf("QueryMessages = %d messages, next %q, %v; want none and a cursor", len(ms), next, err)
		}
	})
	for _, c := range []string{"garbage!", "bm90IGEgY3Vyc29y", "MTIzLg"} {
		t.Run("bad cursor "+c, func(t *testing.T) {
			if _, _, err := s.QueryMessages(ctx, accounts.MessageQuery{AccountID: a.ID, Cursor: c}); !errors.Is(err, accounts.ErrInvalid) {
				t.Fatalf("QueryMessages = %v, want ErrInvalid", err)
			}
		})
	}
	t.Run("malformed account", func(t *testing.T) {
		if _, _, err := s.QueryMessages(ctx, accounts.MessageQuery{AccountID: "nope"}); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("QueryMessages = %v, want ErrNotFound", err)
		}
	})
}
