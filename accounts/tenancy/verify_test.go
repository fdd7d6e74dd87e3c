package tenancy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
	"github.com/smsgate/smsgate/internal/dnstest"
)

// TestDomainVerification: a requested domain is pending (mail from it is
// ErrDomainPending) until its TXT token is published and verified; two
// accounts may ask, the first to prove control gets it; the operator may
// approve without DNS; a DNS failure is not a verdict.
func TestDomainVerification(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		srv := dnstest.Start(t)
		lookup := srv.Resolver().LookupTXT
		a := storetest.AcctMustCreate(t, s, accounts.Account{Name: "A"})
		b := storetest.AcctMustCreate(t, s, accounts.Account{Name: "B"})

		ca, err := s.RequestDomain(ctx, a.ID, "Corp.Example")
		if err != nil || ca.Domain != "corp.example" || ca.TXTName != "_smsgate-challenge.corp.example" || !strings.HasPrefix(ca.TXTValue, "smsgate-verify=") {
			t.Fatalf("request: %+v, %v", ca, err)
		}
		again, _ := s.RequestDomain(ctx, a.ID, "corp.example")
		if again.TXTValue != ca.TXTValue {
			t.Fatalf("asking twice changed the token")
		}
		// A pending request blocks nobody: B may ask too.
		cb, err := s.RequestDomain(ctx, b.ID, "corp.example")
		if err != nil || cb.TXTValue == ca.TXTValue {
			t.Fatalf("B's request: %+v, %v", cb, err)
		}
		if _, err := s.ResolveSender(ctx, "ceo@corp.example"); !errors.Is(err, accounts.ErrDomainPending) || !errors.Is(err, accounts.ErrUnknownSender) {
			t.Fatalf("mail from a pending domain: %v", err)
		}
		if err := s.VerifyDomain(ctx, a.ID, "corp.example", lookup); !errors.Is(err, accounts.ErrVerification) || !strings.Contains(err.Error(), "no TXT record") {
			t.Fatalf("verify before publishing: %v", err)
		}
		srv.TXT("_smsgate-challenge.corp.example", "smsgate-verify=someone-elses")
		if err := s.VerifyDomain(ctx, a.ID, "corp.example", lookup); !errors.Is(err, accounts.ErrVerification) || !strings.Contains(err.Error(), "none of them") {
			t.Fatalf("verify with another token: %v", err)
		}
		srv.Fail("_smsgate-challenge.corp.example", dns.RcodeServerFailure)
		if err := s.VerifyDomain(ctx, a.ID, "corp.example", lookup); err == nil || errors.Is(err, accounts.ErrVerification) {
			t.Fatalf("verify while DNS fails: %v, want a DNS error, not a verdict", err)
		}
		srv.Fail("_smsgate-challenge.corp.example", dns.RcodeSuccess)
		srv.TXT("_smsgate-challenge.corp.example", cb.TXTValue)
		if err := s.VerifyDomain(ctx, b.ID, "corp.example", lookup); err != nil {
			t.Fatalf("B verifies: %v", err)
		}
		srv.TXT("_smsgate-challenge.corp.example", ca.TXTValue)
		if err := s.VerifyDomain(ctx, a.ID, "corp.example", lookup); !errors.Is(err, accounts.ErrDomainTaken) {
			t.Fatalf("A verifies after B: %v, want ErrDomainTaken", err)
		}
		snd, err := s.ResolveSender(ctx, "ceo@corp.example")
		if err != nil || snd.Account.ID != b.ID {
			t.Fatalf("after verification: %+v, %v", snd, err)
		}
		if p, _ := s.PendingDomains(ctx, b.ID); len(p) != 0 {
			t.Fatalf("B's request still pending: %+v", p)
		}
		// The operator approves without DNS; a pending request is removable.
		if _, err := s.RequestDomain(ctx, a.ID, "other.example"); err != nil {
			t.Fatal(err)
		}
		if err := s.ApproveDomain(ctx, a.ID, "other.example"); err != nil {
			t.Fatal(err)
		}
		if snd, err := s.ResolveSender(ctx, "x@other.example"); err != nil || snd.Account.ID != a.ID {
			t.Fatalf("approved: %+v, %v", snd, err)
		}
		if _, err := s.RequestDomain(ctx, a.ID, "dropped.example"); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveDomain(ctx, a.ID, "dropped.example"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ResolveSender(ctx, "x@dropped.example"); errors.Is(err, accounts.ErrDomainPending) {
			t.Fatalf("withdrawn request still pending: %v", err)
		}
		if _, err := s.RequestDomain(ctx, a.ID, "gmail.com"); !errors.Is(err, accounts.ErrPublicDomain) {
			t.Fatalf("gmail.com: %v", err)
		}
	})
}

