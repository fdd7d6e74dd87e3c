package api

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
)

// inboxTestReply stores a message of acct sent by sender to number, and a
// reply from that number, and returns the reply's id.
func (f *fixture) inboxTestReply(acct *accounts.Account, sender, number string) string {
	f.t.Helper()
	ctx := f.t.Context()
	if _, err := f.store.Credit(ctx, acct.ID, 10, "seed", "test"); err != nil {
		f.t.Fatalf("credit: %v", err)
	}
	res, err := f.store.Accept(ctx, accounts.AcceptRequest{AccountID: acct.ID, Messages: []*accounts.Message{{
		To: number, Text: "hi", Parts: 1, Price: 5, Sender: sender, Source: "61400000001"}}})
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
	if err := f.store.MarkSubmitted(ctx, []accounts.Submitted{{Entry: entries[0], Link: "sim", Source: "61400000001",
		SMSCIDs: []string{"s" + number}}}); err != nil {
		f.t.Fatalf("mark submitted: %v", err)
	}
	// Replies made in the same millisecond would list in no fixed order:
	// space them by the number's last digit, in milliseconds.
	at := time.Now().Truncate(time.Second).Add(time.Duration(number[len(number)-1]-'0') * time.Millisecond)
	r, _, err := f.store.RouteReply(ctx, accounts.Reply{From: number, To: "61400000001", Text: "re " + sender, Link: "sim", ReceivedAt: at})
	if err != nil || r.MessageID != res.IDs[0] {
		f.t.Fatalf("route reply: %+v, %v", r, err)
	}
	return r.ID
}

// TestInboxState: marking replies read and archived, who may, and the
// inbox list's state filter.
func TestInboxState(t *testing.T) {
	f := newFixture(t)
	f.logTestGrant(f.subA)
	jo := f.inboxTestReply(f.subA, "jo@example.com", "61412000001")
	ann := f.inboxTestReply(f.subA, "ann@example.com", "61412000002")
	joKey := f.logTestUserKey(f.subA, "jo@example.com", accounts.RoleBasic)

	steps := []struct {
		name   string
		key    string
		id     string
		body   any
		status int
		detail string // for problems
		read   bool   // want read_at set
		arch   bool   // want archived_at set
	}{
		{name: "basic user marks their own reply read", key: joKey, id: jo, body: map[string]any{"read": true}, status: http.StatusOK, read: true},
		{name: "basic user cannot touch another's reply", key: joKey, id: ann, body: map[string]any{"read": true}, status: http.StatusNotFound, detail: "reply " + ann + " not found"},
		{name: "another sub-account cannot", key: f.subBKey, id: jo, body: map[string]any{"archived": true}, status: http.StatusNotFound},
		{name: "admin archives", key: f.subAKey, id: ann, body: map[string]any{"archived": true}, status: http.StatusOK, arch: true},
		{name: "the parent's admin may", key: f.rootKey, id: ann, body: map[string]any{"read": true, "archived": true}, status: http.StatusOK, read: true, arch: true},
		{name: "unread", key: f.subAKey, id: ann, body: map[string]any{"read": false}, status: http.StatusOK, arch: true},
		{name: "empty change", key: f.subAKey, id: jo, body: map[string]any{}, status: http.StatusUnprocessableEntity, detail: "give read, archived or both"},
		{name: "wrong type", key: f.subAKey, id: jo, body: map[string]any{"read": "yes"}, status: http.StatusBadRequest, detail: "read"},
		{name: "unknown field", key: f.subAKey, id: jo, body: map[string]any{"starred": true}, status: http.StatusBadRequest, detail: "starred"},
		{name: "no such reply", key: f.subAKey, id: "r0-nosuchreply", body: map[string]any{"read": true}, status: http.StatusNotFound},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.status != http.StatusOK {
				p := f.problem(st.key, "PATCH", "/v1/inbox/"+st.id, st.body, st.status)
				if !strings.Contains(p.Detail, st.detail) {
					t.Errorf("detail %q lacks %q", p.Detail, st.detail)
				}
				return
			}
			var r accounts.Reply
			f.expect(st.key, "PATCH", "/v1/inbox/"+st.id, st.body, http.StatusOK, &r)
			if r.ID != st.id || r.ReadAt.IsZero() == st.read || r.ArchivedAt.IsZero() == st.arch {
				t.Errorf("reply %+v, want read %v archived %v", r, st.read, st.arch)
			}
		})
	}
	// jo's reply: read; ann's: archived, unread.
	for _, tc := range []struct {
		key, query string
		want       []string
	}{
		{f.subAKey, "", []string{jo}},
		{f.subAKey, "?state=read", []string{jo}},
		{f.subAKey, "?state=unread", nil},
		{f.subAKey, "?state=archived", []string{ann}},
		{f.subAKey, "?state=all", []string{ann, jo}},
		{joKey, "?state=all", []string{jo}},
		{joKey, "?state=archived", nil},
	} {
		t.Run("list"+tc.query, func(t *testing.T) {
			var rl replyList
			f.expect(tc.key, "GET", "/v1/inbox"+tc.query, nil, http.StatusOK, &rl)
			var got []string
			for _, r := range rl.Replies {
				got = append(got, r.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("replies %v, want %v", got, tc.want)
			}
		})
	}
	for _, tc := range []struct{ path, detail string }{
		{"/v1/inbox?state=starred", `state: "starred" must be one of unread, read, archived, all`},
		{"/v1/messages?state=read", "state: unknown query parameter of GET /v1/messages"},
	} {
		if p := f.problem(f.subAKey, "GET", tc.path, nil, http.StatusBadRequest); !strings.Contains(p.Detail, tc.detail) {
			t.Errorf("%s: detail %q lacks %q", tc.path, p.Detail, tc.detail)
		}
	}
	t.Run("export", func(t *testing.T) {
		code, body, _ := f.do(f.subAKey, "GET", "/v1/inbox.csv?state=all", nil)
		recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if code != http.StatusOK || err != nil || len(recs) != 3 {
			t.Fatalf("inbox.csv: %d %v %v", code, recs, err)
		}
		h := recs[0]
		if h[len(h)-2] != "read_at" || h[len(h)-1] != "archived_at" {
			t.Fatalf("header %v", h)
		}
		// Newest first: ann's (archived, unread), then jo's (read).
		if ann, jo := recs[1], recs[2]; ann[len(h)-2] != "" || ann[len(h)-1] == "" || jo[len(h)-2] == "" || jo[len(h)-1] != "" {
			t.Errorf("rows %v", recs[1:])
		}
	})
}

