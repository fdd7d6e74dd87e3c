package members_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/members"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

func TestKeys(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root"})
		sub := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sub", ParentID: root.ID})
		other := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Other"})

		secret, k, err := s.CreateKey(ctx, root.ID, accounts.RoleParentAdmin, "ci")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "sgk_"+k.ID+"_") || k.AccountID != root.ID || k.Role != accounts.RoleParentAdmin {
			t.Fatalf("secret %q, key %+v", secret, k)
		}
		subSecret, subKey, err := s.CreateKey(ctx, sub.ID, accounts.RoleAdvanced, "")
		if err != nil {
			t.Fatal(err)
		}
		stored, err := s.RDB.HGet(ctx, s.Keys.APIKey(k.ID), "hash").Result()
		if err != nil || stored != members.KeyHash(secret) || strings.Contains(stored, secret) {
			t.Fatalf("stored hash %q, %v", stored, err)
		}

		got, err := s.Authenticate(ctx, secret)
		if err != nil || time.Since(got.LastUsedAt) > time.Minute {
			t.Fatalf("Authenticate = %+v, %v; want its use recorded", got, err)
		}
		got.LastUsedAt = time.Time{}
		if *got != *k {
			t.Fatalf("Authenticate = %+v; want %+v", got, k)
		}
		if l, _ := s.ListKeys(ctx, root.ID); len(l) != 1 || l[0].LastUsedAt.IsZero() {
			t.Fatalf("listed %+v: want the last use", l)
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
				if _, err := s.Authenticate(ctx, tt.secret); !errors.Is(err, accounts.ErrBadKey) {
					t.Fatalf("Authenticate = %v, want ErrBadKey", err)
				}
			})
		}

		invalid := []struct {
			name, acct string
			role       accounts.Role
			want       error
		}{
			{"unknown role", root.ID, "god", accounts.ErrInvalid},
			{"parent_admin on sub", sub.ID, accounts.RoleParentAdmin, accounts.ErrInvalid},
			{"unknown account", "a0-0000000000000000", accounts.RoleAdvanced, accounts.ErrNotFound},
			{"basic is a user's role", root.ID, accounts.RoleBasic, accounts.ErrInvalid},
		}
		for _, tt := range invalid {
			t.Run(tt.name, func(t *testing.T) {
				if _, _, err := s.CreateKey(ctx, tt.acct, tt.role, ""); !errors.Is(err, tt.want) {
					t.Fatalf("CreateKey = %v, want %v", err, tt.want)
				}
			})
		}

		if _, _, err := s.CreateKey(ctx, root.ID, accounts.RoleAdvanced, "second"); err != nil {
			t.Fatal(err)
		}
		keys, err := s.ListKeys(ctx, root.ID)
		if err != nil || len(keys) != 2 || keys[0].ID != k.ID || keys[1].Name != "second" {
			t.Fatalf("ListKeys = %+v, %v", keys, err)
		}

		// Deactivation stops the key; activation restores it.
		if err := s.SetStatus(ctx, root.ID, accounts.StatusDeactivated); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, secret); !errors.Is(err, accounts.ErrDeactivated) {
			t.Fatalf("key of deactivated account: %v", err)
		}
		if _, err := s.Authenticate(ctx, subSecret); !errors.Is(err, accounts.ErrDeactivated) {
			t.Fatalf("key of sub of deactivated parent: %v", err)
		}
		if err := s.SetStatus(ctx, root.ID, accounts.StatusActive); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, subSecret); err != nil {
			t.Fatalf("reactivated: %v", err)
		}

		if err := s.RevokeKey(ctx, other.ID, k.ID); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("revoke another account's key: %v", err)
		}
		if err := s.RevokeKey(ctx, root.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeKey(ctx, root.ID, k.ID); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("revoke twice: %v", err)
		}
		if _, err := s.Authenticate(ctx, secret); !errors.Is(err, accounts.ErrBadKey) {
			t.Fatalf("revoked key: %v", err)
		}
		if keys, _ := s.ListKeys(ctx, root.ID); len(keys) != 1 || keys[0].Name != "second" {
			t.Fatalf("ListKeys after revoke = %+v", keys)
		}
	})
}

func TestBootstrap(t *testing.T) {
	s := storetest.New(t, redisstore.Options{Shards: 4})
	ctx := storetest.AcctTestCtx(t)
	if _, _, err := s.Bootstrap(ctx, accounts.Account{Name: "", DefaultCountry: "AU"}); !errors.Is(err, accounts.ErrInvalid) {
		t.Fatalf("Bootstrap without name = %v", err)
	}
	const n = 10
	type result struct {
		a      *accounts.Account
		secret string
		err    error
	}
	res := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a, secret, err := s.Bootstrap(ctx, accounts.Account{Name: "Operator", DefaultCountry: "au"})
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
		case !errors.Is(res[i].err, accounts.ErrAlreadyBootstrapped):
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
	if err != nil || k.AccountID != win.a.ID || k.Role != accounts.RoleParentAdmin {
		t.Fatalf("Authenticate(bootstrap secret) = %+v, %v", k, err)
	}
	if id, _ := s.RDB.Get(ctx, s.Keys.Bootstrap()).Result(); id != win.a.ID {
		t.Fatalf("P:bootstrap = %q, want %q", id, win.a.ID)
	}
	if _, _, err := s.Bootstrap(ctx, accounts.Account{Name: "Again", DefaultCountry: "US"}); !errors.Is(err, accounts.ErrAlreadyBootstrapped) {
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
		id, ok := members.KeyParse(in)
		if ok && (!strings.HasPrefix(in, "sgk_"+id+"_") || len(id) != 11) {
			t.Fatalf("keyParse(%q) = %q", in, id)
		}
	})
}
