package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/router"
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

// logTestUserKey makes a user with a key bound to them in acct, with role.
func (f *fixture) logTestUserKey(acct *accounts.Account, email string, role accounts.Role) string {
	f.t.Helper()
	ctx := f.t.Context()
	u, err := f.store.CreateUser(ctx, email, "Test User", "correct horse battery")
	if err != nil {
		f.t.Fatalf("create user: %v", err)
	}
	if _, err := f.store.AddMember(ctx, acct.ID, u.ID, role); err != nil {
		f.t.Fatalf("add member: %v", err)
	}
	secret, _, err := f.store.CreateUserKey(ctx, acct.ID, u.ID, "test", time.Time{})
	if err != nil {
		f.t.Fatalf("create user key: %v", err)
	}
	return secret
}

// logTestGrant grants and enables every permission flag on a sub-account
// but hide_pricing and reporting_all (which would show it its siblings).
func (f *fixture) logTestGrant(acct *accounts.Account) {
	f.t.Helper()
	var flags []string
	for _, fl := range accounts.Flags() {
		if fl != accounts.FlagHidePricing && fl != accounts.FlagReportingAll {
			flags = append(flags, fl)
		}
	}
	if err := f.store.SetPermissions(f.t.Context(), acct.ID, accounts.Permissions{Granted: flags, Enabled: flags}, true); err != nil {
		f.t.Fatalf("set permissions: %v", err)
	}
}

// logTestSeed accepts n messages for acct from each sender, to numbers
// 61412000<i><j>, and returns their ids per sender, oldest first.
func (f *fixture) logTestSeed(acct *accounts.Account, senders []string, n int) map[string][]string {
	f.t.Helper()
	ctx := f.t.Context()
	if _, err := f.store.Credit(ctx, acct.ID, 10000, "seed", "test"); err != nil {
		f.t.Fatalf("credit: %v", err)
	}
	ids := map[string][]string{}
	for i := range n {
		for j, sender := range senders {
			res, err := f.store.Accept(ctx, accounts.AcceptRequest{AccountID: acct.ID, Messages: []*accounts.Message{{
				To: fmt.Sprintf("61412000%02d%d", i, j), Text: "hello", Parts: 1, Price: 5, Sender: sender}}})
			if err != nil {
				f.t.Fatalf("accept: %v", err)
			}
			ids[sender] = append(ids[sender], res.IDs[0])
		}
	}
	return ids
}

// logTestPages follows next from path (which has a query) and returns every
// message id, checking that none comes twice.
func (f *fixture) logTestPages(key, path string) []string {
	f.t.Helper()
	var ids []string
	seen := map[string]bool{}
	next := ""
	for range 1000 {
		p := path
		if next != "" {
			p += "&cursor=" + url.QueryEscape(next)
		}
		var ml messageList
		f.expect(key, "GET", p, nil, http.StatusOK, &ml)
		for _, m := range ml.Messages {
			if seen[m.ID] {
				f.t.Fatalf("message %s twice", m.ID)
			}
			seen[m.ID] = true
			ids = append(ids, m.ID)
		}
		if ml.Next == "" {
			return ids
		}
		next = ml.Next
	}
	f.t.Fatal("paging did not end")
	return nil
}

