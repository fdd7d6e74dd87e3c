package tenancy_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

func sendersNewTree(t *testing.T, s *redisstore.Store) storetest.SendersTree {
	t.Helper()
	root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root", DefaultCountry: "AU", Currency: "AUD"})
	return storetest.SendersTree{
		Root:  root,
		A:     storetest.AcctMustCreate(t, s, accounts.Account{Name: "A", ParentID: root.ID}),
		B:     storetest.AcctMustCreate(t, s, accounts.Account{Name: "B", ParentID: root.ID}),
		Other: storetest.AcctMustCreate(t, s, accounts.Account{Name: "Other", DefaultCountry: "AU", Currency: "AUD"}),
	}
}

func TestNumbers(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		tr := sendersNewTree(t, s)
		const n = "61480000123"
		steps := []struct {
			name string
			run  func() error
			want error
		}{
			{"allocate to a sub", func() error { _, err := s.AllocateNumber(ctx, tr.A.ID, n); return err }, accounts.ErrInvalid},
			{"allocate bad number", func() error { _, err := s.AllocateNumber(ctx, tr.Root.ID, "12ab"); return err }, accounts.ErrInvalid},
			{"assign before allocation", func() error { _, err := s.AssignNumber(ctx, tr.A.ID, n); return err }, accounts.ErrNumberNotOwned},
			{"allocate to root (national form)", func() error { _, err := s.AllocateNumber(ctx, tr.Root.ID, "0480 000 123"); return err }, nil},
			{"allocate again", func() error { _, err := s.AllocateNumber(ctx, tr.Root.ID, "+61480000123"); return err }, nil},
			{"another tenant allocates it", func() error { _, err := s.AllocateNumber(ctx, tr.Other.ID, n); return err }, accounts.ErrNumberTaken},
			{"another tenant assigns it", func() error { _, err := s.AssignNumber(ctx, tr.Other.ID, n); return err }, accounts.ErrNumberNotOwned},
			{"root confirms its own", func() error { _, err := s.AssignNumber(ctx, tr.Root.ID, n); return err }, nil},
			{"assign to A", func() error { _, err := s.AssignNumber(ctx, tr.A.ID, "+61 480 000 123"); return err }, nil},
			{"assign to A again", func() error { _, err := s.AssignNumber(ctx, tr.A.ID, n); return err }, nil},
			{"assign to sibling B", func() error { _, err := s.AssignNumber(ctx, tr.B.ID, n); return err }, accounts.ErrNumberTaken},
			{"root's own is A's now", func() error { _, err := s.AssignNumber(ctx, tr.Root.ID, n); return err }, accounts.ErrNumberTaken},
			{"B unassigns what it lacks", func() error { return s.UnassignNumber(ctx, tr.B.ID, n) }, accounts.ErrNotFound},
			{"root unassigns", func() error { return s.UnassignNumber(ctx, tr.Root.ID, n) }, accounts.ErrInvalid},
		}
		for _, st := range steps {
			if err := st.run(); !errors.Is(err, st.want) || (st.want == nil) != (err == nil) {
				t.Fatalf("%s: %v, want %v", st.name, err, st.want)
			}
		}
		if got, _ := s.NumberOwner(ctx, "+"+n); got != tr.A.ID {
			t.Fatalf("NumberOwner = %q, want A %s", got, tr.A.ID)
		}
		for _, c := range []struct {
			acct *accounts.Account
			want []string
		}{{tr.A, []string{n}}, {tr.Root, []string{}}, {tr.B, []string{}}} {
			got, err := s.Senders(ctx, c.acct.ID)
			if err != nil || !slices.Equal(got.Numbers, c.want) {
				t.Fatalf("Senders(%s) = %+v, %v; want numbers %v", c.acct.Name, got, err, c.want)
			}
		}
		// Default, then back to the root: A's default goes with the number.
		if _, err := s.SetDefaultSender(ctx, tr.A.ID, "+"+n); err != nil {
			t.Fatal(err)
		}
		if err := s.UnassignNumber(ctx, tr.A.ID, n); err != nil {
			t.Fatal(err)
		}
		a, _ := s.GetAccount(ctx, tr.A.ID)
		r, _ := s.Senders(ctx, tr.Root.ID)
		if a.SenderID != "" || !slices.Equal(r.Numbers, []string{n}) {
			t.Fatalf("after unassign: A default %q, root numbers %v", a.SenderID, r.Numbers)
		}
		// The operator takes it back.
		if owner, err := s.FreeNumber(ctx, n); err != nil || owner != tr.Root.ID {
			t.Fatalf("FreeNumber = %q, %v", owner, err)
		}
		if _, err := s.FreeNumber(ctx, n); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("FreeNumber again = %v, want ErrNotFound", err)
		}
		if r, _ := s.Senders(ctx, tr.Root.ID); len(r.Numbers) != 0 {
			t.Fatalf("root numbers after free: %v", r.Numbers)
		}
	})
}

