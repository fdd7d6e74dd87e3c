package stoprule

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/internal/redistest"
	"github.com/smsgate/smsgate/router"
)

const (
	stopOurNumber = "61480000000"
	stopPhone     = "61412345678"
)

// stopWorld is a real store with a root and a sub-account (AU, 5 a part,
// balance subBal), a pipeline over it and the Stop hook.
type stopWorld struct {
	st        *redisstore.Store
	root, sub *accounts.Account
	pipe      *router.Pipeline
	hook      *Hook
}

func newStopWorld(t *testing.T, subBal int64, shareContacts bool) *stopWorld {
	t.Helper()
	ctx := t.Context()
	st := redisstore.New(redistest.Start(t), redisstore.Options{PasswordCost: 4})
	root, err := st.CreateAccount(ctx, accounts.Account{Name: "Root", DefaultCountry: "AU", Currency: "AUD"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Credit(ctx, root.ID, 10000, "seed", "test"); err != nil {
		t.Fatal(err)
	}
	perms := accounts.DefaultPermissions()
	if shareContacts {
		perms.Granted = append(perms.Granted, accounts.FlagShareContacts)
		perms.Enabled = append(perms.Enabled, accounts.FlagShareContacts)
	}
	sub, err := st.CreateAccount(ctx, accounts.Account{Name: "Sales", ParentID: root.ID, PricePerPart: 5, Permissions: perms})
	if err != nil {
		t.Fatal(err)
	}
	if subBal > 0 {
		if _, _, err := st.Transfer(ctx, root.ID, sub.ID, subBal, "seed", "test"); err != nil {
			t.Fatal(err)
		}
	}
	w := &stopWorld{st: st, root: root, sub: sub}
	w.pipe = router.NewPipeline(router.PipelineOptions{Store: st, DefaultSource: stopOurNumber})
	w.hook = New(Options{Store: st, Sender: w.pipe})
	return w
}

// sent sends an SMS from the sub-account to stopPhone and returns the
// message, as the conversation the reply answers.
func (w *stopWorld) sent(t *testing.T) *accounts.Message {
	t.Helper()
	ids, err := w.pipe.Accept(t.Context(), &router.Mail{Sender: &accounts.Sender{Account: w.sub, Address: "alice@example.com"},
		Recipients: []string{stopPhone}, MailID: "<m1@example.com>", Text: "Meeting at 3"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := w.st.GetMessage(t.Context(), ids[0])
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// confirmations returns the sub-account's messages sent by the Stop rule.
func (w *stopWorld) confirmations(t *testing.T) []*accounts.Message {
	t.Helper()
	msgs, err := w.st.ListMessages(t.Context(), w.sub.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []*accounts.Message
	for _, m := range msgs {
		if router.IsAutoSender(m.Sender) {
			out = append(out, m)
		}
	}
	return out
}

func reply(id, text string, acct string) *accounts.Reply {
	return &accounts.Reply{ID: id, AccountID: acct, From: stopPhone, To: stopOurNumber, Text: text, ReceivedAt: time.Now()}
}

func TestStopHook(t *testing.T) {
	tests := []struct {
		name          string
		text          string
		shared        bool
		subBal        int64
		rule          *accounts.StopRule // nil: the default
		preOptOut     bool               // the number is on the list before the reply
		noConv        bool               // unrouted: no account, no conversation
		wantClaimed   bool
		wantOptedOut  bool
		wantConfirmed string // text of the confirmation sent; "" none
	}{
		{name: "STOP opts out and confirms", text: "STOP", subBal: 100, wantClaimed: true, wantOptedOut: true,
			wantConfirmed: accounts.DefaultStopConfirmation},
		{name: "first word, any case", text: "stop sending me these", subBal: 100, wantClaimed: true, wantOptedOut: true,
			wantConfirmed: accounts.DefaultStopConfirmation},
		{name: "shared list is the parent's", text: "Unsubscribe", shared: true, subBal: 100, wantClaimed: true,
			wantOptedOut: true, wantConfirmed: accounts.DefaultStopConfirmation},
		{name: "ordinary reply", text: "see you at 3", subBal: 100},
		{name: "unrouted reply is left alone", text: "STOP", subBal: 100, noConv: true},
		{name: "no balance: opted out, confirmation logged", text: "STOP", wantClaimed: true, wantOptedOut: true},
		{name: "no confirmation configured", text: "STOP", subBal: 100,
			rule: &accounts.StopRule{Keywords: []string{"STOP"}}, wantClaimed: true, wantOptedOut: true},
		{name: "custom keyword", text: "halt", subBal: 100,
			rule: &accounts.StopRule{Keywords: []string{"HALT"}, Confirmation: "Bye"}, wantClaimed: true, wantOptedOut: true,
			wantConfirmed: "Bye"},
		{name: "second STOP: claimed, not confirmed again", text: "STOP", subBal: 100, preOptOut: true,
			wantClaimed: true, wantOptedOut: true},
		{name: "START not allowed: an ordinary reply", text: "START", subBal: 100, preOptOut: true, wantOptedOut: true},
		{name: "START allowed resubscribes", text: "start", subBal: 100, preOptOut: true,
			rule: &accounts.StopRule{Keywords: []string{"STOP"}, StartKeywords: []string{"START"}, AllowStart: true,
				StartConfirmation: "Welcome back"}, wantClaimed: true, wantConfirmed: "Welcome back"},
		// The default confirmation promises START only where it is honoured.
		{name: "default confirmation without START", text: "STOP", subBal: 100, wantClaimed: true, wantOptedOut: true,
			wantConfirmed: "You have been unsubscribed and will receive no more messages from us."},
		{name: "default confirmation with START allowed", text: "STOP", subBal: 100,
			rule: &accounts.StopRule{Keywords: []string{"STOP"}, StartKeywords: []string{"START"}, AllowStart: true,
				Confirmation: accounts.DefaultStopConfirmation}, wantClaimed: true, wantOptedOut: true,
			wantConfirmed: "You have been unsubscribed. Reply START to resubscribe."},
		{name: "START allowed but not opted out: an ordinary reply", text: "Yes, see you", subBal: 100,
			rule: &accounts.StopRule{Keywords: []string{"STOP"}, StartKeywords: []string{"YES"}, AllowStart: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			w := newStopWorld(t, max(tt.subBal, 5), tt.shared)
			orig := w.sent(t) // costs 5
			if tt.subBal == 0 {
				// Spend what is left: the confirmation cannot be paid.
				if bal, _ := w.st.GetAccount(ctx, w.sub.ID); bal.Balance != 0 {
					t.Fatalf("sub balance %d, want 0", bal.Balance)
				}
			}
			list := w.sub.ID
			if tt.shared {
				list = w.root.ID
			}
			if tt.rule != nil {
				if _, err := w.st.SetStopRule(ctx, w.sub.ID, *tt.rule); err != nil {
					t.Fatal(err)
				}
			}
			if tt.preOptOut {
				if _, err := w.st.AddOptOut(ctx, list, accounts.OptOut{Number: stopPhone, Reason: "earlier"}); err != nil {
					t.Fatal(err)
				}
			}
			r := reply("r0-test", tt.text, w.sub.ID)
			if tt.noConv {
				r.AccountID, orig = "", nil
			}
			if got := w.hook.OnReply(ctx, r, orig); got != tt.wantClaimed {
				t.Errorf("claimed = %v, want %v", got, tt.wantClaimed)
			}
			o, err := w.st.GetOptOut(ctx, list, stopPhone)
			switch {
			case tt.wantOptedOut && err != nil:
				t.Errorf("not opted out on %s: %v", list, err)
			case !tt.wantOptedOut && !errors.Is(err, accounts.ErrNotFound):
				t.Errorf("opted out on %s: %+v %v", list, o, err)
			case tt.wantOptedOut && !tt.preOptOut && (o.Via != "reply r0-test" || !strings.HasPrefix(o.Reason, "keyword ")):
				t.Errorf("opt-out record %+v", o)
			}
			if tt.shared {
				if _, err := w.st.GetOptOut(ctx, w.sub.ID, stopPhone); !errors.Is(err, accounts.ErrNotFound) {
					t.Errorf("the sub's own list was used: %v", err)
				}
			}
			conf := w.confirmations(t)
			if tt.wantConfirmed == "" {
				if len(conf) != 0 {
					t.Errorf("confirmations sent: %+v", conf[0])
				}
				return
			}
			if len(conf) != 1 {
				t.Fatalf("%d confirmations, want 1", len(conf))
			}
			c := conf[0]
			if c.Text != tt.wantConfirmed || c.To != stopPhone || c.Source != stopOurNumber || c.Price != 5 ||
				c.Status != accounts.MsgQueued {
				t.Errorf("confirmation %+v", c)
			}
			// Run again (a redelivered hook): no second confirmation.
			w.hook.OnReply(ctx, r, orig)
			if n := len(w.confirmations(t)); n != 1 {
				t.Errorf("%d confirmations after a second run, want 1", n)
			}
		})
	}
}
