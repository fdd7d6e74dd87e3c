package members_test

import (
	"errors"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

func TestRotateKey(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	ctx := t.Context()
	a, err := s.CreateAccount(ctx, accounts.Account{Name: "A"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateAccount(ctx, accounts.Account{Name: "B"})
	if err != nil {
		t.Fatal(err)
	}
	old, k, err := s.CreateKey(ctx, a.ID, accounts.RoleSubAdmin, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RotateKey(ctx, b.ID, k.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("another account rotated the key: %v", err)
	}
	fresh, k2, err := s.RotateKey(ctx, a.ID, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if k2.ID != k.ID || k2.Role != accounts.RoleSubAdmin || k2.Name != "ci" || fresh == old {
		t.Fatalf("rotated %+v", k2)
	}
	if _, err := s.Authenticate(ctx, old); !errors.Is(err, accounts.ErrBadKey) {
		t.Errorf("old secret still works: %v", err)
	}
	if got, err := s.Authenticate(ctx, fresh); err != nil || got.ID != k.ID {
		t.Errorf("new secret: %v %v", got, err)
	}
	if err := s.RevokeKey(ctx, a.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RotateKey(ctx, a.ID, k.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("a revoked key was rotated: %v", err)
	}
	if _, err := s.Authenticate(ctx, fresh); !errors.Is(err, accounts.ErrBadKey) {
		t.Errorf("revoked key works: %v", err)
	}
}