// TestNumberOfDeletedSub: a deleted sub-account's number routes no more
// replies to it and goes back to the tree on the next assignment.
func TestNumberOfDeletedSub(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	ctx := storetest.AcctTestCtx(t)
	tr := sendersNewTree(t, s)
	const n = "61480000123"
	if _, err := s.AllocateNumber(ctx, tr.Root.ID, n); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AssignNumber(ctx, tr.A.ID, n); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteAccount(ctx, tr.A.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if r, _, err := s.RouteReply(ctx, accounts.Reply{From: "61499999999", To: n, Text: "hi"}); err != nil || r.AccountID != "" {
		t.Fatalf("reply to a deleted sub's number: %+v, %v; want unrouted", r, err)
	}
	if _, err := s.AssignNumber(ctx, tr.Other.ID, n); !errors.Is(err, accounts.ErrNumberNotOwned) {
		t.Fatalf("another tenant takes it: %v", err)
	}
	if got, err := s.AssignNumber(ctx, tr.B.ID, n); err != nil || !slices.Equal(got.Numbers, []string{n}) {
		t.Fatalf("B takes it: %+v, %v", got, err)
	}
}

// TestAssignNumberRace: two siblings claim one number at once; exactly one
// gets it, and the listings agree.
func TestAssignNumberRace(t *testing.T) {
	s := storetest.New(t, redisstore.Options{Shards: 4})
	ctx := storetest.AcctTestCtx(t)
	for round := range 20 {
		tr := sendersNewTree(t, s)
		n := fmt.Sprintf("614800%05d", round)
		if _, err := s.AllocateNumber(ctx, tr.Root.ID, n); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, acct := range []*accounts.Account{tr.A, tr.B} {
			wg.Go(func() { _, errs[i] = s.AssignNumber(ctx, acct.ID, n) })
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: errors %v; want exactly one winner", round, errs)
		}
		held := 0
		for _, acct := range []*accounts.Account{tr.Root, tr.A, tr.B} {
			got, err := s.Senders(ctx, acct.ID)
			if err != nil {
				t.Fatal(err)
			}
			held += len(got.Numbers)
		}
		if held != 1 {
			t.Fatalf("round %d: the number is listed %d times", round, held)
		}
	}
}

func TestSenderIDs(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		tr := sendersNewTree(t, s)
		for _, c := range []struct {
			name, id string
			want     error
		}{
			{"approve", "ACME", nil},
			{"same in another case", "acme", nil},
			{"second", "Shop24", nil},
			{"eleven", "ABCDEFGHIJK", nil},
			{"twelve", "ABCDEFGHIJKL", accounts.ErrInvalid},
			{"digits only", "12345", accounts.ErrInvalid},
			{"space", "AC ME", accounts.ErrInvalid},
			{"empty", " ", accounts.ErrInvalid},
			{"non-ASCII", "Café", accounts.ErrInvalid},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.AddSenderID(ctx, tr.A.ID, c.id)
				if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
					t.Fatalf("AddSenderID(%q) = %v, want %v", c.id, err, c.want)
				}
			})
		}
		got, err := s.Senders(ctx, tr.A.ID)
		if err != nil || !slices.Equal(got.SenderIDs, []string{"ABCDEFGHIJK", "ACME", "Shop24"}) {
			t.Fatalf("Senders = %+v, %v", got, err)
		}
		for _, c := range []struct {
			id, want string
			ok       bool
		}{{"acme", "ACME", true}, {"SHOP24", "Shop24", true}, {"EVIL", "", false}, {"+61480000999", "", false}} {
			if v, ok := got.Allows(c.id); v != c.want || ok != c.ok {
				t.Errorf("Allows(%q) = %q, %v; want %q, %v", c.id, v, ok, c.want, c.ok)
			}
		}
		if _, err := s.SetDefaultSender(ctx, tr.A.ID, "EVIL"); !errors.Is(err, accounts.ErrInvalid) {
			t.Fatalf("SetDefaultSender(EVIL) = %v, want ErrInvalid", err)
		}
		if d, err := s.SetDefaultSender(ctx, tr.A.ID, "acme"); err != nil || d.Default != "ACME" {
			t.Fatalf("SetDefaultSender(acme) = %+v, %v", d, err)
		}
		if a, _ := s.GetAccount(ctx, tr.A.ID); a.SenderID != "ACME" || a.Name != "A" {
			t.Fatalf("account after default: %+v", a)
		}
		// B does not share A's ids.
		if _, err := s.SetDefaultSender(ctx, tr.B.ID, "ACME"); !errors.Is(err, accounts.ErrInvalid) {
			t.Fatalf("B SetDefaultSender(ACME) = %v, want ErrInvalid", err)
		}
		if err := s.RemoveSenderID(ctx, tr.A.ID, "Acme"); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveSenderID(ctx, tr.A.ID, "ACME"); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("remove again = %v, want ErrNotFound", err)
		}
		if a, _ := s.GetAccount(ctx, tr.A.ID); a.SenderID != "" {
			t.Fatalf("default %q survived its removal", a.SenderID)
		}
		if d, err := s.SetDefaultSender(ctx, tr.A.ID, ""); err != nil || d.Default != "" {
			t.Fatalf("clear default = %+v, %v", d, err)
		}
		if _, err := s.Senders(ctx, "a0-0000000000000000"); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("Senders(unknown) = %v", err)
		}
	})
}

