package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
)

// seedConversation stores one message for acct through the real pipeline
// steps (accept, dispatch read, submit) and a reply to it, and returns both
// ids.
func (f *fixture) seedConversation(acct *accounts.Account, to string) (msgID, replyID string) {
	f.t.Helper()
	ctx := f.t.Context()
	f.expect(f.rootKey, "POST", "/v1/accounts/"+acct.ID+"/credit", map[string]any{"amount": 100}, http.StatusOK, nil)
	res, err := f.store.Accept(ctx, accounts.AcceptRequest{AccountID: acct.ID, Messages: []*accounts.Message{{
		To: to, Text: "hello", Parts: 1, Price: 5, Sender: "jo@example.com", Source: "61400000001",
	}}})
	if err != nil {
		f.t.Fatalf("accept: %v", err)
	}
	if err := f.store.EnsureGroups(ctx); err != nil {
		f.t.Fatal(err)
	}
	entries, err := f.store.Read(ctx, "test", 10, 100*time.Millisecond)
	if err != nil || len(entries) != 1 {
		f.t.Fatalf("read queue: %d entries, %v", len(entries), err)
	}
	err = f.store.MarkSubmitted(ctx, []accounts.Submitted{{Entry: entries[0], Link: "sim", Source: "61400000001", SMSCIDs: []string{"x" + to}}})
	if err != nil {
		f.t.Fatalf("mark submitted: %v", err)
	}
	r, _, err := f.store.RouteReply(ctx, accounts.Reply{From: to, To: "61400000001", Text: "yes", Link: "sim"})
	if err != nil {
		f.t.Fatalf("route reply: %v", err)
	}
	if r.AccountID != acct.ID {
		f.t.Fatalf("reply routed to %q, want %s", r.AccountID, acct.ID)
	}
	return res.IDs[0], r.ID
}

func TestMessagesAndInbox(t *testing.T) {
	f := newFixture(t)
	msgA, replyA := f.seedConversation(f.subA, "61412000001")
	msgB, replyB := f.seedConversation(f.subB, "61412000002")

	var ml messageList
	f.expect(f.subAKey, "GET", "/v1/messages", nil, http.StatusOK, &ml)
	if len(ml.Messages) != 1 || ml.Messages[0].ID != msgA {
		t.Fatalf("A's messages %+v", ml.Messages)
	}
	f.expect(f.rootKey, "GET", "/v1/messages?account="+f.subB.ID+"&limit=5", nil, http.StatusOK, &ml)
	if len(ml.Messages) != 1 || ml.Messages[0].ID != msgB {
		t.Fatalf("B's messages seen by root %+v", ml.Messages)
	}
	var rl replyList
	f.expect(f.subAKey, "GET", "/v1/inbox?account="+f.subA.ID, nil, http.StatusOK, &rl)
	if len(rl.Replies) != 1 || rl.Replies[0].ID != replyA || rl.Replies[0].MessageID != msgA {
		t.Fatalf("A's inbox %+v", rl.Replies)
	}
	f.expect(f.subAKey, "GET", "/v1/messages/"+msgA, nil, http.StatusOK, nil)
	f.expect(f.subAKey, "GET", "/v1/inbox/"+replyA, nil, http.StatusOK, nil)
	f.expect(f.rootKey, "GET", "/v1/messages/"+msgB, nil, http.StatusOK, nil)
	f.expect(f.rootKey, "GET", "/v1/inbox/"+replyB, nil, http.StatusOK, nil)

	for _, tc := range []struct {
		name, key, path string
		status          int
	}{
		{"other tenant's message", f.subAKey, "/v1/messages/" + msgB, http.StatusNotFound},
		{"other tenant's reply", f.subAKey, "/v1/inbox/" + replyB, http.StatusNotFound},
		{"other tenant's message list", f.subAKey, "/v1/messages?account=" + f.subB.ID, http.StatusNotFound},
		{"other tenant's inbox", f.subBKey, "/v1/inbox?account=" + f.subA.ID, http.StatusNotFound},
		{"parent's messages", f.subAKey, "/v1/messages?account=" + f.root.ID, http.StatusNotFound},
		{"unknown message", f.rootKey, "/v1/messages/m0-nothinghere", http.StatusNotFound},
		{"malformed id", f.rootKey, "/v1/inbox/zzz", http.StatusNotFound},
		{"bad limit", f.subAKey, "/v1/messages?limit=0", http.StatusBadRequest},
		{"huge limit", f.subAKey, "/v1/inbox?limit=100000", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := f.problem(tc.key, "GET", tc.path, nil, tc.status)
			// Another tenant's message reads exactly like a missing one.
			if tc.status == http.StatusNotFound && !strings.HasSuffix(p.Detail, " not found") {
				t.Fatalf("detail %q", p.Detail)
			}
		})
	}
}
