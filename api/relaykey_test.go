package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

// TestRelayKeys: a relay key is created with scope smtp_relay, listed with
// its scope, and refused by every API route (403 relay-key); a bad scope or
// a role with it is 422; a sub-account's admin cannot make one for the root.
func TestRelayKeys(t *testing.T) {
	f := newFixture(t)
	var k newKey
	f.expect(f.rootKey, "POST", "/v1/accounts/"+f.root.ID+"/keys", map[string]any{"scope": "smtp_relay", "name": "exchange"}, http.StatusCreated, &k)
	if k.Key == nil || k.Key.Scope != accounts.ScopeSMTPRelay || !strings.HasPrefix(k.Secret, "sgk_") {
		t.Fatalf("relay key %+v", k)
	}
	for _, path := range []string{"/v1/me", "/v1/accounts/" + f.root.ID, "/v1/accounts/" + f.root.ID + "/keys"} {
		p := f.problem(k.Secret, "GET", path, nil, http.StatusForbidden)
		if p.Type != problemBase+"relay-key" || !strings.Contains(p.Detail, "SMTP relay credential") {
			t.Fatalf("%s with a relay key: %+v", path, p)
		}
	}
	var list keyList
	f.expect(f.rootKey, "GET", "/v1/accounts/"+f.root.ID+"/keys", nil, http.StatusOK, &list)
	found := false
	for _, l := range list.Keys {
		found = found || l.ID == k.Key.ID && l.Scope == accounts.ScopeSMTPRelay
	}
	if !found {
		t.Fatalf("relay key not listed with its scope: %+v", list)
	}
	for _, tc := range []struct {
		name   string
		key    string
		acct   string
		body   map[string]any
		status int
		detail string
	}{
		{"unknown scope", f.rootKey, f.root.ID, map[string]any{"scope": "smtp"}, http.StatusUnprocessableEntity, `scope: "smtp" must be smtp_relay`},
		{"role with scope", f.rootKey, f.root.ID, map[string]any{"scope": "smtp_relay", "role": "basic"}, http.StatusUnprocessableEntity, "takes no role"},
		{"sub admin for the root", f.subAKey, f.root.ID, map[string]any{"scope": "smtp_relay"}, http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := f.problem(tc.key, "POST", "/v1/accounts/"+tc.acct+"/keys", tc.body, tc.status)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("detail %q, want %q", p.Detail, tc.detail)
			}
		})
	}
	// A sub-account's admin makes one for the sub-account itself.
	f.expect(f.subAKey, "POST", "/v1/accounts/"+f.subA.ID+"/keys", map[string]any{"scope": "smtp_relay"}, http.StatusCreated, &k)
}