func TestMessageLogQuery(t *testing.T) {
	f := newFixture(t)
	const jo, ann = "jo@example.com", "ann@example.com"
	ids := f.logTestSeed(f.subA, []string{jo, ann}, 6)
	f.logTestGrant(f.subA)
	if err := f.rdb.HSet(t.Context(), "smsgate:{s0}:msg:"+ids[ann][2], "status", "delivered").Err(); err != nil {
		t.Fatal(err)
	}
	for sender, st := range map[string]string{jo: "failed", ann: "undeliverable"} {
		if err := f.rdb.HSet(t.Context(), "smsgate:{s0}:msg:"+ids[sender][4], "status", st).Err(); err != nil {
			t.Fatal(err)
		}
	}
	joKey := f.logTestUserKey(f.subA, jo, accounts.RoleBasic)
	advKey := f.logTestUserKey(f.subA, "adv@example.com", accounts.RoleAdvanced)
	base := "/v1/messages?account=" + f.subA.ID
	today := time.Now().UTC().Format(time.DateOnly)
	for _, tc := range []struct {
		name, key, query string
		want             int
		sender           string // every message's sender, if set
	}{
		{"all", f.subAKey, "", 12, ""},
		{"parent admin on the sub-account", f.rootKey, "", 12, ""},
		{"advanced user sees the account's", advKey, "", 12, ""},
		{"by sender", f.subAKey, "&sender=ANN@example.com", 6, ann},
		{"by status", f.subAKey, "&status=delivered", 1, ann},
		{"by several statuses", f.subAKey, "&status=failed,undeliverable,expired", 2, ""},
		{"by several statuses, one sender", f.subAKey, "&status=failed,undeliverable&sender=" + jo, 1, jo},
		{"by exact number", f.subAKey, "&number=%2B61412000031", 1, ann},
		{"by digits", f.subAKey, "&number=001", 3, ""},
		{"today", f.subAKey, "&from=" + today + "&to=" + today, 12, ""},
		{"before today", f.subAKey, "&to=2020-01-01", 0, ""},
		{"basic user sees their own", joKey, "", 6, jo},
		{"basic user naming themself", joKey, "&sender=jo@example.com", 6, jo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ml messageList
			f.expect(tc.key, "GET", base+tc.query+"&limit=1000", nil, http.StatusOK, &ml)
			if len(ml.Messages) != tc.want || ml.Next != "" {
				t.Fatalf("%d messages (next %q), want %d", len(ml.Messages), ml.Next, tc.want)
			}
			for _, m := range ml.Messages {
				if tc.sender != "" && m.Sender != tc.sender {
					t.Errorf("message %s from %s", m.ID, m.Sender)
				}
			}
		})
	}
	t.Run("pages", func(t *testing.T) {
		all := f.logTestPages(f.subAKey, base+"&limit=1000")
		for _, limit := range []int{1, 5} {
			got := f.logTestPages(f.subAKey, fmt.Sprintf("%s&limit=%d", base, limit))
			if strings.Join(got, ",") != strings.Join(all, ",") {
				t.Fatalf("limit %d: %v, want %v", limit, got, all)
			}
		}
	})
	for _, tc := range []struct {
		name, key, path string
		status          int
		detail          string // a fragment of the problem's detail
	}{
		{"basic user asking for another sender", joKey, base + "&sender=" + ann, http.StatusForbidden, "sender:"},
		{"basic user reading another's message", joKey, "/v1/messages/" + ids[ann][0], http.StatusNotFound, "not found"},
		{"bad status", f.subAKey, base + "&status=lost", http.StatusBadRequest, "status:"},
		{"a bad status among several", f.subAKey, base + "&status=failed,lost", http.StatusBadRequest, `"lost"`},
		{"bad from", f.subAKey, base + "&from=2026-13-01", http.StatusBadRequest, "from:"},
		{"to before from", f.subAKey, base + "&from=2026-02-01&to=2026-01-01", http.StatusBadRequest, "to:"},
		{"bad number", f.subAKey, base + "&number=abc", http.StatusBadRequest, "number:"},
		{"bad cursor", f.subAKey, base + "&cursor=xyz", http.StatusBadRequest, "cursor:"},
		{"inbox has no status", f.subAKey, "/v1/inbox?status=delivered", http.StatusBadRequest, "status:"},
		{"other tenant", f.subBKey, base, http.StatusNotFound, "not found"},
		{"basic user cannot export messages", joKey, "/v1/messages.csv", http.StatusForbidden, "export"},
		{"basic user cannot export the inbox", joKey, "/v1/inbox.csv", http.StatusForbidden, "export"},
		{"other tenant's export", f.subBKey, "/v1/messages.csv?account=" + f.subA.ID, http.StatusNotFound, "not found"},
		{"export without the flag", f.subBKey, "/v1/messages.csv", http.StatusForbidden, "analytics_export"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := f.problem(tc.key, "GET", tc.path, nil, tc.status)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("detail %q lacks %q", p.Detail, tc.detail)
			}
		})
	}
	f.expect(joKey, "GET", "/v1/messages/"+ids[jo][0], nil, http.StatusOK, nil)

	t.Run("export", func(t *testing.T) {
		code, body, hdr := f.do(f.subAKey, "GET", "/v1/messages.csv?sender="+ann, nil)
		if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") {
			t.Fatalf("status %d, type %q: %s", code, hdr.Get("Content-Type"), body)
		}
		recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 7 || recs[0][0] != "id" || recs[1][3] != ann {
			t.Fatalf("csv %v", recs)
		}
	})
}

