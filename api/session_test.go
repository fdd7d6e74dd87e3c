package api

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

// TestMeMay: GET /v1/me names what the caller may do, decided by authorize
// itself, so that a client (the web console) shows only that.
func TestMeMay(t *testing.T) {
	f := newUserFixture(t)
	token, _ := f.invite(f.subAKey, f.subA.ID, "bob@example.com", accounts.RoleBasic)
	f.expect("", "POST", "/v1/invitations/accept", map[string]any{"token": token, "name": "Bob", "password": "correct horse battery"}, http.StatusCreated, nil)
	bob := f.login("bob@example.com", f.subA.ID)

	var me Me
	f.expect(bob, "GET", "/v1/me", nil, http.StatusOK, &me)
	for _, want := range []string{"read", "send", "messages", "inbox"} {
		if !slices.Contains(me.May, want) {
			t.Errorf("basic user may %v: %s missing", me.May, want)
		}
	}
	for _, not := range []string{"messages_export", "keys", "users_manage", "contacts", "create_sub"} {
		if slices.Contains(me.May, not) {
			t.Errorf("basic user may %v: %s is not theirs", me.May, not)
		}
	}
	if len(me.MayOnSubs) != 0 {
		t.Errorf("a sub-account member's may_on_subs %v", me.MayOnSubs)
	}

	f.expect(f.subAKey, "GET", "/v1/me", nil, http.StatusOK, &me)
	for _, want := range []string{"keys", "registrations", "users_manage", "webhooks"} {
		if !slices.Contains(me.May, want) {
			t.Errorf("sub_admin may %v: %s missing", me.May, want)
		}
	}
	for _, not := range []string{"finance", "create_sub", "price"} {
		if slices.Contains(me.May, not) {
			t.Errorf("sub_admin may %v: %s is only the parent's", me.May, not)
		}
	}

	f.expect(f.rootKey, "GET", "/v1/me", nil, http.StatusOK, &me)
	if !slices.Contains(me.May, "create_sub") || slices.Contains(me.May, "finance") {
		t.Errorf("parent_admin may on its root %v", me.May)
	}
	for _, want := range []string{"finance", "permissions_grant", "delete", "messages", "limits"} {
		if !slices.Contains(me.MayOnSubs, want) {
			t.Errorf("parent_admin may_on_subs %v: %s missing", me.MayOnSubs, want)
		}
	}
	// Every name is the API's word for what each request checks: each
	// action has a distinct name.
	seen := map[string]action{}
	for a := action(0); a <= actLast; a++ {
		n := a.name()
		if n == "" {
			t.Errorf("action %d (%s) has no name", a, a)
		}
		if prev, dup := seen[n]; dup {
			t.Errorf("actions %d and %d are both named %q", prev, a, n)
		}
		seen[n] = a
	}
}

// TestLogout: POST /v1/auth/logout revokes the calling session key at once;
// an account key cannot end itself that way.
func TestLogout(t *testing.T) {
	f := newUserFixture(t)
	token, _ := f.invite(f.subAKey, f.subA.ID, "bob@example.com", accounts.RoleAdvanced)
	f.expect("", "POST", "/v1/invitations/accept", map[string]any{"token": token, "name": "Bob", "password": "correct horse battery"}, http.StatusCreated, nil)
	s1 := f.login("bob@example.com", f.subA.ID)
	s2 := f.login("bob@example.com", f.subA.ID)
	f.expect(s1, "POST", "/v1/auth/logout", nil, http.StatusNoContent, nil)
	f.problem(s1, "GET", "/v1/me", nil, http.StatusUnauthorized)
	f.problem(s1, "POST", "/v1/auth/logout", nil, http.StatusUnauthorized)
	// Another session of the same user goes on.
	f.expect(s2, "GET", "/v1/me", nil, http.StatusOK, nil)

	if p := f.problem(f.subAKey, "POST", "/v1/auth/logout", nil, http.StatusBadRequest); !strings.Contains(p.Detail, "not a login session") {
		t.Fatalf("an account key on logout: %+v", p)
	}
	f.expect(f.subAKey, "GET", "/v1/me", nil, http.StatusOK, nil)
}
