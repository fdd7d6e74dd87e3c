package tenancy_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
	"github.com/smsgate/smsgate/accounts/tenancy"
)

func TestAddDomain(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		a := storetest.AcctMustCreate(t, s, accounts.Account{Name: "A"})
		b := storetest.AcctMustCreate(t, s, accounts.Account{Name: "B"})
		tests := []struct {
			name, acct, domain string
			want               error
		}{
			{"claim", a.ID, "Acme.Example.", nil},
			{"same account again", a.ID, "acme.example", nil},
			{"another account", b.ID, "ACME.example", accounts.ErrDomainTaken},
			{"public", a.ID, "gmail.com", accounts.ErrPublicDomain},
			{"public upper", a.ID, "Outlook.COM", accounts.ErrPublicDomain},
			{"public subdomain", a.ID, "x.yahoo.com", accounts.ErrPublicDomain},
			{"public suffix", a.ID, "co.uk", accounts.ErrPublicDomain},
			{"public suffix au", a.ID, "com.au", accounts.ErrPublicDomain},
			{"private public suffix", a.ID, "github.io", accounts.ErrPublicDomain},
			{"under a private suffix", a.ID, "acme.github.io", nil},
			{"free mail country variant", a.ID, "yahoo.com.au", accounts.ErrPublicDomain},
			{"free mail country variant 2", a.ID, "outlook.com.au", accounts.ErrPublicDomain},
			{"free mail country subdomain", a.ID, "mail.hotmail.co.uk", accounts.ErrPublicDomain},
			{"organisation under co.uk", a.ID, "acme.co.uk", nil},
			{"single label", a.ID, "localhost", accounts.ErrInvalid},
			{"empty", a.ID, "", accounts.ErrInvalid},
			{"leading hyphen", a.ID, "-acme.example", accounts.ErrInvalid},
			{"empty label", a.ID, "acme..example", accounts.ErrInvalid},
			{"ip", a.ID, "192.168.1.1", accounts.ErrInvalid},
			{"space", a.ID, "ac me.example", accounts.ErrInvalid},
			{"unicode", a.ID, "bücher.example", accounts.ErrInvalid},
			{"punycode", a.ID, "xn--bcher-kva.example", nil},
			{"unknown account", "a0-0000000000000000", "other.example", accounts.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := s.AddDomain(ctx, tt.acct, tt.domain)
				if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
					t.Fatalf("AddDomain(%q) = %v, want %v", tt.domain, err, tt.want)
				}
			})
		}
		domains, addrs, err := s.Registrations(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(domains, []string{"acme.co.uk", "acme.example", "acme.github.io", "xn--bcher-kva.example"}) || len(addrs) != 0 {
			t.Fatalf("Registrations = %v, %v", domains, addrs)
		}
	})
}

func TestAddDomainRace(t *testing.T) {
	s := storetest.New(t, redisstore.Options{Shards: 4})
	ctx := storetest.AcctTestCtx(t)
	const n = 50
	ids := make([]string, n)
	for i := range ids {
		ids[i] = storetest.AcctMustCreate(t, s, accounts.Account{Name: fmt.Sprint("racer ", i)}).ID
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.AddDomain(ctx, ids[i], "contested.example")
		})
	}
	close(start)
	wg.Wait()
	winner := ""
	for i, err := range errs {
		switch {
		case err == nil:
			if winner != "" {
				t.Fatalf("two winners: %s and %s", winner, ids[i])
			}
			winner = ids[i]
		case !errors.Is(err, accounts.ErrDomainTaken):
			t.Fatalf("racer %d: %v", i, err)
		}
	}
	if winner == "" {
		t.Fatal("no winner")
	}
	sd, err := s.ResolveSender(ctx, "x@contested.example")
	if err != nil || sd.Account.ID != winner {
		t.Fatalf("ResolveSender = %+v, %v; want %s", sd, err, winner)
	}
}