// TestRouteReplyToNumber: a reply with no conversation goes to the holder
// of the dedicated number it was sent to; with none, to the unrouted inbox.
func TestRouteReplyToNumber(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		tr := sendersNewTree(t, s)
		const n = "61480000123"
		if _, err := s.AllocateNumber(ctx, tr.Root.ID, n); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AssignNumber(ctx, tr.A.ID, n); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name, to, want string
		}{
			{"dedicated number", n, tr.A.ID},
			{"with plus", "+" + n, tr.A.ID},
			{"shared number", "61480000000", ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				r, msg, err := s.RouteReply(ctx, accounts.Reply{From: "61499999999", To: c.to, Text: "hi", Link: "l"})
				if err != nil || msg != nil || r.AccountID != c.want || r.MessageID != "" {
					t.Fatalf("RouteReply = %+v, %v, %v; want account %q", r, msg, err, c.want)
				}
				inbox, err := s.ListInbox(ctx, c.want, 100)
				if err != nil || !slices.ContainsFunc(inbox, func(x *accounts.Reply) bool { return x.ID == r.ID }) {
					t.Fatalf("reply %s not in inbox %q (%v)", r.ID, c.want, err)
				}
			})
		}
	})
}

func TestResolveSenderPlus(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	ctx := storetest.AcctTestCtx(t)
	a := storetest.AcctMustCreate(t, s, accounts.Account{Name: "A"})
	if err := s.AddAddress(ctx, a.ID, "ceo@gmail.com"); err != nil {
		t.Fatal(err)
	}
	sd, err := s.ResolveSender(ctx, "CEO+ACME@gmail.com")
	if err != nil || sd.Account.ID != a.ID || sd.Address != "ceo+acme@gmail.com" || sd.Match != "address" {
		t.Fatalf("ResolveSender = %+v, %v", sd, err)
	}
	if _, err := s.ResolveSender(ctx, "cfo+ACME@gmail.com"); !errors.Is(err, accounts.ErrUnknownSender) {
		t.Fatalf("unregistered base: %v", err)
	}
}
