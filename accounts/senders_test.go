package accounts

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/smsgate/smsgate/internal/redistest"
)

// sendersTree is a root with subs A and B, and another tenant's root.
type sendersTree struct{ root, a, b, other *Account }

func sendersNewTree(t *testing.T, s *Store) sendersTree {
	t.Helper()
	root := acctMustCreate(t, s, Account{Name: "Root", DefaultCountry: "AU", Currency: "AUD"})
	return sendersTree{
		root:  root,
		a:     acctMustCreate(t, s, Account{Name: "A", ParentID: root.ID}),
		b:     acctMustCreate(t, s, Account{Name: "B", ParentID: root.ID}),
		other: acctMustCreate(t, s, Account{Name: "Other", DefaultCountry: "AU", Currency: "AUD"}),
	}
}

func TestNumbers(t *testing.T) {
	acctEachShards(t, func(t *testing.T, s *Store) {
		ctx := acctTestCtx(t)
		tr := sendersNewTree(t, s)
		const n = "61480000123"
		steps := []struct {
			name string
			run  func() error
			want error
		}{
			{"allocate to a sub", func() error { _, err := s.AllocateNumber(ctx, tr.a.ID, n); return err }, ErrInvalid},
			{"allocate bad number", func() error { _, err := s.AllocateNumber(ctx, tr.root.ID, "12ab"); return err }, ErrInvalid},
			{"assign before allocation", func() error { _, err := s.AssignNumber(ctx, tr.a.ID, n); return err }, ErrNumberNotOwned},
			{"allocate to root (national form)", func() error { _, err := s.AllocateNumber(ctx, tr.root.ID, "0480 000 123"); return err }, nil},
			{"allocate again", func() error { _, err := s.AllocateNumber(ctx, tr.root.ID, "+61480000123"); return err }, nil},
			{"another tenant allocates it", func() error { _, err := s.AllocateNumber(ctx, tr.other.ID, n); return err }, ErrNumberTaken},
			{"another tenant assigns it", func() error { _, err := s.AssignNumber(ctx, tr.other.ID, n); return err }, ErrNumberNotOwned},
			{"root confirms its own", func() error { _, err := s.AssignNumber(ctx, tr.root.ID, n); return err }, nil},
			{"assign to A", func() error { _, err := s.AssignNumber(ctx, tr.a.ID, "+61 480 000 123"); return err }, nil},
			{"assign to A again", func() error { _, err := s.AssignNumber(ctx, tr.a.ID, n); return err }, nil},
			{"assign to sibling B", func() error { _, err := s.AssignNumber(ctx, tr.b.ID, n); return err }, ErrNumberTaken},
			{"root's own is A's now", func() error { _, err := s.AssignNumber(ctx, tr.root.ID, n); return err }, ErrNumberTaken},
			{"B unassigns what it lacks", func() error { return s.UnassignNumber(ctx, tr.b.ID, n) }, ErrNotFound},
			{"root unassigns", func() error { return s.UnassignNumber(ctx, tr.root.ID, n) }, ErrInvalid},
		}
		for _, st := range steps {
			if err := st.run(); !errors.Is(err, st.want) || (st.want == nil) != (err == nil) {
				t.Fatalf("%s: %v, want %v", st.name, err, st.want)
			}
		}
		if got, _ := s.NumberOwner(ctx, "+"+n); got != tr.a.ID {
			t.Fatalf("NumberOwner = %q, want A %s", got, tr.a.ID)
		}
		for _, c := range []struct {
			acct *Account
			want []string
		}{{tr.a, []string{n}}, {tr.root, []string{}}, {tr.b, []string{}}} {
			got, err := s.Senders(ctx, c.acct.ID)
			if err != nil || !slices.Equal(got.Numbers, c.want) {
				t.Fatalf("Senders(%s) = %+v, %v; want numbers %v", c.acct.Name, got, err, c.want)
			}
		}
		// Default, then back to the root: A's default goes with the number.
		if _, err := s.SetDefaultSender(ctx, tr.a.ID, "+"+n); err != nil {
			t.Fatal(err)
		}
		if err := s.UnassignNumber(ctx, tr.a.ID, n); err != nil {
			t.Fatal(err)
		}
		a, _ := s.GetAccount(ctx, tr.a.ID)
		r, _ := s.Senders(ctx, tr.root.ID)
		if a.SenderID != "" || !slices.Equal(r.Numbers, []string{n}) {
			t.Fatalf("after unassign: A default %q, root numbers %v", a.SenderID, r.Numbers)
		}
		// The operator takes it back.
		if owner, err := s.FreeNumber(ctx, n); err != nil || owner != tr.root.ID {
			t.Fatalf("FreeNumber = %q, %v", owner, err)
		}
		if _, err := s.FreeNumber(ctx, n); !errors.Is(err, ErrNotFound) {
			t.Fatalf("FreeNumber again = %v, want ErrNotFound", err)
		}
		if r, _ := s.Senders(ctx, tr.root.ID); len(r.Numbers) != 0 {
			t.Fatalf("root numbers after free: %v", r.Numbers)
		}
	})
}