// TestAddressConfirmation: an address inside the tree's verified domain is
// registered at once; any other waits for the token mailed to it; a token
// works once; an address already held by another tree's exact registration
// blocks verifying its domain (it would be shadowed).
func TestAddressConfirmation(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	ctx := storetest.AcctTestCtx(t)
	root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root"})
	sub := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sub", ParentID: root.ID})
	other := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Other"})
	if err := s.AddDomain(ctx, root.ID, "root.example"); err != nil {
		t.Fatal(err)
	}
	// Inside the parent's verified domain: at once.
	if tok, err := s.RequestAddress(ctx, sub.ID, "desk@root.example"); err != nil || tok != "" {
		t.Fatalf("address in the tree's domain: %q, %v", tok, err)
	}
	if snd, _ := s.ResolveSender(ctx, "desk@root.example"); snd == nil || snd.Account.ID != sub.ID {
		t.Fatalf("desk@root.example resolves to %+v", snd)
	}
	// Another tree's domain: refused as before.
	if _, err := s.RequestAddress(ctx, other.ID, "ceo@root.example"); !errors.Is(err, accounts.ErrAddressInOtherDomain) {
		t.Fatalf("address in another tree's domain: %v", err)
	}
	// A free-mail address: pending until its owner confirms.
	tok, err := s.RequestAddress(ctx, other.ID, "Bob.Smith@gmail.com")
	if err != nil || tok == "" {
		t.Fatalf("gmail address: %q, %v", tok, err)
	}
	if _, err := s.ResolveSender(ctx, "bob.smith@gmail.com"); !errors.Is(err, accounts.ErrUnknownSender) {
		t.Fatalf("unconfirmed address resolves: %v", err)
	}
	if p, _ := s.PendingAddresses(ctx, other.ID); len(p) != 1 || p[0].Address != "bob.smith@gmail.com" {
		t.Fatalf("pending addresses %+v", p)
	}
	if _, _, err := s.ConfirmAddress(ctx, "not-the-token"); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("wrong token: %v", err)
	}
	acct, addr, err := s.ConfirmAddress(ctx, tok)
	if err != nil || acct != other.ID || addr != "bob.smith@gmail.com" {
		t.Fatalf("confirm: %s %s %v", acct, addr, err)
	}
	if _, _, err := s.ConfirmAddress(ctx, tok); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("token used twice: %v", err)
	}
	if snd, _ := s.ResolveSender(ctx, "bob.smith@gmail.com"); snd == nil || snd.Account.ID != other.ID {
		t.Fatalf("confirmed address resolves to %+v", snd)
	}
	// The other order: other confirmed carol@later.example first; root
	// cannot then verify later.example, which carol's address would shadow.
	tok, _ = s.RequestAddress(ctx, other.ID, "carol@later.example")
	if _, _, err := s.ConfirmAddress(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RequestDomain(ctx, root.ID, "later.example"); err != nil {
		t.Fatal(err)
	}
	if err := s.ApproveDomain(ctx, root.ID, "later.example"); !errors.Is(err, accounts.ErrForeignAddresses) {
		t.Fatalf("domain over another tree's address: %v", err)
	}
	// Within one tree it is fine.
	tok, _ = s.RequestAddress(ctx, sub.ID, "dan@own.example")
	if _, _, err := s.ConfirmAddress(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.ApproveDomain(ctx, root.ID, "own.example"); err != nil {
		t.Fatalf("domain over the tree's own address: %v", err)
	}
}