// TestReplyRulesAPI: reading and changing an account's reply routing rules.
func TestReplyRulesAPI(t *testing.T) {
	f := newFixture(t)
	advKey := f.logTestUserKey(f.subA, "adv@example.com", accounts.RoleAdvanced)
	path := "/v1/accounts/" + f.subA.ID + "/reply-rules"
	var v replyRulesView
	f.expect(f.subAKey, "GET", path, nil, http.StatusOK, &v)
	if v.Stored || !v.MailSender || !v.Webhook || v.ForwardTo == nil || len(v.ForwardTo) != 0 || v.AccountID != f.subA.ID {
		t.Fatalf("defaults %+v", v)
	}
	steps := []struct {
		name   string
		key    string
		body   any
		status int
		detail string
		want   replyRulesView
	}{
		{name: "forward", key: f.subAKey, body: map[string]any{"forward_to": []string{"ops@Example.com"}}, status: http.StatusOK,
			want: replyRulesView{MailSender: true, Webhook: true, ForwardTo: []string{"ops@example.com"}}},
		{name: "sender off keeps the forward", key: f.subAKey, body: map[string]any{"mail_sender": false}, status: http.StatusOK,
			want: replyRulesView{Webhook: true, ForwardTo: []string{"ops@example.com"}}},
		{name: "the parent's admin", key: f.rootKey, body: map[string]any{"webhook": false, "forward_to": []string{}}, status: http.StatusOK,
			want: replyRulesView{ForwardTo: []string{}}},
		{name: "display name", key: f.subAKey, body: map[string]any{"forward_to": []string{"a@x.example", "Ops <ops@example.com>"}},
			status: http.StatusUnprocessableEntity, detail: `forward_to[1]: "Ops <ops@example.com>" is not an email address`},
		{name: "too many", key: f.subAKey, body: map[string]any{"forward_to": strings.Split(strings.Repeat("a@x.example ", 11), " ")[:11]},
			status: http.StatusUnprocessableEntity, detail: "forward_to: 11 addresses, at most 10"},
		{name: "empty", key: f.subAKey, body: map[string]any{}, status: http.StatusUnprocessableEntity, detail: "give mail_sender, forward_to, webhook"},
		{name: "unknown field", key: f.subAKey, body: map[string]any{"sms": true}, status: http.StatusBadRequest, detail: "sms"},
		{name: "advanced user", key: advKey, body: map[string]any{"webhook": true}, status: http.StatusForbidden, detail: "needs role sub_admin"},
		{name: "another sub-account", key: f.subBKey, body: map[string]any{"webhook": true}, status: http.StatusNotFound,
			detail: fmt.Sprintf("account %s not found", f.subA.ID)},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.status != http.StatusOK {
				p := f.problem(st.key, "PUT", path, st.body, st.status)
				if !strings.Contains(p.Detail, st.detail) {
					t.Errorf("detail %q lacks %q", p.Detail, st.detail)
				}
				return
			}
			var got, read replyRulesView
			f.expect(st.key, "PUT", path, st.body, http.StatusOK, &got)
			f.expect(st.key, "GET", path, nil, http.StatusOK, &read)
			st.want.AccountID, st.want.Stored = f.subA.ID, true
			for _, v := range []replyRulesView{got, read} {
				if v.AccountID != st.want.AccountID || v.Stored != st.want.Stored || v.MailSender != st.want.MailSender ||
					v.Webhook != st.want.Webhook || !slices.Equal(v.ForwardTo, st.want.ForwardTo) {
					t.Errorf("rules %+v, want %+v", v, st.want)
				}
			}
		})
	}
	f.problem(f.subBKey, "GET", path, nil, http.StatusNotFound)
	f.problem(advKey, "GET", path, nil, http.StatusForbidden)
}
