package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/internal/mailsink"
)

// doAs calls the API with key.
func (g *gateway) doAs(key, method, path, body string) (int, string) {
	g.t.Helper()
	req, _ := http.NewRequest(method, "http://"+g.httpAddr+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// inboxIDs lists the ids of the replies key sees at path.
func (g *gateway) inboxIDs(key, path string) []string {
	g.t.Helper()
	code, body := g.doAs(key, "GET", path, "")
	var l struct {
		Replies []accounts.Reply `json:"replies"`
	}
	if err := json.Unmarshal([]byte(body), &l); code != http.StatusOK || err != nil {
		g.t.Fatalf("GET %s: %d %s", path, code, body)
	}
	ids := []string{}
	for _, r := range l.Replies {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return ids
}

// userKey makes a user with email a member of the sub-account with role and
// returns a key bound to them.
func (g *gateway) userKey(email string, role accounts.Role) string {
	g.t.Helper()
	ctx := g.t.Context()
	// The same Redis with bcrypt's least cost: cost 12 takes seconds under -race.
	fast := redisstore.New(g.rdb, redisstore.Options{PasswordCost: 4})
	u, err := fast.CreateUser(ctx, email, "Test User", "correct horse battery")
	if err != nil {
		g.t.Fatalf("create user %s: %v", email, err)
	}
	if _, err := g.store.AddMember(ctx, g.sub.ID, u.ID, role); err != nil {
		g.t.Fatalf("add member %s: %v", email, err)
	}
	secret, _, err := g.store.CreateUserKey(ctx, g.sub.ID, u.ID, "test", time.Time{})
	if err != nil {
		g.t.Fatalf("user key %s: %v", email, err)
	}
	return secret
}

// converse mails text from sender to number, waits until the SMS is
// delivered (the conversation is recorded), has the phone reply, and
// returns the reply once it is in the inbox.
func (g *gateway) converse(ctx context.Context, sender, number, msgID, reply string) *accounts.Reply {
	g.t.Helper()
	rcpt := "0" + number[2:] + "@" + smsDomain
	if err := g.sendMail(sender, []string{rcpt}, plainMail(sender, rcpt, msgID, "hello from "+sender)); err != nil {
		g.t.Fatalf("send from %s: %v", sender, err)
	}
	var sent *accounts.Message
	g.waitFor("delivered to "+number, func() bool {
		msgs, _ := g.store.ListMessages(ctx, g.sub.ID, 50)
		for _, m := range msgs {
			if m.To == number && m.Sender == sender && m.Status == accounts.MsgDelivered {
				sent = m
				return true
			}
		}
		return false
	})
	if err := g.sim.InjectMO(ctx, smsMO(number, ourNumber, reply)); err != nil {
		g.t.Fatal(err)
	}
	var got *accounts.Reply
	g.waitFor("reply from "+number, func() bool {
		rs, _ := g.store.ListInbox(ctx, g.sub.ID, 50)
		for _, r := range rs {
			if r.Text == reply {
				got = r
				return true
			}
		}
		return false
	})
	if got.MessageID != sent.ID || got.Sender != sender {
		g.t.Fatalf("reply %+v, want to message %s of %s", got, sent.ID, sender)
	}
	return got
}

// mailTo returns the mails of ms addressed to rcpt.
func mailTo(ms []mailsink.Mail, rcpt string) []mailsink.Mail {
	var out []mailsink.Mail
	for _, m := range ms {
		if slices.Contains(m.To, rcpt) {
			out = append(out, m)
		}
	}
	return out
}

// TestInboxBasicUserViewE2E: a basic user sees only their own replies. Two users send
// through SMTP from their own addresses, phones reply to both; each reply
// is mailed back to its sender; alice's basic key sees only her reply, an
// advanced key both; read and archived states work through the API.
func TestInboxBasicUserViewE2E(t *testing.T) {
	g := startGateway(t)
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()
	alice := g.userKey("alice@example.com", accounts.RoleBasic)
	bob := g.userKey("bob@example.com", accounts.RoleBasic)
	adv, _, err := g.store.CreateKey(ctx, g.sub.ID, accounts.RoleAdvanced, "desk")
	if err != nil {
		t.Fatal(err)
	}
	ra := g.converse(ctx, "alice@example.com", "61412000001", "a1@example.com", "yes alice")
	rb := g.converse(ctx, "bob@example.com", "61412000002", "b1@example.com", "no bob")

	mails, err := g.sink.Wait(ctx, 2)
	if err != nil {
		t.Fatalf("reply mails: %v", err)
	}
	for _, c := range []struct{ to, msgID, text string }{
		{"alice@example.com", "<a1@example.com>", "yes alice"}, {"bob@example.com", "<b1@example.com>", "no bob"},
	} {
		if m := mailTo(mails, c.to); len(m) != 1 || !strings.Contains(m[0].Data, "In-Reply-To: "+c.msgID) || !strings.Contains(m[0].Data, c.text) {
			t.Errorf("mails to %s: %+v", c.to, m)
		}
	}

	both := []string{ra.ID, rb.ID}
	slices.Sort(both)
	for _, c := range []struct {
		name, key, path string
		want            []string
	}{
		{"alice sees hers", alice, "/v1/inbox", []string{ra.ID}},
		{"bob sees his", bob, "/v1/inbox?account=" + g.sub.ID, []string{rb.ID}},
		{"advanced sees both", adv, "/v1/inbox", both},
		{"the parent's admin sees both", g.key, "/v1/inbox?account=" + g.sub.ID, both},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := g.inboxIDs(c.key, c.path); !slices.Equal(got, c.want) {
				t.Errorf("replies %v, want %v", got, c.want)
			}
		})
	}
	if code, body := g.doAs(alice, "GET", "/v1/inbox/"+rb.ID, ""); code != http.StatusNotFound {
		t.Errorf("alice reads bob's reply: %d %s", code, body)
	}

	// States: alice reads hers; the desk archives bob's.
	for _, c := range []struct {
		key, id, body string
		code          int
	}{
		{alice, rb.ID, `{"read": true}`, http.StatusNotFound},
		{alice, ra.ID, `{"read": true}`, http.StatusOK},
		{adv, rb.ID, `{"archived": true}`, http.StatusOK},
	} {
		if code, body := g.doAs(c.key, "PATCH", "/v1/inbox/"+c.id, c.body); code != c.code {
			t.Errorf("PATCH %s %s: %d %s", c.id, c.body, code, body)
		}
	}
	for _, c := range []struct {
		key, query string
		want       []string
	}{
		{adv, "", []string{ra.ID}},
		{adv, "?state=read", []string{ra.ID}},
		{adv, "?state=unread", []string{}},
		{adv, "?state=archived", []string{rb.ID}},
		{adv, "?state=all", both},
		{bob, "?state=archived", []string{rb.ID}},
		{bob, "", []string{}},
	} {
		if got := g.inboxIDs(c.key, "/v1/inbox"+c.query); !slices.Equal(got, c.want) {
			t.Errorf("inbox%s: %v, want %v", c.query, got, c.want)
		}
	}
}

// TestReplyForwardE2E: the account's reply rules forward each reply to
// ops@example.com, threaded under the sender's original mail; with the
// sender mail and webhook turned off only the forward goes out, and back on
// the sender gets exactly one mail again. Needs the inbox-rules hook wired
// in serve (inboxrules.New, the last ReplyHook).
func TestReplyForwardE2E(t *testing.T) {
	g := startGateway(t)
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()
	rules := "/v1/accounts/" + g.sub.ID + "/reply-rules"
	put := func(body string) {
		t.Helper()
		if code, resp := g.do("PUT", rules, body); code != http.StatusOK {
			t.Fatalf("PUT reply-rules %s: %d %s", body, code, resp)
		}
	}
	put(`{"forward_to": ["ops@example.com"]}`)

	// 1: sender and ops, both threaded under alice's mail.
	r1 := g.converse(ctx, "alice@example.com", "61412000001", "fw1@example.com", "first reply")
	mails, err := g.sink.Wait(ctx, 2)
	if err != nil {
		t.Fatalf("want the sender's mail and the forward: %v (got %d)", err, len(g.sink.Mails()))
	}
	for _, to := range []string{"alice@example.com", "ops@example.com"} {
		m := mailTo(mails, to)
		if len(m) != 1 {
			t.Fatalf("mails to %s: %d", to, len(m))
		}
		for _, want := range []string{"In-Reply-To: <fw1@example.com>", "References: <fw1@example.com>",
			"X-Smsgate-Reply: " + r1.ID, "first reply"} {
			if !strings.Contains(m[0].Data, want) {
				t.Errorf("mail to %s lacks %q:\n%s", to, want, m[0].Data)
			}
		}
	}

	// 2: sender mail and webhook off: only the forward.
	put(`{"mail_sender": false, "webhook": false}`)
	if err := g.sim.InjectMO(ctx, smsMO("61412000001", ourNumber, "second reply")); err != nil {
		t.Fatal(err)
	}
	if mails, err = g.sink.Wait(ctx, 3); err != nil {
		t.Fatalf("forward of the second reply: %v", err)
	}
	if m := mails[2]; m.To[0] != "ops@example.com" || !strings.Contains(m.Data, "second reply") ||
		!strings.Contains(m.Data, "In-Reply-To: <fw1@example.com>") {
		t.Errorf("third mail %v:\n%s", m.To, m.Data)
	}

	// 3: forwards cleared, sender mail back on: alice alone. The mailer
	// sends in order, so a stray mail of reply 2 to alice would come first.
	put(`{"mail_sender": true, "forward_to": []}`)
	if err := g.sim.InjectMO(ctx, smsMO("61412000001", ourNumber, "third reply")); err != nil {
		t.Fatal(err)
	}
	if mails, err = g.sink.Wait(ctx, 4); err != nil {
		t.Fatalf("mail of the third reply: %v", err)
	}
	if m := mails[3]; m.To[0] != "alice@example.com" || !strings.Contains(m.Data, "third reply") {
		t.Errorf("fourth mail %v:\n%s", m.To, m.Data)
	}
	rs, err := g.store.ListInbox(ctx, g.sub.ID, 10)
	if err != nil || len(rs) != 3 {
		t.Errorf("inbox holds %d replies (%v), want all 3 whatever the rules", len(rs), err)
	}
}
