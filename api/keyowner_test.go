package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
)

// TestKeysHaveOwners is the attack of issue 10: a sub_admin user creates an
// account key (and with it another), is removed, and the keys keep working.
// Now every key records its creator, removing the member revokes what they
// created (directly or through a key they created), and the operator's keys
// outlive every member.
func TestKeysHaveOwners(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	subA := "/v1/accounts/" + f.subA.ID
	f.logTestUserKey(f.subA, "alice@example.com", accounts.RoleSubAdmin) // so mallory is not the last admin
	mallory := f.logTestUserKey(f.subA, "mallory@example.com", accounts.RoleSubAdmin)
	var k1, k2, bystander newKey
	f.expect(mallory, "POST", subA+"/keys", map[string]any{"role": "sub_admin", "name": "backdoor"}, http.StatusCreated, &k1)
	f.expect(k1.Secret, "POST", subA+"/keys", map[string]any{"role": "advanced", "name": "second"}, http.StatusCreated, &k2)
	f.expect(f.subAKey, "POST", subA+"/keys", map[string]any{"role": "advanced", "name": "ops"}, http.StatusCreated, &bystander)
	var relay newKey
	f.expect(mallory, "POST", subA+"/keys", map[string]any{"scope": "smtp_relay", "name": "relay"}, http.StatusCreated, &relay)
	u, err := f.store.UserByEmail(ctx, "mallory@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if c := k1.Key.CreatedBy; c == nil || c.UserID != u.ID || c.UserEmail != "mallory@example.com" || c.AccountID != f.subA.ID {
		t.Fatalf("k1 created by %+v", c)
	}
	if c := k2.Key.CreatedBy; c == nil || c.UserID != u.ID || c.KeyID != k1.Key.ID {
		t.Fatalf("k2 created by %+v: the user who made k1, through k1", c)
	}
	// key list: creator, role, last use.
	f.expect(k2.Secret, "GET", "/v1/me", nil, http.StatusOK, nil)
	var kl keyList
	f.expect(f.subAKey, "GET", subA+"/keys", nil, http.StatusOK, &kl)
	byID := map[string]accounts.APIKey{}
	for _, k := range kl.Keys {
		byID[k.ID] = k
	}
	if k := byID[k2.Key.ID]; k.Role != accounts.RoleAdvanced || k.CreatedBy == nil || k.CreatedBy.UserEmail != "mallory@example.com" ||
		time.Since(k.LastUsedAt) > time.Minute {
		t.Fatalf("listed k2 %+v", k)
	}
	if k := byID[bystander.Key.ID]; k.CreatedBy == nil || k.CreatedBy.UserID != "" || k.CreatedBy.KeyID == "" {
		t.Fatalf("a key made with the operator's key %+v: its creator is that key, no user", k)
	}

	f.expect(f.subAKey, "DELETE", subA+"/members/"+u.ID, nil, http.StatusNoContent, nil)
	for _, s := range []string{mallory, k1.Secret, k2.Secret} {
		f.problem(s, "GET", "/v1/me", nil, http.StatusUnauthorized)
	}
	f.expect(bystander.Secret, "GET", "/v1/me", nil, http.StatusOK, nil)
	f.expect(f.subAKey, "GET", subA+"/keys", nil, http.StatusOK, &kl)
	for _, k := range kl.Keys {
		if k.ID == k1.Key.ID || k.ID == k2.Key.ID || k.ID == relay.Key.ID {
			t.Fatalf("key %s of a removed member still listed", k.ID)
		}
	}
	if _, err := f.store.AuthenticateSMTP(ctx, "", relay.Secret); err == nil {
		t.Fatal("the removed member's relay key still authenticates SMTP")
	}
	// basic is a user's role only; one made before reads nothing.
	if p := f.problem(f.subAKey, "POST", subA+"/keys", map[string]any{"role": "basic"}, http.StatusUnprocessableEntity); !strings.Contains(p.Detail, "basic is a user's role") {
		t.Fatalf("basic account key: %q", p.Detail)
	}
	if err := f.store.RDB.HSet(ctx, f.store.Keys.APIKey(bystander.Key.ID), "role", "basic").Err(); err != nil {
		t.Fatal(err)
	}
	if p := f.problem(bystander.Secret, "GET", "/v1/messages?account="+f.subA.ID, nil, http.StatusForbidden); !strings.Contains(p.Detail, "only users have now") {
		t.Fatalf("legacy basic account key: %q", p.Detail)
	}
}
