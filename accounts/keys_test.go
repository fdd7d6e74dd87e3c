package accounts

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/smsgate/smsgate/internal/redistest"
)

func TestKeys(t *testing.T) {
	acctEachShards(t, func(t *testing.T, s *Store) {
		ctx := acctTestCtx(t)
		root := acctMustCreate(t, s, Account{Name: "Root"})
		sub := acctMustCreate(t, s, Account{Name: "Sub", ParentID: root.ID})
		other := acctMustCreate(t, s, Account{Name: "Other"})

		secret, k, err := s.CreateKey(ctx, root.ID, RoleParentAdmin, "ci")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "sgk_"+k.ID+"_") || k.AccountID != root.ID || k.Role != RoleParentAdmin {
			t.Fatalf("secret %q, key %+v", secret, k)
		}
		subSecret, subKey, err := s.CreateKey(ctx, sub.ID, RoleBasic, "")
		if err != nil {
			t.Fatal(err)
		}
		stored, err := s.rdb.HGet(ctx, s.gkey("key", k.ID), "hash").Result()
		if err != nil || stored != keyHash(secret) || strings.Contains(stored, secret) {
			t.Fatalf("stored hash %q, %v", stored, err)
		}

		got, err := s.Authenticate(ctx, secret)
		if err != nil || *got != *k {
			t.Fatalf("Authenticate = %+v, %v; want %+v", got, err, k)
		}

		tampered := []byte(secret)
		tampered[len(tampered)-1] ^= 1
		bad := []struct{ name, secret string }{
			{"empty", ""},
			{"no prefix", strings.TrimPrefix(secret, "sgk_")},
			{"tampered", string(tampered)},
			{"truncated", secret[:len(secret)-1]},
			{"other key's id", "sgk_" + subKey.ID + secret[len("sgk_")+len(k.ID):]},
			{"unknown id", "sgk_k0000000000_" + strings.Repeat("a", 32)},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				if _, err := s.Authenticate(ctx, tt.secret); !errors.Is(err, ErrBadKey) {
					t.Fatalf("Authenticate = %v, want ErrBadKey", err)
				}
			})
		}

		invalid := []struct {
			name, acct string
			role       Role
			want       error
		}{
			{"unknown role", root.ID, "god", ErrInvalid},
			{"parent_admin on sub", sub.ID, RoleParentAdmin, ErrInvalid},
			{"unknown account", "a0-0000000000000000", RoleBasic, ErrNotFound},
		}
		for _, tt := range invalid {
			t.Run(tt.name, func(t *testing.T) {
				if _, _, err := s.CreateKey(ctx, tt.acct, tt.role, ""); !errors.Is(err, tt.want) {
					t.Fatalf("CreateKey = %v, want %v", err, tt.want)
				}
			})
		}

		if _, _, err := s.CreateKey(ctx, root.ID, RoleAdvanced, "second"); err != nil {
			t.Fatal(err)
		}
		keys, err := s.ListKeys(ctx, root.ID)
		if err != nil || len(keys) != 2 || keys[0].ID != k.ID || keys[1].Name != "second" {
			t.Fatalf("ListKeys = %+v, %v", keys, err)
		}

		// Deactivation stops the key; activation restores it.
		if err := s.SetStatus(ctx, root.ID, StatusDeactivated); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, secret); !errors.Is(err, ErrDeactivated) {
			t.Fatalf("key of deactivated account: %v", err)
		}
		if _, err := s.Authenticate(ctx, subSecret); !errors.Is(err, ErrDeactivated) {
			t.Fatalf("key of sub of deactivated parent: %v", err)
		}
		if err := s.SetStatus(ctx, root.ID, StatusActive); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, subSecret); err != nil {
			t.Fatalf("reactivated: %v", err)
		}

		if err := s.RevokeKey(ctx, other.ID, k.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revoke another account's key: %v", err)
		}
		if err := s.RevokeKey(ctx, root.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeKey(ctx, root.ID, k.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revoke twice: %v", err)
		}
		if _, err := s.Authenticate(ctx, secret); !errors.Is(err, ErrBadKey) {
			t.Fatalf("revoked key: %v", err)
		}
		if keys, _ := s.ListKeys(ctx, root.ID); len(keys) != 1 || keys[0].Name != "second" {
			t.Fatalf("ListKeys after revoke = %+v", keys)
		}
	})
}

func TestBootstrap(t *testing.T) {
	s := NewStore(redistest.Start(t), StoreOptions{Shards: 4})
	ctx := acctTestCtx(t)
	if _, _, err := s.Bootstrap(ctx, Account{Name: "", DefaultCountry: "AU"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Bootstrap without name = %v", err)
	}
	const n = 10
	type result struct {
		a      *Account
		secret string
		err    error
	}
	res := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a, secret, err := s.Bootstrap(ctx, Account{Name: "Operator", DefaultCountry: "au"})
			res[i] = result{a, secret, err}
		})
	}
	wg.Wait()
	var win *result
	for i := range res {
		switch {
		case res[i].err == nil:
			if win != nil {
				t.Fatal("bootstrapped twice")
			}
			win = &res[i]
		case !errors.Is(res[i].err, ErrAlreadyBootstrapped):
			t.Fatal(res[i].err)
		}
	}
	if win == nil {
		t.Fatal("no bootstrap succeeded")
	}
	if win.a.DefaultCountry != "AU" || win.a.ParentID != "" {
		t.Fatalf("account %+v", win.a)
	}
	k, err := s.Authenticate(ctx, win.secret)
	if err != nil || k.AccountID != win.a.ID || k.Role != RoleParentAdmin {
		t.Fatalf("Authenticate(bootstrap secret) = %+v, %v", k, err)
	}
	if id, _ := s.rdb.Get(ctx, s.gkey("bootstrap")).Result(); id != win.a.ID {
		t.Fatalf("P:bootstrap = %q, want %q", id, win.a.ID)
	}
	if _, _, err := s.Bootstrap(ctx, Account{Name: "Again", DefaultCountry: "US"}); !errors.Is(err, ErrAlreadyBootstrapped) {
		t.Fatalf("second Bootstrap = %v", err)
	}
	if list, _ := s.ListAccounts(ctx); len(list) != 1 {
		t.Fatalf("%d root accounts after bootstrap", len(list))
	}
}

func FuzzKeyParse(f *testing.F) {
	for _, s := range []string{"sgk_k0123456789_" + strings.Repeat("a", 32), "sgk_", "sgk__", "sgk_k_x", "bearer x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		id, ok := keyParse(in)
		if ok && (!strings.HasPrefix(in, "sgk_"+id+"_") || len(id) != 11) {
			t.Fatalf("keyParse(%q) = %q", in, id)
		}
	})
}