func TestInboxScoping(t *testing.T) {
	f := newFixture(t)
	msgJo, replyJo := f.seedConversation(f.subA, "61412000001")
	// seedConversation sends as jo@example.com; a second conversation from
	// another sender.
	res, err := f.store.Accept(t.Context(), accounts.AcceptRequest{AccountID: f.subA.ID, Messages: []*accounts.Message{{
		To: "61412000009", Text: "hi", Parts: 1, Price: 5, Sender: "ann@example.com", Source: "61400000001"}}})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := f.store.Read(t.Context(), "test", 10, 100*time.Millisecond)
	if err != nil || len(entries) != 1 {
		t.Fatalf("read: %d, %v", len(entries), err)
	}
	if err := f.store.MarkSubmitted(t.Context(), []accounts.Submitted{{Entry: entries[0], Link: "sim", Source: "61400000001", SMSCIDs: []string{"y1"}}}); err != nil {
		t.Fatal(err)
	}
	replyAnn, _, err := f.store.RouteReply(t.Context(), accounts.Reply{From: "61412000009", To: "61400000001", Text: "ok", Link: "sim"})
	if err != nil || replyAnn.MessageID != res.IDs[0] {
		t.Fatalf("route reply: %+v, %v", replyAnn, err)
	}
	joKey := f.logTestUserKey(f.subA, "jo@example.com", accounts.RoleBasic)
	f.logTestGrant(f.subA)

	var rl replyList
	f.expect(f.subAKey, "GET", "/v1/inbox", nil, http.StatusOK, &rl)
	if len(rl.Replies) != 2 {
		t.Fatalf("admin sees %d replies, want 2", len(rl.Replies))
	}
	f.expect(joKey, "GET", "/v1/inbox", nil, http.StatusOK, &rl)
	if len(rl.Replies) != 1 || rl.Replies[0].ID != replyJo || rl.Replies[0].MessageID != msgJo {
		t.Fatalf("basic user sees %+v, want only %s", rl.Replies, replyJo)
	}
	f.expect(f.subAKey, "GET", "/v1/inbox?number=%2B61412000009", nil, http.StatusOK, &rl)
	if len(rl.Replies) != 1 || rl.Replies[0].ID != replyAnn.ID {
		t.Fatalf("by number %+v", rl.Replies)
	}
	f.expect(joKey, "GET", "/v1/inbox/"+replyJo, nil, http.StatusOK, nil)
	f.problem(joKey, "GET", "/v1/inbox/"+replyAnn.ID, nil, http.StatusNotFound)
	f.problem(joKey, "GET", "/v1/inbox?sender=ann@example.com", nil, http.StatusForbidden)

	code, body, _ := f.do(f.subAKey, "GET", "/v1/inbox.csv", nil)
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if code != http.StatusOK || err != nil || len(recs) != 3 || recs[0][1] != "received_at" {
		t.Fatalf("inbox.csv: %d %v %v", code, recs, err)
	}
}

// sendTestSender is a MessageSender that records what it is given and
// answers err, or one id per recipient.
type sendTestSender struct {
	mu    sync.Mutex
	mails []*router.Mail
	err   error
}

func (s *sendTestSender) Accept(_ context.Context, m *router.Mail) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mails = append(s.mails, m)
	if s.err != nil {
		return nil, s.err
	}
	ids := make([]string, len(m.Recipients))
	for i := range ids {
		ids[i] = fmt.Sprintf("m0-fake%d", i)
	}
	return ids, nil
}

func (s *sendTestSender) last() *router.Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.mails) == 0 {
		return nil
	}
	return s.mails[len(s.mails)-1]
}

// withSender returns the fixture served by a second API over the same
// store, with sender for POST /v1/messages.
func (f *fixture) withSender(sender MessageSender) *fixture {
	srv := httptest.NewServer(New(Options{Stores: storesOf(f.store), Sender: sender,
		Logger: slog.New(slog.NewTextHandler(f.t.Output(), nil))}))
	f.t.Cleanup(srv.Close)
	g := *f
	g.srv = srv
	return &g
}

