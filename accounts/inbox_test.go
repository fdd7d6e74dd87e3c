package accounts

import (
	"errors"
	"testing"
	"time"
)

func TestInbox(t *testing.T) {
	ctx := t.Context()
	s := acceptTestStore(t, 2)
	a := acceptTestAccount(t, s, 1000)
	res, err := s.Accept(ctx, AcceptRequest{AccountID: a.ID,
		Messages: []*Message{acceptTestMsg("61411111111", 1, 5)}})
	if err != nil {
		t.Fatal(err)
	}
	mid := res.IDs[0]
	es := queueTestRead(t, s, "w1", 1)
	if err := s.MarkSubmitted(ctx, []Submitted{{Entry: es[0], Link: "carrier", Source: "61400000000", SMSCIDs: []string{"1"}}}); err != nil {
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
			r, m, err := s.RouteReply(ctx, Reply{From: tc.from, To: tc.to, Text: "yes " + tc.name,
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
	if _, err := s.GetReply(ctx, "r0-nosuchreply"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetReply unknown = %v, want ErrNotFound", err)
	}
}
