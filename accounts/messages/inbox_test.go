package messages_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/storetest"
)

func TestInbox(t *testing.T) {
	ctx := t.Context()
	s := storetest.AcceptTestStore(t, 2)
	a := storetest.AcceptTestAccount(t, s, 1000)
	res, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID,
		Messages: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)}})
	if err != nil {
		t.Fatal(err)
	}
	mid := res.IDs[0]
	es := storetest.QueueTestRead(t, s, "w1", 1)
	if err := s.MarkSubmitted(ctx, []accounts.Submitted{{Entry: es[0], Link: "carrier", Source: "61400000000", SMSCIDs: []string{"1"}}}); err != nil {
		t.Fatal(err)
	}
	at := time.UnixMilli(1_700_000_000_000)
	tests := []struct {
		name        string
		from, to    string
		wantAccount string
		wantMsg     string
	}{
		{name: "conversation", from: "61411111111", to: "61400000000", wantAccount: a.ID, wantMsg: mid},
		{name: "second reply", from: "61411111111", to: "61400000000", wantAccount: a.ID, wantMsg: mid},
		{name: "unknown sender number", from: "61499999999", to: "61400000000"},
		{name: "other number of ours", from: "61411111111", to: "61400000001"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, m, err := s.RouteReply(ctx, accounts.Reply{From: tc.from, To: tc.to, Text: "yes " + tc.name,
				Link: "carrier", ReceivedAt: at.Add(time.Duration(i) * time.Second)})
			if err != nil {
				t.Fatal(err)
			}
			if r.ID == "" || r.AccountID != tc.wantAccount || r.MessageID != tc.wantMsg {
				t.Fatalf("reply = %+v, want account %q message %q", r, tc.wantAccount, tc.wantMsg)
			}
			if (m != nil) != (tc.wantMsg != "") || (m != nil && m.ID != tc.wantMsg) {
				t.Fatalf("message = %+v, want %q", m, tc.wantMsg)
			}
			if tc.wantMsg != "" && r.Sender != "jo@acme.example" {
				t.Errorf("sender = %q", r.Sender)
			}
			got, err := s.GetReply(ctx, r.ID)
			if err != nil || *got != *r {
				t.Fatalf("GetReply = %+v, %v; stored %+v", got, err, r)
			}
		})
	}
	for _, c := range []struct {
		name, account string
		want          []string // texts, newest first
	}{
		{name: "account", account: a.ID, want: []string{"yes second reply", "yes conversation"}},
		{name: "unrouted", account: "", want: []string{"yes other number of ours", "yes unknown sender number"}},
	} {
		t.Run("list "+c.name, func(t *testing.T) {
			rs, err := s.ListInbox(ctx, c.account, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != len(c.want) {
				t.Fatalf("ListInbox = %d replies, want %d", len(rs), len(c.want))
			}
			for i, r := range rs {
				if r.Text != c.want[i] || r.AccountID != c.account {
					t.Errorf("reply %d = %+v, want text %q", i, r, c.want[i])
				}
			}
			if rs, _ := s.ListInbox(ctx, c.account, 1); len(rs) != 1 {
				t.Errorf("limit 1 gave %d", len(rs))
			}
		})
	}
	if _, err := s.GetReply(ctx, "r0-nosuchreply"); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("GetReply unknown = %v, want ErrNotFound", err)
	}
}

func TestQueryInbox(t *testing.T) {
	ctx := t.Context()
	s := storetest.AcceptTestStore(t, 1)
	a := storetest.AcceptTestAccount(t, s, 1000)
	// jo writes to ...01, ann to ...02; both answer many times.
	for _, m := range []struct{ sender, to string }{{"jo@acme.example", "61411111101"}, {"ann@acme.example", "61411111102"}} {
		if _, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID, Messages: []*accounts.Message{{
			To: m.to, Text: "hi", Parts: 1, Price: 5, Sender: m.sender}}}); err != nil {
			t.Fatal(err)
		}
	}
	es := storetest.QueueTestRead(t, s, "w1", 2)
	if err := s.MarkSubmitted(ctx, []accounts.Submitted{
		{Entry: es[0], Link: "c", Source: "61400000000", SMSCIDs: []string{"1"}},
		{Entry: es[1], Link: "c", Source: "61400000000", SMSCIDs: []string{"2"}},
	}); err != nil {
		t.Fatal(err)
	}
	base := time.UnixMilli(1_700_000_000_000)
	var all []*accounts.Reply // newest first, as the inbox orders them
	for i := range 90 {
		// Three replies share each millisecond.
		r, _, err := s.RouteReply(ctx, accounts.Reply{From: fmt.Sprintf("614111111%02d", 1+i%2), To: "61400000000",
			Text: fmt.Sprint("reply ", i), Link: "c", ReceivedAt: base.Add(time.Duration(i/3) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	sortReplies := func(rs []*accounts.Reply) {
		for i := 1; i < len(rs); i++ {
			for j := i; j > 0; j-- {
				x, y := rs[j-1], rs[j]
				if x.ReceivedAt.After(y.ReceivedAt) || x.ReceivedAt.Equal(y.ReceivedAt) && x.ID > y.ID {
					break
				}
				rs[j-1], rs[j] = y, x
			}
		}
	}
	sortReplies(all)
	mid := base.Add(10 * time.Second)
	for _, f := range []struct {
		name string
		q    accounts.InboxQuery
		keep func(r *accounts.Reply) bool
	}{
		{"everything", accounts.InboxQuery{}, func(*accounts.Reply) bool { return true }},
		{"replies to one sender", accounts.InboxQuery{Sender: "ANN@acme.example"}, func(r *accounts.Reply) bool { return r.Sender == "ann@acme.example" }},
		{"from a number", accounts.InboxQuery{Number: "+61411111101"}, func(r *accounts.Reply) bool { return r.From == "61411111101" }},
		{"period", accounts.InboxQuery{From: base.Add(3 * time.Second), To: mid}, func(r *accounts.Reply) bool {
			return !r.ReceivedAt.Before(base.Add(3*time.Second)) && r.ReceivedAt.Before(mid)
		}},
	} {
		var want []string
		for _, r := range all {
			if f.keep(r) {
				want = append(want, r.ID)
			}
		}
		for _, limit := range []int{1, 4, 100} {
			for _, scan := range []int{0, 5} {
				t.Run(fmt.Sprintf("%s limit %d scan %d", f.name, limit, scan), func(t *testing.T) {
					got := storetest.QueryTestPages(t, func(cursor string) ([]*accounts.Reply, string, error) {
						q := f.q
						q.AccountID, q.Limit, q.Cursor, q.Scan = a.ID, limit, cursor, scan
						return s.QueryInbox(ctx, q)
					}, func(r *accounts.Reply) string { return r.ID })
					if strings.Join(got, ",") != strings.Join(want, ",") {
						t.Fatalf("got %d replies, want %d:\n got %v\nwant %v", len(got), len(want), got, want)
					}
				})
			}
		}
	}
	t.Run("unrouted inbox", func(t *testing.T) {
		if _, _, err := s.RouteReply(ctx, accounts.Reply{From: "61499999999", To: "61400000000", Text: "who?"}); err != nil {
			t.Fatal(err)
		}
		rs, next, err := s.QueryInbox(ctx, accounts.InboxQuery{})
		if err != nil || len(rs) != 1 || rs[0].Text != "who?" || next != "" {
			t.Fatalf("QueryInbox unrouted = %v, %q, %v", rs, next, err)
		}
	})
}
