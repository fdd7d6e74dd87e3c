package automation

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/internal/mailsink"
	"github.com/smsgate/smsgate/internal/redistest"
	"github.com/smsgate/smsgate/router"
	"github.com/smsgate/smsgate/smtp/relay"
)

// autoSender records what automation sends; err fails every send.
type autoSender struct {
	mu   sync.Mutex
	sent []*router.Mail
	err  error
}

func (s *autoSender) Accept(_ context.Context, m *router.Mail) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	s.sent = append(s.sent, m)
	return []string{"m0-x"}, nil
}

func (s *autoSender) take() []*router.Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.sent
	s.sent = nil
	return out
}

// autoMailer records the automation mails.
type autoMailer struct {
	mu    sync.Mutex
	mails []relay.Notice
}

func (m *autoMailer) MailNotice(_ context.Context, am relay.Notice) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mails = append(m.mails, am)
	return nil
}

func (m *autoMailer) take() []relay.Notice {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.mails
	m.mails = nil
	return out
}

// autoEnv is a Hook over a real store with a root account and its
// sub-account, whose dedicated number is 61480000123.
type autoEnv struct {
	rdb    *redis.Client
	st     *redisstore.Store
	sub    *accounts.Account
	sender *autoSender
	mailer *autoMailer
	a      *Hook
}

const autoDedicated = "61480000123"

