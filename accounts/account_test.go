package accounts

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/internal/redistest"
)

// acctEachShards runs f against a fresh store with 1 and with 4 shards.
func acctEachShards(t *testing.T, f func(t *testing.T, s *Store)) {
	t.Helper()
	for _, n := range []int{1, 4} {
		t.Run(fmt.Sprintf("shards=%d", n), func(t *testing.T) {
			f(t, NewStore(redistest.Start(t), StoreOptions{Shards: n}))
		})
	}
}

// acctTestCtx bounds every test's Redis calls.
func acctTestCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func acctMustCreate(t *testing.T, s *Store, a Account) *Account {
	t.Helper()
	got, err := s.CreateAccount(acctTestCtx(t), a)
	if err != nil {
		t.Fatalf("CreateAccount(%+v): %v", a, err)
	}
	return got
}

func TestCreateGetAccount(t *testing.T) {
	acctEachShards(t, func(t *testing.T, s *Store) {
		ctx := acctTestCtx(t)
		root := acctMustCreate(t, s, Account{Name: " Acme ", ContactEmail: "Ops <ops@acme.example>", PricePerPart: 8})
		want := Account{ID: root.ID, Name: "Acme", ContactEmail: "ops@acme.example", Status: StatusActive,
			DefaultCountry: "US", PricePerPart: 8, Currency: "USD", MaxParts: 10, LongMessage: LongReject,
			SubjectMode: SubjectIgnore, CreatedAt: root.CreatedAt, Billing: BillingPrepaid,
			Permissions: Permissions{Granted: []string{}, Enabled: []string{}}}
		if !reflect.DeepEqual(*root, want) {
			t.Fatalf("created %+v, want %+v", *root, want)
		}
		got, err := s.GetAccount(ctx, root.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.CreatedAt.Equal(root.CreatedAt) || got.Name != "Acme" || got.MaxParts != 10 || got.Balance != 0 {
			t.Fatalf("GetAccount = %+v, want %+v", *got, *root)
		}
		sub := acctMustCreate(t, s, Account{Name: "Sales", ParentID: root.ID, DefaultCountry: "au"})
		if sub.DefaultCountry != "AU" || sub.Currency != "USD" || sub.ParentID != root.ID {
			t.Fatalf("sub = %+v", *sub)
		}
		rs, _ := s.shardFromID(root.ID)
		ss, _ := s.shardFromID(sub.ID)
		if rs != ss {
			t.Fatalf("sub shard %d, parent shard %d", ss, rs)
		}
		for _, id := range []string{"", "a", "nope", "a9-x", "m0-abc", "a0-doesnotexist"} {
			if _, err := s.GetAccount(ctx, id); !errors.Is(err, ErrNotFound) {
				t.Errorf("GetAccount(%q) = %v, want ErrNotFound", id, err)
			}
		}
	})
}

func TestCreateAccountInvalid(t *testing.T) {
	s := NewStore(redistest.Start(t), StoreOptions{})
	root := acctMustCreate(t, s, Account{Name: "Root"})
	sub := acctMustCreate(t, s, Account{Name: "Sub", ParentID: root.ID})
	off := acctMustCreate(t, s, Account{Name: "Off"})
	if err := s.SetStatus(acctTestCtx(t), off.ID, StatusDeactivated); err != nil {
		t.Fatal(err)
	}
	eur := acctMustCreate(t, s, Account{Name: "Euro", Currency: "eur"})
	tests := []struct {
		name string
		a    Account
		want string
	}{
		{"no name", Account{Name: "  "}, "name: required"},
		{"long name", Account{Name: strings.Repeat("x", 101)}, "name: longer"},
		{"bad country", Account{Name: "x", DefaultCountry: "USA"}, `default_country: unknown country "USA"`},
		{"digit country", Account{Name: "x", DefaultCountry: "U1"}, "default_country"},
		{"bad email", Account{Name: "x", ContactEmail: "nope"}, "contact_email"},
		{"negative price", Account{Name: "x", PricePerPart: -1}, "price_per_part"},
		{"bad currency", Account{Name: "x", Currency: "dollars"}, "currency"},
		{"too many parts", Account{Name: "x", MaxParts: 256}, "max_parts"},
		{"negative parts", Account{Name: "x", MaxParts: -1}, "max_parts"},
		{"long message", Account{Name: "x", LongMessage: "split"}, "long_message"},
		{"subject mode", Account{Name: "x", SubjectMode: "append"}, "subject_mode"},
		{"sender id", Account{Name: "x", SenderID: "TooLongSenderName"}, "sender_id"},
		{"status", Account{Name: "x", Status: "frozen"}, "status"},
		{"unknown parent", Account{Name: "x", ParentID: "a0-0000000000000000"}, "parent_id"},
		{"nested", Account{Name: "x", ParentID: sub.ID}, "is a sub-account; nesting is one level deep"},
		{"deactivated parent", Account{Name: "x", ParentID: off.ID}, "deactivated"},
		{"currency differs", Account{Name: "x", ParentID: eur.ID, Currency: "USD"}, "currency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateAccount(acctTestCtx(t), tt.a)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}

func TestUpdateAccount(t *testing.T) {
	s := NewStore(redistest.Start(t), StoreOptions{Shards: 4})
	ctx := acctTestCtx(t)
	a := acctMustCreate(t, s, Account{Name: "Acme"})
	if _, err := s.Credit(ctx, a.ID, 500, "topup", "op"); err != nil {
		t.Fatal(err)
	}
	u := *a
	u.Name, u.MaxParts, u.LongMessage, u.SenderID, u.PricePerPart = "Acme Pty", 3, LongTruncate, "ACME", 12
	u.Balance, u.Status, u.ParentID = 999999, StatusDeactivated, "a0-zzzz" // read-only: ignored
	if err := s.UpdateAccount(ctx, &u); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAccount(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Acme Pty" || got.MaxParts != 3 || got.LongMessage != LongTruncate || got.SenderID != "ACME" ||
		got.PricePerPart != 12 || got.Balance != 500 || got.Status != StatusActive || got.ParentID != "" {
		t.Fatalf("after update: %+v", *got)
	}
	if !reflect.DeepEqual(u, *got) {
		t.Fatalf("UpdateAccount left %+v, stored %+v", u, *got)
	}
	tests := []struct {
		name string
		edit func(*Account)
		want error
	}{
		{"bad name", func(x *Account) { x.Name = "" }, ErrInvalid},
		{"currency change", func(x *Account) { x.Currency = "EUR" }, ErrInvalid},
		{"unknown", func(x *Account) { x.ID = "a1-0000000000000000" }, ErrNotFound},
		{"malformed id", func(x *Account) { x.ID = "bogus" }, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := *got
			tt.edit(&x)
			if err := s.UpdateAccount(ctx, &x); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestListAccounts(t *testing.T) {
	acctEachShards(t, func(t *testing.T, s *Store) {
		ctx := acctTestCtx(t)
		var roots []*Account
		for _, n := range []string{"Zulu", "Alpha", "Mike"} {
			roots = append(roots, acctMustCreate(t, s, Account{Name: n}))
		}
		for _, n := range []string{"b-sub", "a-sub"} {
			acctMustCreate(t, s, Account{Name: n, ParentID: roots[0].ID})
		}
		list, err := s.ListAccounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := acctNames(list); got != "Alpha,Mike,Zulu" {
			t.Fatalf("ListAccounts = %s", got)
		}
		subs, err := s.ListSubAccounts(ctx, roots[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := acctNames(subs); got != "a-sub,b-sub" {
			t.Fatalf("ListSubAccounts = %s", got)
		}
		if subs, err := s.ListSubAccounts(ctx, roots[1].ID); err != nil || len(subs) != 0 {
			t.Fatalf("ListSubAccounts(empty) = %v, %v", subs, err)
		}
		if _, err := s.ListSubAccounts(ctx, "a0-nothere"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("ListSubAccounts(unknown) = %v", err)
		}
	})
}

func TestSetStatus(t *testing.T) {
	s := NewStore(redistest.Start(t), StoreOptions{})
	ctx := acctTestCtx(t)
	a := acctMustCreate(t, s, Account{Name: "A"})
	tests := []struct {
		name string
		id   string
		st   Status
		want error
	}{
		{"deactivate", a.ID, StatusDeactivated, nil},
		{"again", a.ID, StatusDeactivated, nil},
		{"activate", a.ID, StatusActive, nil},
		{"unknown status", a.ID, "frozen", ErrInvalid},
		{"unknown account", "a0-0000000000000000", StatusActive, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.SetStatus(ctx, tt.id, tt.st); !errors.Is(err, tt.want) {
				t.Fatalf("SetStatus = %v, want %v", err, tt.want)
			}
			if tt.want == nil {
				got, _ := s.GetAccount(ctx, tt.id)
				if got.Status != tt.st {
					t.Fatalf("status %q, want %q", got.Status, tt.st)
				}
			}
		})
	}
	if _, err := s.GetAccount(ctx, "a0-0000000000000000"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetStatus created a record: %v", err)
	}
}

func acctNames(as []*Account) string {
	var n []string
	for _, a := range as {
		n = append(n, a.Name)
	}
	return strings.Join(n, ",")
}
