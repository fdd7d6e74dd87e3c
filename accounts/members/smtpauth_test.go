package members_test

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

// TestAuthenticateSMTP: each credential kind gives its identity and what it
// may send for; a removed member, a revoked key, a wrong password and an
// unknown user are ErrBadKey alike; the login throttle applies.
func TestAuthenticateSMTP(t *testing.T) {
	s := storetest.New(t, redisstore.Options{PasswordCost: bcrypt.MinCost})
	ctx := storetest.AcctTestCtx(t)
	root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root"})
	sub := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sub", ParentID: root.ID})
	other := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Other"})
	alice := userMust(t, s, "alice@example.com")
	userJoinMust(t, s, sub.ID, alice, accounts.RoleBasic)

	id, err := s.AuthenticateSMTP(ctx, "Alice@Example.com", "correct horse battery")
	if err != nil || id.Kind != accounts.IdentityUserPassword || id.UserEmail != "alice@example.com" || !id.IsUser() {
		t.Fatalf("password: %+v, %v", id, err)
	}
	if !id.MaySendAs(sub) || id.MaySendAs(root) || id.MaySendAs(other) {
		t.Fatalf("password identity sends for sub only: %+v", id)
	}
	ukSecret, _, err := s.CreateUserKey(ctx, sub.ID, alice.ID, "thunderbird", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := s.AuthenticateSMTP(ctx, "", ukSecret); err != nil || id.Kind != accounts.IdentityUserKey || id.UserEmail != "alice@example.com" || !id.MaySendAs(sub) {
		t.Fatalf("user key: %+v, %v", id, err)
	}
	acctSecret, _, err := s.CreateKey(ctx, sub.ID, accounts.RoleAdvanced, "outlook")
	if err != nil {
		t.Fatal(err)
	}
	if id, err := s.AuthenticateSMTP(ctx, "anything", acctSecret); err != nil || id.Kind != accounts.IdentityAccountKey || id.IsUser() || !id.MaySendAs(sub) || id.MaySendAs(root) {
		t.Fatalf("account key: %+v, %v", id, err)
	}
	relaySecret, relay, err := s.CreateRelayKey(ctx, root.ID, "exchange")
	if err != nil {
		t.Fatal(err)
	}
	id, err = s.AuthenticateSMTP(ctx, "exchange", relaySecret)
	if err != nil || id.Kind != accounts.IdentityRelay || id.KeyID != relay.ID || !id.MaySendAs(root) || !id.MaySendAs(sub) || id.MaySendAs(other) {
		t.Fatalf("relay key: %+v, %v", id, err)
	}
	// The relay key also answers the API's Authenticate with its scope, so
	// the API can refuse it.
	if k, err := s.Authenticate(ctx, relaySecret); err != nil || k.Scope != accounts.ScopeSMTPRelay {
		t.Fatalf("relay key scope: %+v, %v", k, err)
	}

	for name, cred := range map[string][2]string{
		"wrong password": {"alice@example.com", "wrong horse"},
		"unknown user":   {"nobody@example.com", "correct horse battery"},
		"malformed key":  {"", "sgk_nope"},
	} {
		if _, err := s.AuthenticateSMTP(ctx, cred[0], cred[1]); !errors.Is(err, accounts.ErrBadKey) {
			t.Errorf("%s: %v, want ErrBadKey", name, err)
		}
	}
	// A removed member's password sends for nothing, and their key dies.
	if err := s.RemoveMember(ctx, sub.ID, alice.ID, ""); err != nil {
		t.Fatal(err)
	}
	if id, err := s.AuthenticateSMTP(ctx, "alice@example.com", "correct horse battery"); err != nil || id.MaySendAs(sub) {
		t.Fatalf("removed member: %+v, %v", id, err)
	}
	if _, err := s.AuthenticateSMTP(ctx, "", ukSecret); !errors.Is(err, accounts.ErrBadKey) {
		t.Fatalf("removed member's key: %v", err)
	}
	if err := s.RevokeKey(ctx, root.ID, relay.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateSMTP(ctx, "exchange", relaySecret); !errors.Is(err, accounts.ErrBadKey) {
		t.Fatalf("revoked relay key: %v", err)
	}
	// The per-email throttle of the API's login covers SMTP AUTH.
	for range accounts.LoginMaxFailures {
		_, _ = s.AuthenticateSMTP(ctx, "bob@example.com", "guess")
	}
	if _, err := s.AuthenticateSMTP(ctx, "bob@example.com", "guess"); !errors.Is(err, accounts.ErrTooManyAttempts) {
		t.Fatalf("after %d failures: %v, want ErrTooManyAttempts", accounts.LoginMaxFailures, err)
	}
}
