package rules_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/storetest"
)

func TestReplyRules(t *testing.T) {
	ctx := t.Context()
	s := storetest.AcceptTestStore(t, 2)
	a := storetest.AcceptTestAccount(t, s, 0)
	on, off := new(bool), new(bool)
	*on = true
	list := func(v ...string) *[]string { return &v }

	if r, stored, err := s.ReplyRules(ctx, a.ID); err != nil || stored || !r.IsDefault() || r.ForwardTo == nil {
		t.Fatalf("fresh account: %+v stored %v, %v; want the defaults, not stored", r, stored, err)
	}
	steps := []struct {
		name    string
		account string
		ch      accounts.ReplyRulesChange
		want    accounts.ReplyRules
		errIs   error
		errText string
	}{
		{name: "forward only", ch: accounts.ReplyRulesChange{ForwardTo: list("ops@Example.COM", " b@x.example ", "ops@example.com")},
			want: accounts.ReplyRules{MailSender: true, Webhook: true, ForwardTo: []string{"ops@example.com", "b@x.example"}}},
		{name: "sender off keeps the rest", ch: accounts.ReplyRulesChange{MailSender: off},
			want: accounts.ReplyRules{MailSender: false, Webhook: true, ForwardTo: []string{"ops@example.com", "b@x.example"}}},
		{name: "webhook off, forwards cleared", ch: accounts.ReplyRulesChange{Webhook: off, ForwardTo: list()},
			want: accounts.ReplyRules{ForwardTo: []string{}}},
		{name: "all on again", ch: accounts.ReplyRulesChange{Webhook: on, MailSender: on},
			want: accounts.ReplyRules{MailSender: true, Webhook: true, ForwardTo: []string{}}},
		{name: "empty change", ch: accounts.ReplyRulesChange{}, errIs: accounts.ErrInvalid, errText: "give mail_sender"},
		{name: "display name", ch: accounts.ReplyRulesChange{ForwardTo: list("a@x.example", "Ops <ops@example.com>")},
			errIs: accounts.ErrInvalid, errText: `forward_to[1]: "Ops <ops@example.com>" is not an email address`},
		{name: "no domain", ch: accounts.ReplyRulesChange{ForwardTo: list("ops")}, errIs: accounts.ErrInvalid, errText: `forward_to[0]: "ops"`},
		{name: "bare host", ch: accounts.ReplyRulesChange{ForwardTo: list("ops@localhost")}, errIs: accounts.ErrInvalid, errText: "no domain name"},
		{name: "too many", ch: accounts.ReplyRulesChange{ForwardTo: list(strings.Split(strings.Repeat("a@x.example,", accounts.MaxForwardTo+1), ",")[:accounts.MaxForwardTo+1]...)},
			errIs: accounts.ErrInvalid, errText: "at most 10"},
		{name: "unknown account", account: "a0-nosuchaccount", ch: accounts.ReplyRulesChange{Webhook: off}, errIs: accounts.ErrNotFound},
		{name: "not an account id", account: "m0-x", ch: accounts.ReplyRulesChange{Webhook: off}, errIs: accounts.ErrNotFound},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			id := a.ID
			if st.account != "" {
				id = st.account
			}
			got, err := s.SetReplyRules(ctx, id, st.ch)
			if st.errIs != nil {
				if !errors.Is(err, st.errIs) || !strings.Contains(err.Error(), st.errText) {
					t.Fatalf("err = %v, want %v containing %q", err, st.errIs, st.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			read, stored, err := s.ReplyRules(ctx, id)
			if err != nil || !stored {
				t.Fatalf("read back: stored %v, %v", stored, err)
			}
			for _, r := range []accounts.ReplyRules{got, read} {
				if r.MailSender != st.want.MailSender || r.Webhook != st.want.Webhook || !slices.Equal(r.ForwardTo, st.want.ForwardTo) {
					t.Errorf("rules = %+v, want %+v", r, st.want)
				}
			}
		})
	}
	t.Run("deleted account", func(t *testing.T) {
		sub, err := s.CreateAccount(ctx, accounts.Account{ParentID: a.ID, Name: "gone"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteAccount(ctx, sub.ID, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetReplyRules(ctx, sub.ID, accounts.ReplyRulesChange{Webhook: off}); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
	})
}
