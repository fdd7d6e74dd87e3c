package inboxrules

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/router"
	"github.com/smsgate/smsgate/smpp"
)

// rulesStore routes every reply to account "a0-acct" (orig nil: unrouted)
// and holds its rules.
type rulesStore struct {
	orig   *accounts.Message
	rules  *accounts.ReplyRules // nil: none stored
	err    error
	routed int
}

func (s *rulesStore) ApplyReceipts(context.Context, []accounts.ReceiptUpdate) ([]*accounts.Message, []error, error) {
	return nil, nil, errors.New("not used")
}

func (s *rulesStore) LoadMessages(context.Context, []string) ([]*accounts.Message, error) {
	return nil, errors.New("not used")
}

func (s *rulesStore) RouteReply(_ context.Context, r accounts.Reply) (*accounts.Reply, *accounts.Message, error) {
	s.routed++
	r.ID = "r0-test"
	if s.orig != nil {
		r.AccountID, r.MessageID, r.Sender = s.orig.AccountID, s.orig.ID, s.orig.Sender
	}
	return &r, s.orig, nil
}

func (s *rulesStore) GetReply(context.Context, string) (*accounts.Reply, error) {
	return nil, accounts.ErrNotFound
}

func (s *rulesStore) GetMessage(context.Context, string) (*accounts.Message, error) {
	return nil, accounts.ErrNotFound
}

func (s *rulesStore) ReplyRules(context.Context, string) (accounts.ReplyRules, bool, error) {
	if s.err != nil {
		return accounts.ReplyRules{}, false, s.err
	}
	if s.rules == nil {
		return accounts.DefaultReplyRules(), false, nil
	}
	return *s.rules, true, nil
}

// deliveries records what a reply caused: mails (to the sender: "sender:
// <addr>", forwards: "forward:<addr>") and reply events.
type deliveries struct {
	mu     sync.Mutex
	mails  []string
	events int
}

func (d *deliveries) MailReply(_ context.Context, _ *accounts.Reply, orig *accounts.Message) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mails = append(d.mails, "sender:"+orig.Sender)
	return nil
}

func (d *deliveries) MailForward(_ context.Context, _ *accounts.Reply, _ *accounts.Message, to string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mails = append(d.mails, "forward:"+to)
	return nil
}

func (d *deliveries) MessageStatus(context.Context, *accounts.Message) error { return nil }
func (d *deliveries) LowBalance(context.Context, *accounts.Account) error    { return nil }
func (d *deliveries) Reply(context.Context, *accounts.Reply, *accounts.Message) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.events++
	return nil
}

// TestInboxRules runs replies through Inbound with the hook last in the
// chain, as serve wires it, and counts what each rule set sends: every mail
// and event exactly once, none when turned off, and exactly the default
// behaviour when no rules are stored.
func TestInboxRules(t *testing.T) {
	alice := &accounts.Message{ID: "m0-1", AccountID: "a0-acct", Sender: "alice@example.com", MailID: "<o1@example.com>"}
	apiSent := &accounts.Message{ID: "m0-2", AccountID: "a0-acct", Sender: "api:k1"}
	rules := func(sender, webhook bool, fwd ...string) *accounts.ReplyRules {
		return &accounts.ReplyRules{MailSender: sender, Webhook: webhook, ForwardTo: fwd}
	}
	tests := []struct {
		name      string
		orig      *accounts.Message
		rules     *accounts.ReplyRules
		storeErr  error
		noMailer  bool
		wantMails []string
		wantEvent int
	}{
		{name: "no rules stored: the default chain", orig: alice, wantMails: []string{"sender:alice@example.com"}, wantEvent: 1},
		{name: "stored defaults", orig: alice, rules: rules(true, true), wantMails: []string{"sender:alice@example.com"}, wantEvent: 1},
		{name: "forward with the defaults", orig: alice, rules: rules(true, true, "ops@example.com", "b@x.example"),
			wantMails: []string{"forward:ops@example.com", "forward:b@x.example", "sender:alice@example.com"}, wantEvent: 1},
		{name: "sender off", orig: alice, rules: rules(false, true, "ops@example.com"),
			wantMails: []string{"forward:ops@example.com"}, wantEvent: 1},
		{name: "webhook off", orig: alice, rules: rules(true, false),
			wantMails: []string{"sender:alice@example.com"}, wantEvent: 0},
		{name: "both off, forward only", orig: alice, rules: rules(false, false, "ops@example.com"),
			wantMails: []string{"forward:ops@example.com"}},
		{name: "everything off", orig: alice, rules: rules(false, false)},
		{name: "forward to the sender is not sent twice", orig: alice, rules: rules(true, false, "Alice@example.com"),
			wantMails: []string{"sender:alice@example.com"}},
		{name: "forward to the sender when sender mail is off", orig: alice, rules: rules(false, true, "alice@example.com"),
			wantMails: []string{"forward:alice@example.com"}, wantEvent: 1},
		{name: "api sender has no mailbox", orig: apiSent, rules: rules(true, false, "ops@example.com"),
			wantMails: []string{"forward:ops@example.com"}},
		{name: "api sender, no rules", orig: apiSent, wantEvent: 1},
		{name: "unrouted: no account, no rules", rules: rules(false, false, "ops@example.com")},
		{name: "rules unreadable: the defaults", orig: alice, rules: rules(false, false, "ops@example.com"),
			storeErr: errors.New("redis down"), wantMails: []string{"sender:alice@example.com"}, wantEvent: 1},
		{name: "no relay", orig: alice, rules: rules(false, true, "ops@example.com"), noMailer: true, wantEvent: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &rulesStore{orig: tc.orig, rules: tc.rules, err: tc.storeErr}
			d := &deliveries{}
			o := Options{Store: st, Events: d}
			in := router.InboundOptions{Store: st, Events: d}
			if !tc.noMailer {
				o.Mailer, in.Mailer = d, d
			}
			in.ReplyHooks = []router.ReplyHook{New(o)}
			err := router.NewInbound(in).HandleDeliver(t.Context(), &smpp.Deliver{Link: "l", Source: "61412345678", Dest: "61480000000", Text: "hi"})
			if err != nil || st.routed != 1 {
				t.Fatalf("HandleDeliver: %v (routed %d)", err, st.routed)
			}
			if !slices.Equal(d.mails, tc.wantMails) || d.events != tc.wantEvent {
				t.Errorf("mails %q events %d, want %q events %d", d.mails, d.events, tc.wantMails, tc.wantEvent)
			}
		})
	}
}