// TestNumberOfDeletedSub: a deleted sub-account's number routes no more
// replies to it and goes back to the tree on the next assignment.
func TestNumberOfDeletedSub(t *testing.T) {
	s := NewStore(redistest.Start(t), StoreOptions{})
	ctx := acctTestCtx(t)
	tr := sendersNewTree(t, s)
	const n = "61480000123"
	if _, err := s.AllocateNumber(ctx, tr.root.ID, n); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AssignNumber(ctx, tr.a.ID, n); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteAccount(ctx, tr.a.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if r, _, err := s.RouteReply(ctx, Reply{From: "61499999999", To: n, Text: "hi"}); err != nil || r.AccountID != "" {
		t.Fatalf("reply to a deleted sub's number: %+v, %v; want unrouted", r, err)
	}
	if _, err := s.AssignNumber(ctx, tr.other.ID, n); !errors.Is(err, ErrNumberNotOwned) {
		t.Fatalf("another tenant takes it: %v", err)
	}
	if got, err := s.AssignNumber(ctx, tr.b.ID, n); err != nil || !slices.Equal(got.Numbers, []string{n}) {
		t.Fatalf("B takes it: %+v, %v", got, err)
	}
}

// TestAssignNumberRace: two siblings claim one number at once; exactly one
// gets it, and the listings agree.
func TestAssignNumberRace(t *testing.T) {
	s := NewStore(redistest.Start(t), StoreOptions{Shards: 4})
	ctx := acctTestCtx(t)
	for round := range 20 {
		tr := sendersNewTree(t, s)
		n := fmt.Sprintf("614800%05d", round)
		if _, err := s.AllocateNumber(ctx, tr.root.ID, n); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, acct := range []*Account{tr.a, tr.b} {
			wg.Go(func() { _, errs[i] = s.AssignNumber(ctx, acct.ID, n) })
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: errors %v; want exactly one winner", round, errs)
		}
		held := 0
		for _, acct := range []*Account{tr.root, tr.a, tr.b} {
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
	acctEachShards(t, func(t *testing.T, s *Store) {
		ctx := acctTestCtx(t)
		tr := sendersNewTree(t, s)
		for _, c := range []struct {
			name, id string
			want     error
		}{
			{"approve", "ACME", nil},
			{"same in another case", "acme", nil},
			{"second", "Shop24", nil},
			{"eleven", "ABCDEFGHIJK", nil},
			{"twelve", "ABCDEFGHIJKL", ErrInvalid},
			{"digits only", "12345", ErrInvalid},
			{"space", "AC ME", ErrInvalid},
			{"empty", " ", ErrInvalid},
			{"non-ASCII", "Café", ErrInvalid},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.AddSenderID(ctx, tr.a.ID, c.id)
				if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
					t.Fatalf("AddSenderID(%q) = %v, want %v", c.id, err, c.want)
				}
			})
		}
		got, err := s.Senders(ctx, tr.a.ID)
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
		if _, err := s.SetDefaultSender(ctx, tr.a.ID, "EVIL"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("SetDefaultSender(EVIL) = %v, want ErrInvalid", err)
		}
		if d, err := s.SetDefaultSender(ctx, tr.a.ID, "acme"); err != nil || d.Default != "ACME" {
			t.Fatalf("SetDefaultSender(acme) = %+v, %v", d, err)
		}
		if a, _ := s.GetAccount(ctx, tr.a.ID); a.SenderID != "ACME" || a.Name != "A" {
			t.Fatalf("account after default: %+v", a)
		}
		// B does not share A's ids.
		if _, err := s.SetDefaultSender(ctx, tr.b.ID, "ACME"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("B SetDefaultSender(ACME) = %v, want ErrInvalid", err)
		}
		if err := s.RemoveSenderID(ctx, tr.a.ID, "Acme"); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveSenderID(ctx, tr.a.ID, "ACME"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("remove again = %v, want ErrNotFound", err)
		}
		if a, _ := s.GetAccount(ctx, tr.a.ID); a.SenderID != "" {
			t.Fatalf("default %q survived its removal", a.SenderID)
		}
		if d, err := s.SetDefaultSender(ctx, tr.a.ID, ""); err != nil || d.Default != "" {
			t.Fatalf("clear default = %+v, %v", d, err)
		}
		if _, err := s.Senders(ctx, "a0-0000000000000000"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Senders(unknown) = %v", err)
		}
	})
}