// sendTestPost posts a send with an Idempotency-Key header.
func (f *fixture) sendTestPost(key, idem string, body any) (int, sendResult) {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.t.Context(), "POST", f.srv.URL+"/v1/messages", bytes.NewReader(mustJSON(f.t, body)))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Idempotency-Key", idem)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var res sendResult
	_ = json.NewDecoder(resp.Body).Decode(&res)
	return resp.StatusCode, res
}

// keyID is the public id inside a key secret ("sgk_<id>_<random>").
func keyID(secret string) string { return strings.Split(secret, "_")[1] }

func TestSendFake(t *testing.T) {
	base := newFixture(t)
	fake := &sendTestSender{}
	f := base.withSender(fake)
	joKey := f.logTestUserKey(f.subA, "jo@example.com", accounts.RoleAdvanced)
	f.logTestGrant(f.subA)

	var res sendResult
	f.expect(f.subAKey, "POST", "/v1/messages", map[string]any{
		"to": []string{"0412 345 678", "+61412345679", "0412345678"}, "text": "hi", "subject": "Re",
	}, http.StatusCreated, &res)
	m := fake.last()
	if len(res.IDs) != 2 || res.AccountID != f.subA.ID || strings.Join(m.Recipients, ",") != "61412345678,61412345679" ||
		m.Sender.Address != "api:"+keyID(f.subAKey) || m.Sender.Account.ID != f.subA.ID || m.Text != "hi" ||
		m.Subject != "Re" || m.MailID != "" {
		t.Fatalf("result %+v, mail %+v", res, m)
	}
	f.expect(joKey, "POST", "/v1/messages", map[string]any{"to": []string{"0412345678"}, "text": "hi"}, http.StatusCreated, nil)
	if got := fake.last().Sender.Address; got != "jo@example.com" {
		t.Fatalf("user key's sender %q", got)
	}
	f.expect(f.rootKey, "POST", "/v1/messages", map[string]any{"to": []string{"0412345678"}, "text": "hi"}, http.StatusCreated, &res)
	if res.AccountID != f.root.ID || fake.last().Sender.Account.ID != f.root.ID {
		t.Fatalf("root sending for itself: %+v", res)
	}
	t.Run("idempotency key", func(t *testing.T) {
		f.sendTestPost(f.subAKey, "order-17", map[string]any{"to": []string{"0412345678"}, "text": "hi"})
		first := fake.last().MailID
		f.sendTestPost(f.subAKey, "order-17", map[string]any{"to": []string{"0412345678"}, "text": "hi"})
		if first == "" || fake.last().MailID != first || strings.Contains(first, "order") {
			t.Fatalf("Message-IDs %q, %q", first, fake.last().MailID)
		}
	})

	ok := map[string]any{"to": []string{"0412345678"}, "text": "hi"}
	for _, tc := range []struct {
		name   string
		key    string
		body   any
		err    error
		status int
		detail string
	}{
		{"no numbers", f.subAKey, map[string]any{"to": []string{}, "text": "hi"}, nil, http.StatusUnprocessableEntity, "to:"},
		{"bad number", f.subAKey, map[string]any{"to": []string{"0412345678", "12"}, "text": "hi"}, nil, http.StatusUnprocessableEntity, "to[1]:"},
		{"unknown field", f.subAKey, map[string]any{"to": []string{"0412345678"}, "txt": "hi"}, nil, http.StatusBadRequest, "body:"},
		{"other tenant", f.subAKey, map[string]any{"account": f.subB.ID, "to": []string{"0412345678"}, "text": "hi"}, nil, http.StatusNotFound, "not found"},
		{"too long", f.subAKey, ok, &router.TooLongError{Parts: 12, Limit: 10}, http.StatusUnprocessableEntity, "needs 12 SMS parts"},
		{"empty", f.subAKey, ok, router.ErrEmpty, http.StatusUnprocessableEntity, "text:"},
		{"no route", f.subAKey, ok, fmt.Errorf("accept for x: *******5678: %w", router.ErrNoRoute), http.StatusUnprocessableEntity, "*******5678"},
		{"balance", f.subAKey, ok, fmt.Errorf("accept: %w", &accounts.BalanceError{Need: 16, Have: 5, Currency: "AUD"}), http.StatusPaymentRequired, "needs 0.16 AUD"},
		{"deactivated", f.subAKey, ok, fmt.Errorf("accept: %w", accounts.ErrDeactivated), http.StatusConflict, "deactivated"},
		{"store down", f.subAKey, ok, errors.New("connection refused"), http.StatusInternalServerError, "internal error (ref "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake.mu.Lock()
			fake.err = tc.err
			fake.mu.Unlock()
			p := f.problem(tc.key, "POST", "/v1/messages", tc.body, tc.status)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("detail %q lacks %q", p.Detail, tc.detail)
			}
			if tc.status == http.StatusPaymentRequired && (p.Need == nil || *p.Need != 16 || *p.Have != 5) {
				t.Fatalf("need/have %v %v", p.Need, p.Have)
			}
		})
	}
	t.Run("no sender on this instance", func(t *testing.T) {
		base.problem(base.subAKey, "POST", "/v1/messages", ok, http.StatusServiceUnavailable)
	})
}

