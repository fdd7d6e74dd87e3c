package router

import (
	"context"
	"errors"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

func TestChooseSender(t *testing.T) {
	for _, tc := range []struct {
		name, subject, address string
		want                   SenderChoice
	}{
		{"none", "hello", "alice@example.com",
			SenderChoice{Subject: "hello", Address: "alice@example.com"}},
		{"subject", "[from:ACME] hello", "alice@example.com",
			SenderChoice{ID: "ACME", Form: ChoiceSubject, Subject: "hello", Address: "alice@example.com"}},
		{"subject, case and spaces", "  [From: acme ]  hello there", "alice@example.com",
			SenderChoice{ID: "acme", Form: ChoiceSubject, Subject: "hello there", Address: "alice@example.com"}},
		{"subject after Re:", "Re: [from:+61480000123] hi", "alice@example.com",
			SenderChoice{ID: "+61480000123", Form: ChoiceSubject, Subject: "Re: hi", Address: "alice@example.com"}},
		{"subject only the tag", "[from:ACME]", "alice@example.com",
			SenderChoice{ID: "ACME", Form: ChoiceSubject, Subject: "", Address: "alice@example.com"}},
		{"empty tag removed", "[from:] hi", "alice@example.com",
			SenderChoice{Subject: "hi", Address: "alice@example.com"}},
		{"unclosed tag", "[from:ACME hi", "alice@example.com",
			SenderChoice{Subject: "[from:ACME hi", Address: "alice@example.com"}},
		{"plus address", "hello", "alice+acme@example.com",
			SenderChoice{ID: "acme", Form: ChoiceAddress, Subject: "hello", Address: "alice@example.com"}},
		{"subject wins", "[from:SHOP] x", "alice+acme@example.com",
			SenderChoice{ID: "SHOP", Form: ChoiceSubject, Subject: "x", Address: "alice+acme@example.com"}},
		{"non-ASCII before the tag", "İİ [FROM:ACME] x", "a@b.c",
			SenderChoice{ID: "ACME", Form: ChoiceSubject, Subject: "İİ x", Address: "a@b.c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ChooseSender(tc.subject, tc.address); got != tc.want {
				t.Fatalf("ChooseSender(%q, %q) = %+v, want %+v", tc.subject, tc.address, got, tc.want)
			}
		})
	}
}

