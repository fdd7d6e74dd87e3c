package tenancy_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

func TestCreateGetAccount(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		root := storetest.AcctMustCreate(t, s, accounts.Account{Name: " Acme ", ContactEmail: "Ops <ops@acme.example>", PricePerPart: 8})
		want := accounts.Account{ID: root.ID, Name: "Acme", ContactEmail: "ops@acme.example", Status: accounts.StatusActive,
			DefaultCountry: "US", PricePerPart: 8, Currency: "USD", MaxParts: 10, LongMessage: accounts.LongReject,
			SubjectMode: accounts.SubjectIgnore, CreatedAt: root.CreatedAt, Billing: accounts.BillingPrepaid,
			Permissions: accounts.Permissions{Granted: []string{}, Enabled: []string{}}}
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
		sub := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sales", ParentID: root.ID, DefaultCountry: "au"})
		if sub.DefaultCountry != "AU" || sub.Currency != "USD" || sub.ParentID != root.ID {
			t.Fatalf("sub = %+v", *sub)
		}
		rs, _ := s.ShardFromID(root.ID)
		ss, _ := s.ShardFromID(sub.ID)
		if rs != ss {
			t.Fatalf("sub shard %d, parent shard %d", ss, rs)
		}
		for _, id := range []string{"", "a", "nope", "a9-x", "m0-abc", "a0-doesnotexist"} {
			if _, err := s.GetAccount(ctx, id); !errors.Is(err, accounts.ErrNotFound) {
				t.Errorf("GetAccount(%q) = %v, want ErrNotFound", id, err)
			}
		}
	})
}

func TestCreateAccountInvalid(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root"})
	sub := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sub", ParentID: root.ID})
	off := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Off"})
	if err := s.SetStatus(storetest.AcctTestCtx(t), off.ID, accounts.StatusDeactivated); err != nil {
		t.Fatal(err)
	}
	eur := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Euro", Currency: "eur"})
	tests := []struct {
		name string
		a    accounts.Account
		want string
	}{
		{"no name", accounts.Account{Name: "  "}, "name: required"},
		{"long name", accounts.Account{Name: strings.Repeat("x", 101)}, "name: longer"},
		{"bad country", accounts.Account{Name: "x", DefaultCountry: "USA"}, `default_country: unknown country "USA"`},
		{"digit country", accounts.Account{Name: "x", DefaultCountry: "U1"}, "default_country"},
		{"bad email", accounts.Account{Name: "x", ContactEmail: "nope"}, "contact_email"},
		{"negative price", accounts.Account{Name: "x", PricePerPart: -1}, "price_per_part"},
		{"bad currency", accounts.Account{Name: "x", Currency: "dollars"}, "currency"},
		{"too many parts", accounts.Account{Name: "x", MaxParts: 256}, "max_parts"},
		{"negative parts", accounts.Account{Name: "x", MaxParts: -1}, "max_parts"},
		{"long message", accounts.Account{Name: "x", LongMessage: "split"}, "long_message"},
		{"subject mode", accounts.Account{Name: "x", SubjectMode: "append"}, "subject_mode"},
		{"sender id", accounts.Account{Name: "x", SenderID: "TooLongSenderName"}, "sender_id"},
		{"status", accounts.Account{Name: "x", Status: "frozen"}, "status"},
		{"unknown parent", accounts.Account{Name: "x", ParentID: "a0-0000000000000000"}, "parent_id"},
		{"nested", accounts.Account{Name: "x", ParentID: sub.ID}, "is a sub-account; nesting is one level deep"},
		{"deactivated parent", accounts.Account{Name: "x", ParentID: off.ID}, "deactivated"},
		{"currency differs", accounts.Account{Name: "x", ParentID: eur.ID, Currency: "USD"}, "currency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateAccount(storetest.AcctTestCtx(t), tt.a)
			if !errors.Is(err, accounts.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}

func TestUpdateAccount(t *testing.T) {
	s := storetest.New(t, redisstore.Options{Shards: 4})
	ctx := storetest.AcctTestCtx(t)
	a := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Acme"})
	if _, err := s.Credit(ctx, a.ID, 500, "topup", "op"); err != nil {
		t.Fatal(err)
	}
	u := *a
	u.Name, u.MaxParts, u.LongMessage, u.SenderID, u.PricePerPart = "Acme Pty", 3, accounts.LongTruncate, "ACME", 12
	u.Balance, u.Status, u.ParentID = 999999, accounts.StatusDeactivated, "a0-zzzz" // read-only: ignored
	if err := s.UpdateAccount(ctx, &u); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAccount(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Acme Pty" || got.MaxParts != 3 || got.LongMessage != accounts.LongTruncate || got.SenderID != "ACME" ||
		got.PricePerPart != 12 || got.Balance != 500 || got.Status != accounts.StatusActive || got.ParentID != "" {
		t.Fatalf("after update: %+v", *got)
	}
	if !reflect.DeepEqual(u, *got) {
		t.Fatalf("UpdateAccount left %+v, stored %+v", u, *got)
	}
	tests := []struct {
		name string
		edit func(*accounts.Account)
		want error
	}{
		{"bad name", func(x *accounts.Account) { x.Name = "" }, accounts.ErrInvalid},
		{"currency change", func(x *accounts.Account) { x.Currency = "EUR" }, accounts.ErrInvalid},
		{"unknown", func(x *accounts.Account) { x.ID = "a1-0000000000000000" }, accounts.ErrNotFound},
		{"malformed id", func(x *accounts.Account) { x.ID = "bogus" }, accounts.ErrNotFound},
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
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		var roots []*accounts.Account
		for _, n := range []string{"Zulu", "Alpha", "Mike"} {
			roots = append(roots, storetest.AcctMustCreate(t, s, accounts.Account{Name: n}))
		}
		for _, n := range []string{"b-sub", "a-sub"} {
			storetest.AcctMustCreate(t, s, accounts.Account{Name: n, ParentID: roots[0].ID})
		}
		list, err := s.ListAccounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := storetest.AcctNames(list); got != "Alpha,Mike,Zulu" {
			t.Fatalf("ListAccounts = %s", got)
		}
		subs, err := s.ListSubAccounts(ctx, roots[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := storetest.AcctNames(subs); got != "a-sub,b-sub" {
			t.Fatalf("ListSubAccounts = %s", got)
		}
		if subs, err := s.ListSubAccounts(ctx, roots[1].ID); err != nil || len(subs) != 0 {
			t.Fatalf("ListSubAccounts(empty) = %v, %v", subs, err)
		}
		if _, err := s.ListSubAccounts(ctx, "a0-nothere"); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("ListSubAccounts(unknown) = %v", err)
		}
	})
}

func TestSetStatus(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	ctx := storetest.AcctTestCtx(t)
	a := storetest.AcctMustCreate(t, s, accounts.Account{Name: "A"})
	tests := []struct {
		name string
		id   string
		st   accounts.Status
		want error
	}{
		{"deactivate", a.ID, accounts.StatusDeactivated, nil},
		{"again", a.ID, accounts.StatusDeactivated, nil},
		{"activate", a.ID, accounts.StatusActive, nil},
		{"unknown status", a.ID, "frozen", accounts.ErrInvalid},
		{"unknown account", "a0-0000000000000000", accounts.StatusActive, accounts.ErrNotFound},
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
	if _, err := s.GetAccount(ctx, "a0-0000000000000000"); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("SetStatus created a record: %v", err)
	}
}