// TestRouteReplyToNumber: a reply with no conversation goes to the holder
// of the dedicated number it was sent to; with none, to the unrouted inbox.
func TestRouteReplyToNumber(t *testing.T) {
	acctEachShards(t, func(t *testing.T, s *Store) {
		ctx := acctTestCtx(t)
		tr := sendersNewTree(t, s)
		const n = "61480000123"
		if _, err := s.AllocateNumber(ctx, tr.root.ID, n); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AssignNumber(ctx, tr.a.ID, n); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name, to, want string
		}{
			{"dedicated number", n, tr.a.ID},
			{"with plus", "+" + n, tr.a.ID},
			{"shared number", "61480000000", ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				r, msg, err := s.RouteReply(ctx, Reply{From: "61499999999", To: c.to, Text: "hi", Link: "l"})
				if err != nil || msg != nil || r.AccountID != c.want || r.MessageID != "" {
					t.Fatalf("RouteReply = %+v, %v, %v; want account %q", r, msg, err, c.want)
				}
				inbox, err := s.ListInbox(ctx, c.want, 100)
				if err != nil || !slices.ContainsFunc(inbox, func(x *Reply) bool { return x.ID == r.ID }) {
					t.Fatalf("reply %s not in inbox %q (%v)", r.ID, c.want, err)
				}
			})
		}
	})
}

func TestSplitPlus(t *testing.T) {
	for _, c := range []struct{ in, base, tag string }{
		{"alice+ACME@example.com", "alice@example.com", "ACME"},
		{"alice@example.com", "alice@example.com", ""},
		{"alice+a+b@example.com", "alice@example.com", "a+b"},
		{"+x@example.com", "+x@example.com", ""},
		{"no-at", "no-at", ""},
		{"alice+@example.com", "alice@example.com", ""},
	} {
		if base, tag := SplitPlus(c.in); base != c.base || tag != c.tag {
			t.Errorf("SplitPlus(%q) = %q, %q; want %q, %q", c.in, base, tag, c.base, c.tag)
		}
	}
}

func TestResolveSenderPlus(t *testing.T) {
	s := NewStore(redistest.Start(t), StoreOptions{})
	ctx := acctTestCtx(t)
	a := acctMustCreate(t, s, Account{Name: "A"})
	if err := s.AddAddress(ctx, a.ID, "ceo@gmail.com"); err != nil {
		t.Fatal(err)
	}
	sd, err := s.ResolveSender(ctx, "CEO+ACME@gmail.com")
	if err != nil || sd.Account.ID != a.ID || sd.Address != "ceo+acme@gmail.com" || sd.Match != "address" {
		t.Fatalf("ResolveSender = %+v, %v", sd, err)
	}
	if _, err := s.ResolveSender(ctx, "cfo+ACME@gmail.com"); !errors.Is(err, ErrUnknownSender) {
		t.Fatalf("unregistered base: %v", err)
	}
}