func TestAllowedSource(t *testing.T) {
	ids := &accounts.Senders{Numbers: []string{"61480000123"}, SenderIDs: []string{"ACME"}}
	for _, tc := range []struct {
		id, want string
		ok       bool
	}{
		{"ACME", "ACME", true},
		{"acme", "ACME", true},
		{"61480000123", "61480000123", true},
		{"+61 480 000 123", "61480000123", true},
		{"0480 000 123", "61480000123", true}, // national, AU
		{"61480000124", "", false},
		{"EVIL", "", false},
		{"", "", false},
	} {
		if got, ok := AllowedSource(ids, tc.id, "AU"); got != tc.want || ok != tc.ok {
			t.Errorf("AllowedSource(%q) = %q, %v; want %q, %v", tc.id, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := AllowedSource(nil, "ACME", "AU"); ok {
		t.Error("nil identities allow ACME")
	}
}

// senderFakeStore records the request of Accept and lists fixed identities.
type senderFakeStore struct {
	req     accounts.AcceptRequest
	calls   int
	senders *accounts.Senders
	err     error // of Senders
}

func (f *senderFakeStore) Accept(_ context.Context, req accounts.AcceptRequest) (*accounts.AcceptResult, error) {
	f.req, f.calls = req, f.calls+1
	ids := make([]string, len(req.Messages))
	for i := range ids {
		ids[i] = "m0-x"
	}
	return &accounts.AcceptResult{IDs: ids}, nil
}

func (f *senderFakeStore) Senders(_ context.Context, _ string) (*accounts.Senders, error) {
	return f.senders, f.err
}

func TestAcceptSenderChoice(t *testing.T) {
	acct := &accounts.Account{ID: "a0-sub", ParentID: "a0-root", DefaultCountry: "AU", SenderID: "DEFAULT",
		Permissions: accounts.DefaultPermissions()}
	ids := &accounts.Senders{AccountID: acct.ID, Numbers: []string{"61480000123"}, SenderIDs: []string{"ACME"}}
	for _, tc := range []struct {
		name, from, subject, source string
		storeErr                    error
		wantSource, wantSender      string
		wantErr                     error
	}{
		{name: "default", from: "alice@example.com", subject: "hi", wantSource: "DEFAULT", wantSender: "alice@example.com"},
		{name: "subject id", from: "alice@example.com", subject: "[from:acme] hi", wantSource: "ACME", wantSender: "alice@example.com"},
		{name: "subject number", from: "alice@example.com", subject: "[from:+61480000123] hi", wantSource: "61480000123", wantSender: "alice@example.com"},
		{name: "subject not allowed", from: "alice@example.com", subject: "[from:EVIL] hi", wantErr: ErrSenderNotAllowed},
		{name: "plus address", from: "alice+acme@example.com", subject: "hi", wantSource: "ACME", wantSender: "alice@example.com"},
		{name: "plus address, ordinary tag", from: "alice+news@example.com", subject: "hi", wantSource: "DEFAULT", wantSender: "alice+news@example.com"},
		{name: "set by code", from: "auto:reply", subject: "[from:EVIL] hi", source: "61480000999", wantSource: "61480000999", wantSender: "auto:reply"},
		{name: "store fails", from: "alice@example.com", subject: "[from:ACME] hi", storeErr: errors.New("redis down"), wantErr: errors.New("")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &senderFakeStore{senders: ids, err: tc.storeErr}
			p := NewPipeline(PipelineOptions{Store: st}) // Senders from the store
			m := &Mail{Sender: &accounts.Sender{Account: acct, Address: tc.from}, Recipients: []string{"61412345678"},
				Subject: tc.subject, Text: "body", Source: tc.source}
			_, err := p.Accept(t.Context(), m)
			switch {
			case tc.wantErr != nil && err == nil:
				t.Fatalf("accepted from %s, want an error", st.req.Messages[0].Source)
			case errors.Is(tc.wantErr, ErrSenderNotAllowed):
				var se *SenderError
				if !errors.As(err, &se) || !errors.Is(err, ErrNotPermitted) || se.Error() != "sender id EVIL is not allowed for this account" {
					t.Fatalf("error %v, want a SenderError for EVIL", err)
				}
				if st.calls != 0 {
					t.Fatal("a refused mail reached the store")
				}
			case tc.wantErr != nil:
				if errors.Is(err, ErrNotPermitted) {
					t.Fatalf("a store failure reads as a refusal: %v", err)
				}
			case err != nil:
				t.Fatal(err)
			default:
				msg := st.req.Messages[0]
				if msg.Source != tc.wantSource || msg.Sender != tc.wantSender || msg.Text != "body" {
					t.Fatalf("message source %q sender %q text %q; want %q, %q, body", msg.Source, msg.Sender, msg.Text, tc.wantSource, tc.wantSender)
				}
				if m.Subject != tc.subject || m.Sender.Address != tc.from {
					t.Fatalf("the caller's mail was changed: %+v", m)
				}
			}
		})
	}
}

func TestAcceptSenderChoiceSubjectPrepended(t *testing.T) {
	acct := &accounts.Account{ID: "a0-root", DefaultCountry: "AU", SubjectMode: accounts.SubjectPrepend}
	st := &senderFakeStore{senders: &accounts.Senders{SenderIDs: []string{"ACME"}}}
	p := NewPipeline(PipelineOptions{Store: st})
	m := &Mail{Sender: &accounts.Sender{Account: acct, Address: "a@example.com"}, Recipients: []string{"61412345678"},
		Subject: "[from:ACME] Meeting moved", Text: "to 3pm"}
	if _, err := p.Accept(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if msg := st.req.Messages[0]; msg.Text != "Meeting moved\nto 3pm" || msg.Source != "ACME" {
		t.Fatalf("text %q source %q: the tag must not reach the SMS", msg.Text, msg.Source)
	}
}

func TestSenderErrorPrintable(t *testing.T) {
	e := &SenderError{ID: "EV\r\nIL-and-a-very-long-sender-id"}
	if got := e.Error(); got != "sender id EV??IL-and-a-very-lo... is not allowed for this account" {
		t.Fatalf("Error() = %q", got)
	}
}
