package router

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

// fakeAcceptStore records Accept calls. The embedded interface keeps the
// fake compiling when AcceptStore grows; a method it does not override
// panics if called, which the test would show.
type fakeAcceptStore struct {
	AcceptStore
	calls int
	err   error // returned by Accept
}

func (f *fakeAcceptStore) Accept(_ context.Context, req accounts.AcceptRequest) (*accounts.AcceptResult, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	ids := make([]string, len(req.Messages))
	for i := range ids {
		ids[i] = "m0-" + string(rune('a'+i))
	}
	return &accounts.AcceptResult{IDs: ids}, nil
}

func TestAcceptPermissions(t *testing.T) {
	perms := func(flags ...string) accounts.Permissions {
		return accounts.Permissions{Granted: flags, Enabled: flags}
	}
	sub := func(country string, p accounts.Permissions) *accounts.Account {
		return &accounts.Account{ID: "a0-sub", ParentID: "a0-root", DefaultCountry: country, PricePerPart: 5, Permissions: p}
	}
	root := &accounts.Account{ID: "a0-root", DefaultCountry: "AU", PricePerPart: 5}
	const au1, au2, nz = "61412345678", "61498765432", "64211234567"
	for _, tc := range []struct {
		name  string
		acct  *accounts.Account
		to    []string
		flag  string // "" means accepted
		reply string // part of the error text
	}{
		{"root has every flag", root, []string{au1, nz}, "", ""},
		{"defaults, one home number", sub("AU", accounts.DefaultPermissions()), []string{au1}, "", ""},
		{"defaults, several home numbers", sub("AU", accounts.DefaultPermissions()), []string{au1, au2}, "", ""},
		{"defaults, abroad", sub("AU", accounts.DefaultPermissions()), []string{au1, nz}, accounts.FlagGlobalSending, "outside its country AU (+61)"},
		{"no access_sms", sub("AU", perms(accounts.FlagSendBulk, accounts.FlagGlobalSending)), []string{au1}, accounts.FlagAccessSMS, "account may not send SMS (permission access_sms)"},
		{"granted but not enabled", sub("AU", accounts.Permissions{Granted: []string{accounts.FlagAccessSMS}}), []string{au1}, accounts.FlagAccessSMS, "access_sms"},
		{"bulk without send_bulk", sub("AU", perms(accounts.FlagAccessSMS)), []string{au1, au2}, accounts.FlagSendBulk, "account may not send to several recipients (permission send_bulk)"},
		{"one recipient without send_bulk", sub("AU", perms(accounts.FlagAccessSMS)), []string{au1}, "", ""},
		{"global_sending", sub("AU", perms(accounts.FlagAccessSMS, accounts.FlagGlobalSending)), []string{nz}, "", ""},
		{"NZ account sends home", sub("NZ", perms(accounts.FlagAccessSMS)), []string{nz}, "", ""},
		{"unknown country: everything is abroad", sub("ZZ", perms(accounts.FlagAccessSMS)), []string{au1}, accounts.FlagGlobalSending, "outside its country ZZ"},
		{"abroad number masked", sub("AU", perms(accounts.FlagAccessSMS)), []string{nz}, accounts.FlagGlobalSending, "*******4567"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &fakeAcceptStore{}
			p := NewPipeline(PipelineOptions{Store: st})
			m := &Mail{Sender: &accounts.Sender{Account: tc.acct, Address: "jo@example.com"}, Recipients: tc.to, Text: "hello"}
			ids, err := p.Accept(t.Context(), m)
			if tc.flag == "" {
				if err != nil || len(ids) != len(tc.to) || st.calls != 1 {
					t.Fatalf("Accept = %v, %v (store calls %d), want accepted", ids, err, st.calls)
				}
				return
			}
			var pe *PermissionError
			if !errors.Is(err, ErrNotPermitted) || !errors.As(err, &pe) || pe.Flag != tc.flag {
				t.Fatalf("Accept error %v, want ErrNotPermitted for %s", err, tc.flag)
			}
			if !strings.Contains(err.Error(), tc.reply) {
				t.Fatalf("error %q does not contain %q", err, tc.reply)
			}
			if strings.Contains(err.Error(), strings.Join(tc.to, "")) || st.calls != 0 {
				t.Fatalf("refused mail reached the store (%d calls) or shows a full number: %v", st.calls, err)
			}
		})
	}
}
