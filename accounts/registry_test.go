package accounts

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/smsgate/smsgate/internal/redistest"
)

func TestAddDomain(t *testing.T) {
	acctEachShards(t, func(t *testing.T, s *Store) {
		ctx := acctTestCtx(t)
		a := acctMustCreate(t, s, Account{Name: "A"})
		b := acctMustCreate(t, s, Account{Name: "B"})
		tests := []struct {
			name, acct, domain string
			want               error
		}{
			{"claim", a.ID, "Acme.Example.", nil},
			{"same account again", a.ID, "acme.example", nil},
			{"another account", b.ID, "ACME.example", ErrDomainTaken},
			{"public", a.ID, "gmail.com", ErrPublicDomain},
			{"public upper", a.ID, "Outlook.COM", ErrPublicDomain},
			{"public subdomain", a.ID, "x.yahoo.com", ErrPublicDomain},
			{"single label", a.ID, "localhost", ErrInvalid},
			{"empty", a.ID, "", ErrInvalid},
			{"leading hyphen", a.ID, "-acme.example", ErrInvalid},
			{"empty label", a.ID, "acme..example", ErrInvalid},
			{"ip", a.ID, "192.168.1.1", ErrInvalid},
			{"space", a.ID, "ac me.example", ErrInvalid},
			{"unicode", a.ID, "bücher.example", ErrInvalid},
			{"punycode", a.ID, "xn--bcher-kva.example", nil},
			{"unknown account", "a0-0000000000000000", "other.example", ErrNotFound},
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
		if !slices.Equal(domains, []string{"acme.example", "xn--bcher-kva.example"}) || len(addrs) != 0 {
			t.Fatalf("Registrations = %v, %v", domains, addrs)
		}
	})
}

func TestAddDomainRace(t *testing.T) {
	s := NewStore(redistest.Start(t), StoreOptions{Shards: 4})
	ctx := acctTestCtx(t)
	const n = 50
	ids := make([]string, n)
	for i := range ids {
		ids[i] = acctMustCreate(t, s, Account{Name: fmt.Sprint("racer ", i)}).ID
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
		case !errors.Is(err, ErrDomainTaken):
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
	s := NewStore(redistest.Start(t), StoreOptions{})
	ctx := acctTestCtx(t)
	a := acctMustCreate(t, s, Account{Name: "A"})
	b := acctMustCreate(t, s, Account{Name: "B"})
	for _, err := range []error{
		s.AddDomain(ctx, a.ID, "a.example"),
		s.AddAddress(ctx, a.ID, "Boss@Gmail.com"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddAddress(ctx, b.ID, "boss@gmail.com"); !errors.Is(err, ErrAddressTaken) {
		t.Fatalf("AddAddress taken = %v", err)
	}
	tests := []struct {
		name   string
		remove func() error
		want   error
	}{
		{"domain by non-owner", func() error { return s.RemoveDomain(ctx, b.ID, "a.example") }, ErrNotFound},
		{"address by non-owner", func() error { return s.RemoveAddress(ctx, b.ID, "boss@gmail.com") }, ErrNotFound},
		{"domain by owner", func() error { return s.RemoveDomain(ctx, a.ID, "A.example.") }, nil},
		{"domain twice", func() error { return s.RemoveDomain(ctx, a.ID, "a.example") }, ErrNotFound},
		{"address by owner", func() error { return s.RemoveAddress(ctx, a.ID, "BOSS@gmail.com") }, nil},
		{"invalid", func() error { return s.RemoveDomain(ctx, a.ID, "???") }, ErrNotFound},
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
	s := NewStore(redistest.Start(t), StoreOptions{})
	a := acctMustCreate(t, s, Account{Name: "A"})
	for _, email := range []string{"", "nobody", "@x.example", "a@", "Boss <boss@x.example>", "a@localhost", "a b@x.example"} {
		t.Run(email, func(t *testing.T) {
			if err := s.AddAddress(acctTestCtx(t), a.ID, email); !errors.Is(err, ErrInvalid) {
				t.Fatalf("AddAddress(%q) = %v, want ErrInvalid", email, err)
			}
		})
	}
}

func TestResolveSender(t *testing.T) {
	acctEachShards(t, func(t *testing.T, s *Store) {
		ctx := acctTestCtx(t)
		root := acctMustCreate(t, s, Account{Name: "Root"})
		sales := acctMustCreate(t, s, Account{Name: "Sales", ParentID: root.ID})
		other := acctMustCreate(t, s, Account{Name: "Other"})
		otherSub := acctMustCreate(t, s, Account{Name: "Other sub", ParentID: other.ID})
		off := acctMustCreate(t, s, Account{Name: "Off"})
		for _, err := range []error{
			s.AddDomain(ctx, root.ID, "acme.example"),
			s.AddAddress(ctx, sales.ID, "sales@acme.example"),
			s.AddAddress(ctx, root.ID, "boss@gmail.com"),
			s.AddDomain(ctx, otherSub.ID, "other.example"),
			s.AddDomain(ctx, off.ID, "off.example"),
			s.SetStatus(ctx, off.ID, StatusDeactivated),
			s.SetStatus(ctx, other.ID, StatusDeactivated),
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
			{"unknown", "someone@gmail.com", "", "", ErrUnknownSender},
			{"subdomain not registered", "x@eu.acme.example", "", "", ErrUnknownSender},
			{"empty", "", "", "", ErrUnknownSender},
			{"no domain", "postmaster", "", "", ErrUnknownSender},
			{"deactivated", "x@off.example", "", "", ErrDeactivated},
			{"deactivated parent", "x@other.example", "", "", ErrDeactivated},
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
		d, err := regNormalizeDomain(in)
		if err != nil {
			return
		}
		again, err := regNormalizeDomain(d)
		if err != nil || again != d {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, d, again, err)
		}
		if len(d) > 253 || strings.ContainsAny(d, " @:") {
			t.Fatalf("accepted %q", d)
		}
	})
}

func FuzzRegNormalizeAddress(f *testing.F) {
	for _, s := range []string{"a@b.example", "A@B.EXAMPLE", "x <a@b.example>", "\"q u\"@b.example", "@", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		a, err := regNormalizeAddress(in)
		if err != nil {
			return
		}
		again, err := regNormalizeAddress(a)
		if err != nil || again != a {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, a, again, err)
		}
	})
}