func TestRemoveRegistrations(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	ctx := storetest.AcctTestCtx(t)
	a := storetest.AcctMustCreate(t, s, accounts.Account{Name: "A"})
	b := storetest.AcctMustCreate(t, s, accounts.Account{Name: "B"})
	for _, err := range []error{
		s.AddDomain(ctx, a.ID, "a.example"),
		s.AddAddress(ctx, a.ID, "Boss@Gmail.com"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddAddress(ctx, b.ID, "boss@gmail.com"); !errors.Is(err, accounts.ErrAddressTaken) {
		t.Fatalf("AddAddress taken = %v", err)
	}
	tests := []struct {
		name   string
		remove func() error
		want   error
	}{
		{"domain by non-owner", func() error { return s.RemoveDomain(ctx, b.ID, "a.example") }, accounts.ErrNotFound},
		{"address by non-owner", func() error { return s.RemoveAddress(ctx, b.ID, "boss@gmail.com") }, accounts.ErrNotFound},
		{"domain by owner", func() error { return s.RemoveDomain(ctx, a.ID, "A.example.") }, nil},
		{"domain twice", func() error { return s.RemoveDomain(ctx, a.ID, "a.example") }, accounts.ErrNotFound},
		{"address by owner", func() error { return s.RemoveAddress(ctx, a.ID, "BOSS@gmail.com") }, nil},
		{"invalid", func() error { return s.RemoveDomain(ctx, a.ID, "???") }, accounts.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.remove(); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	d, ad, err := s.Registrations(ctx, a.ID)
	if err != nil || len(d)+len(ad) != 0 {
		t.Fatalf("Registrations after removal = %v %v %v", d, ad, err)
	}
	// Released: another account may claim them now.
	if err := s.AddDomain(ctx, b.ID, "a.example"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAddress(ctx, b.ID, "boss@gmail.com"); err != nil {
		t.Fatal(err)
	}
}

func TestAddAddressInvalid(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	a := storetest.AcctMustCreate(t, s, accounts.Account{Name: "A"})
	for _, email := range []string{"", "nobody", "@x.example", "a@", "Boss <boss@x.example>", "a@localhost", "a b@x.example"} {
		t.Run(email, func(t *testing.T) {
			if err := s.AddAddress(storetest.AcctTestCtx(t), a.ID, email); !errors.Is(err, accounts.ErrInvalid) {
				t.Fatalf("AddAddress(%q) = %v, want ErrInvalid", email, err)
			}
		})
	}
}

// TestAddAddressInOtherDomain: an exact address inside a domain of another
// account is refused unless both are of one tree, and the refused address
// stays the domain owner's at MAIL FROM.
func TestAddAddressInOtherDomain(t *testing.T) {
	s := storetest.AcceptTestStore(t, 1)
	ctx := t.Context()
	root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root"})
	sales := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sales", ParentID: root.ID})
	ops := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Ops", ParentID: root.ID})
	other := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Other"})
	for _, err := range []error{
		s.AddDomain(ctx, root.ID, "acme.example"),
		s.AddDomain(ctx, sales.ID, "sales.acme.example"),
		s.AddDomain(ctx, other.ID, "b.example.org"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, acct, addr string
		want             error
	}{
		{"another tenant's domain", sales.ID, "carol@b.example.org", accounts.ErrAddressInOtherDomain},
		{"a sibling's domain", ops.ID, "jo@sales.acme.example", accounts.ErrAddressInOtherDomain},
		{"the parent's domain", ops.ID, "ops@acme.example", nil},
		{"a sub-account's domain, by the parent", root.ID, "boss@sales.acme.example", nil},
		{"its own domain", other.ID, "carol@b.example.org", nil},
		{"an unregistered domain", sales.ID, "x@free.example", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.AddAddress(ctx, tt.acct, tt.addr); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("AddAddress(%s) = %v, want %v", tt.addr, err, tt.want)
			}
		})
	}
	// The refused address was not claimed: mail from it still resolves to
	// the domain's owner.
	sd, err := s.ResolveSender(ctx, "jo@sales.acme.example")
	if err != nil || sd.Account.ID != sales.ID || sd.Match != "domain" {
		t.Fatalf("ResolveSender = %+v %v, want the domain owner", sd, err)
	}
}

func TestResolveSender(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root"})
		sales := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sales", ParentID: root.ID})
		other := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Other"})
		otherSub := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Other sub", ParentID: other.ID})
		off := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Off"})
		for _, err := range []error{
			s.AddDomain(ctx, root.ID, "acme.example"),
			s.AddAddress(ctx, sales.ID, "sales@acme.example"),
			s.AddAddress(ctx, root.ID, "boss@gmail.com"),
			s.AddDomain(ctx, otherSub.ID, "other.example"),
			s.AddDomain(ctx, off.ID, "off.example"),
			s.SetStatus(ctx, off.ID, accounts.StatusDeactivated),
			s.SetStatus(ctx, other.ID, accounts.StatusDeactivated),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name, email string
			acct, match string
			want        error
		}{
			{"exact address before domain", "Sales@ACME.example", sales.ID, "address", nil},
			{"domain", "anyone@acme.example", root.ID, "domain", nil},
			{"address at public domain", "boss@gmail.com", root.ID, "address", nil},
			{"unknown", "someone@gmail.com", "", "", accounts.ErrUnknownSender},
			{"subdomain not registered", "x@eu.acme.example", "", "", accounts.ErrUnknownSender},
			{"empty", "", "", "", accounts.ErrUnknownSender},
			{"no domain", "postmaster", "", "", accounts.ErrUnknownSender},
			{"deactivated", "x@off.example", "", "", accounts.ErrDeactivated},
			{"deactivated parent", "x@other.example", "", "", accounts.ErrDeactivated},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				sd, err := s.ResolveSender(ctx, tt.email)
				if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
					t.Fatalf("ResolveSender(%q) = %v, want %v", tt.email, err, tt.want)
				}
				if err != nil {
					return
				}
				if sd.Account.ID != tt.acct || sd.Match != tt.match || sd.Address != strings.ToLower(tt.email) {
					t.Fatalf("ResolveSender(%q) = %s %s %s", tt.email, sd.Account.ID, sd.Match, sd.Address)
				}
			})
		}
	})
}

func FuzzRegNormalizeDomain(f *testing.F) {
	for _, s := range []string{"acme.example", "A.B.C.", "-x.example", "xn--bcher-kva.example", "1.2.3.4", "", "..", "a.b-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := tenancy.RegNormalizeDomain(in)
		if err != nil {
			return
		}
		again, err := tenancy.RegNormalizeDomain(d)
		if err != nil || again != d {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, d, again, err)
		}
		if len(d) > 253 || strings.ContainsAny(d, " @:") {
			t.Fatalf("accepted %q", d)
		}
	})
}