func newAutoEnv(t *testing.T, cap int) *autoEnv {
	t.Helper()
	rdb := redistest.Start(t)
	st := redisstore.New(rdb, redisstore.Options{})
	ctx := t.Context()
	root, _, err := st.Bootstrap(ctx, accounts.Account{Name: "Root", DefaultCountry: "AU"})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := st.CreateAccount(ctx, accounts.Account{Name: "Sales", ParentID: root.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, "smsgate:number:"+autoDedicated, sub.ID, 0).Err(); err != nil {
		t.Fatal(err)
	}
	e := &autoEnv{rdb: rdb, st: st, sub: sub, sender: &autoSender{}, mailer: &autoMailer{}}
	e.a = New(Options{Store: st, Sender: e.sender, Mailer: e.mailer, HourlyCap: cap, CacheTTL: -1})
	return e
}

func (e *autoEnv) rule(t *testing.T, a accounts.Automation) *accounts.Automation {
	t.Helper()
	a.Enabled = true
	got, err := e.st.CreateAutomation(t.Context(), e.sub.ID, a)
	if err != nil {
		t.Fatalf("create rule: %v", err)
	}
	return got
}

func (e *autoEnv) reply(from, text string, orig *accounts.Message) {
	r := &accounts.Reply{ID: "r0-" + from + text, AccountID: e.sub.ID, From: from, To: "61480000000", Text: text, ReceivedAt: time.Now()}
	if orig != nil {
		r.MessageID = orig.ID
	}
	e.a.OnReply(context.Background(), r, orig)
}

func TestAutoReply(t *testing.T) {
	e := newAutoEnv(t, 0)
	info := e.rule(t, accounts.Automation{Name: "Info", Kind: accounts.AutoReply, Keyword: "info", Text: "Thanks, we got it"})
	e.rule(t, accounts.Automation{Name: "Any", Kind: accounts.AutoReply, Keyword: "*", Text: "Catch-all"})
	off := e.rule(t, accounts.Automation{Name: "Off", Kind: accounts.AutoReply, Keyword: "off", Text: "never"})
	no := false
	if _, err := e.st.UpdateAutomation(t.Context(), e.sub.ID, off.ID, accounts.AutomationPatch{Enabled: &no}); err != nil {
		t.Fatal(err)
	}
	human := &accounts.Message{ID: "m0-human", AccountID: e.sub.ID, Sender: "alice@example.com"}
	auto := &accounts.Message{ID: "m0-auto", AccountID: e.sub.ID, Sender: "auto:" + info.ID}

	steps := []struct {
		name, from, text string
		orig             *accounts.Message
		want             string // text of the one auto-reply, "" for none
	}{
		{"keyword", "61412345678", "INFO please", human, "Thanks, we got it"},
		{"same phone within the window", "61412345678", "info again", human, ""},
		{"another phone", "61412345679", "Info.", human, "Thanks, we got it"},
		{"catch-all for another word", "61412345670", "hello", human, "Catch-all"},
		{"catch-all within its window", "61412345670", "hello", human, ""},
		{"disabled rule: the catch-all", "61412345671", "off", human, "Catch-all"},
		{"reply to an auto-reply", "61412345672", "INFO", auto, ""},
		{"reply from a gateway number", autoDedicated, "INFO", human, ""},
		{"no conversation", "61412345673", "INFO", nil, "Thanks, we got it"},
	}
	for _, st := range steps {
		e.reply(st.from, st.text, st.orig)
		sent := e.sender.take()
		switch {
		case st.want == "" && len(sent) != 0:
			t.Fatalf("%s: sent %d, want none", st.name, len(sent))
		case st.want == "":
		case len(sent) != 1:
			t.Fatalf("%s: sent %d, want 1", st.name, len(sent))
		case sent[0].Text != st.want || sent[0].Source != "61480000000" || len(sent[0].Recipients) != 1 ||
			sent[0].Recipients[0] != st.from || !router.IsAutoSender(sent[0].Sender.Address) || sent[0].Sender.Account.ID != e.sub.ID:
			t.Fatalf("%s: sent %+v (sender %+v)", st.name, sent[0], sent[0].Sender)
		}
	}
}

func TestAutoReplyLimits(t *testing.T) {
	t.Run("hourly cap", func(t *testing.T) {
		e := newAutoEnv(t, 2)
		e.rule(t, accounts.Automation{Name: "Info", Kind: accounts.AutoReply, Keyword: "info", Text: "Thanks"})
		for _, from := range []string{"61412000001", "61412000002", "61412000003", "61412000004"} {
			e.reply(from, "info", nil)
		}
		if n := len(e.sender.take()); n != 2 {
			t.Fatalf("sent %d auto-replies, want the cap of 2", n)
		}
	})
	t.Run("deactivated account", func(t *testing.T) {
		e := newAutoEnv(t, 0)
		e.rule(t, accounts.Automation{Name: "Info", Kind: accounts.AutoReply, Keyword: "info", Text: "Thanks"})
		if err := e.st.SetStatus(t.Context(), e.sub.ID, accounts.StatusDeactivated); err != nil {
			t.Fatal(err)
		}
		e.reply("61412000001", "info", nil)
		if n := len(e.sender.take()); n != 0 {
			t.Fatalf("sent %d for a deactivated account", n)
		}
	})
	t.Run("unrouted reply", func(t *testing.T) {
		e := newAutoEnv(t, 0)
		e.rule(t, accounts.Automation{Name: "Info", Kind: accounts.AutoReply, Keyword: "*", Text: "Thanks"})
		e.a.OnReply(t.Context(), &accounts.Reply{ID: "r0-x", From: "61412000001", To: "61480000000", Text: "hi"}, nil)
		if n := len(e.sender.take()); n != 0 {
			t.Fatalf("sent %d for an unrouted reply", n)
		}
	})
	t.Run("send fails: logged, never claims", func(t *testing.T) {
		e := newAutoEnv(t, 0)
		e.sender.err = accounts.ErrInsufficientBalance
		e.rule(t, accounts.Automation{Name: "Info", Kind: accounts.AutoReply, Keyword: "*", Text: "Thanks"})
		if e.a.OnReply(t.Context(), &accounts.Reply{ID: "r0-x", AccountID: e.sub.ID, From: "61412000001", To: "61480000000", Text: "hi"}, nil) {
			t.Fatal("automation claimed the reply")
		}
	})
}

// TestAutoForward: a forward rule mails and texts the reply on; the
// account's own dedicated numbers (assigned after the rule was made) and
// the number the phone texted are skipped; forwards count against the
// hourly cap but have no per-phone window.
func TestAutoForward(t *testing.T) {
	e := newAutoEnv(t, 3)
	rule := e.rule(t, accounts.Automation{Name: "Orders", Kind: accounts.AutoForward, Keyword: "order",
		ForwardTo: []string{"ops@example.com", "+61412999000", "+61480000777", "+61480000000"}})
	// 61480000777 becomes a dedicated number of the account after the rule was made.
	rdbSetNumber(t, e, "61480000777")

	e.reply("61412345678", "ORDER 12 widgets", nil)
	sent := e.sender.take()
	if len(sent) != 1 || strings.Join(sent[0].Recipients, ",") != "61412999000" || sent[0].Source != "" ||
		sent[0].Sender.Address != "auto:"+rule.ID || sent[0].Text != "SMS from +61412345678: ORDER 12 widgets" {
		t.Fatalf("SMS forward %+v", sent)
	}
	mails := e.mailer.take()
	if len(mails) != 1 || mails[0].To != "ops@example.com" || !strings.Contains(mails[0].Body, "ORDER 12 widgets") ||
		!strings.Contains(mails[0].Subject, "+61412345678") {
		t.Fatalf("mail forward %+v", mails)
	}
	e.reply("61412345678", "order 13", nil) // no window for forwards
	e.reply("61412345678", "order 14", nil)
	e.reply("61412345678", "order 15", nil) // over the cap of 3
	if n := len(e.sender.take()); n != 2 {
		t.Fatalf("forwards after the first: %d, want 2 (cap 3 an hour)", n)
	}
	e.reply("61412345678", "something else", nil)
	if n := len(e.mailer.take()); n != 2 {
		t.Fatalf("forward mails %d, want 2", n)
	}
}

func rdbSetNumber(t *testing.T, e *autoEnv, n string) {
	t.Helper()
	// The store's own index (accounts/tenancy) is written the same way.
	if owner, err := e.st.AutomationNumberOwner(t.Context(), n); err != nil || owner != "" {
		t.Fatalf("owner of %s before: %q %v", n, owner, err)
	}
	if err := e.rdb.Set(t.Context(), "smsgate:number:"+n, e.sub.ID, 0).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestReceiptNotice(t *testing.T) {
	msg := func(sender string, st accounts.MessageStatus, errCode string) *accounts.Message {
		return &accounts.Message{ID: "m0-1", AccountID: "", Sender: sender, MailID: "<m1@example.com>", To: "61412345678",
			Text: "Meeting at 3", Status: st, Error: errCode, DoneAt: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	}
	for _, tc := range []struct {
		name   string
		notify string // "" no rule
		m      *accounts.Message
		want   string // subject, "" none
	}{
		{"all: delivered", accounts.NotifyAll, msg("alice@example.com", accounts.MsgDelivered, ""), "SMS delivered to +61...5678"},
		{"all: failed", accounts.NotifyAll, msg("alice@example.com", accounts.MsgUndeliverable, "001"), "SMS NOT delivered to +61...5678"},
		{"failed: delivered", accounts.NotifyFailed, msg("alice@example.com", accounts.MsgDelivered, ""), ""},
		{"failed: undeliverable", accounts.NotifyFailed, msg("alice@example.com", accounts.MsgUndeliverable, "001"), "SMS NOT delivered to +61...5678"},
		{"failed: expired", accounts.NotifyFailed, msg("alice@example.com", accounts.MsgExpired, ""), "SMS NOT delivered"},
		{"api sender", accounts.NotifyAll, msg("api:k0", accounts.MsgUndeliverable, "001"), ""},
		{"auto sender", accounts.NotifyAll, msg("auto:au_x", accounts.MsgUndeliverable, "001"), ""},
		{"no rule", "", msg("alice@example.com", accounts.MsgUndeliverable, "001"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newAutoEnv(t, 0)
			if tc.notify != "" {
				e.rule(t, accounts.Automation{Name: "Notices", Kind: accounts.AutoReceiptNotice, Notify: tc.notify})
			}
			tc.m.AccountID = e.sub.ID
			e.a.OnStatus(t.Context(), tc.m)
			mails := e.mailer.take()
			if tc.want == "" {
				if len(mails) != 0 {
					t.Fatalf("mailed %+v", mails)
				}
				return
			}
			if len(mails) != 1 || !strings.HasPrefix(mails[0].Subject, tc.want) || mails[0].To != "alice@example.com" ||
				mails[0].InReplyTo != "<m1@example.com>" {
				t.Fatalf("mails %+v", mails)
			}
			if tc.m.Status == accounts.MsgUndeliverable && !strings.Contains(mails[0].Body, "NOT delivered to +61412345678: undeliverable (err 001)") {
				t.Fatalf("body %q", mails[0].Body)
			}
		})
	}
}

// TestAutomationMailThroughMailer: the relay's Mailer renders and relays a
// notice, threaded under the original mail and marked automatic.
func TestAutomationMailThroughMailer(t *testing.T) {
	sink, err := mailsink.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	m := relay.New(relay.Options{Addr: sink.Addr(), From: "smsgate@sms.example.com", Hostname: "gw.test"})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	n := ReceiptNotice(&accounts.Message{ID: "m0-1", Sender: "alice@example.com", MailID: "m1@example.com", To: "61412345999",
		Text: "hi", Status: accounts.MsgUndeliverable, Error: "001"}, time.Now())
	if err := m.MailNotice(ctx, n); err != nil {
		t.Fatal(err)
	}
	got, err := sink.Wait(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"In-Reply-To: <m1@example.com>", "References: <m1@example.com>", "Auto-Submitted: auto-generated",
		"Message-Id: <m0-1.notice@gw.test>", "Subject: SMS NOT delivered to +61...5999", "undeliverable (err 001)"} {
		if !strings.Contains(got[0].Data, want) {
			t.Errorf("mail lacks %q:\n%s", want, got[0].Data)
		}
	}
	if got[0].To[0] != "alice@example.com" {
		t.Errorf("mailed to %v", got[0].To)
	}
}