func TestSendPipeline(t *testing.T) {
	base := newFixture(t)
	f := base.withSender(router.NewPipeline(router.PipelineOptions{Store: base.store}))
	var shop accounts.Account
	f.expect(f.rootKey, "POST", "/v1/accounts", map[string]any{"name": "Shop", "price_per_part": 8}, http.StatusCreated, &shop)
	var k newKey
	f.expect(f.rootKey, "POST", "/v1/accounts/"+shop.ID+"/keys", map[string]any{"role": "sub_admin"}, http.StatusCreated, &k)
	f.logTestGrant(&shop)
	f.expect(f.rootKey, "POST", "/v1/accounts/"+shop.ID+"/credit", map[string]any{"amount": 40}, http.StatusOK, nil)

	var res sendResult
	f.expect(k.Secret, "POST", "/v1/messages", map[string]any{"to": []string{"0412345678", "0412345679"}, "text": "hello"}, http.StatusCreated, &res)
	if len(res.IDs) != 2 {
		t.Fatalf("ids %v", res.IDs)
	}
	var m accounts.Message
	f.expect(k.Secret, "GET", "/v1/messages/"+res.IDs[1], nil, http.StatusOK, &m)
	if m.To != "61412345679" || m.Sender != "api:"+k.Key.ID || m.Price != 8 || m.Status != accounts.MsgQueued || m.Text != "hello" {
		t.Fatalf("stored %+v", m)
	}
	code, first := f.sendTestPost(k.Secret, "order-1", map[string]any{"to": []string{"0412345670"}, "text": "again"})
	code2, second := f.sendTestPost(k.Secret, "order-1", map[string]any{"to": []string{"0412345670"}, "text": "again"})
	if code != http.StatusCreated || code2 != http.StatusCreated || len(first.IDs) != 1 || strings.Join(first.IDs, ",") != strings.Join(second.IDs, ",") {
		t.Fatalf("idempotent sends: %d %v, %d %v", code, first.IDs, code2, second.IDs)
	}
	if a := f.account(shop.ID); a.Balance != 40-16-8 {
		t.Fatalf("balance %d, want %d (the repeat is free)", a.Balance, 40-16-8)
	}
	p := f.problem(k.Secret, "POST", "/v1/messages", map[string]any{"to": []string{"0412345671", "0412345672", "0412345673"}, "text": "hi"}, http.StatusPaymentRequired)
	if p.Need == nil || *p.Need != 24 || *p.Have != 16 || p.Type != problemBase+"insufficient-balance" {
		t.Fatalf("problem %+v", p)
	}
	f.problem(k.Secret, "POST", "/v1/messages", map[string]any{"to": []string{"0412345671"}, "text": strings.Repeat("a", 153*10+1)}, http.StatusUnprocessableEntity)
	f.problem(k.Secret, "POST", "/v1/messages", map[string]any{"to": []string{"0412345671"}, "text": "  "}, http.StatusUnprocessableEntity)
	var ml messageList
	f.expect(k.Secret, "GET", "/v1/messages?sender=api:"+k.Key.ID, nil, http.StatusOK, &ml)
	if len(ml.Messages) != 3 {
		t.Fatalf("%d messages logged, want 3", len(ml.Messages))
	}
}
