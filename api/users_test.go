package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/internal/redistest"
)

// newUserFixture is newFixture over a store whose passwords use bcrypt's
// minimum cost: cost 12 takes seconds a hash under -race.
func newUserFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	rdb := redistest.Start(t)
	st := redisstore.New(rdb, redisstore.Options{PasswordCost: bcrypt.MinCost})
	reg := prometheus.NewRegistry()
	f := &fixture{t: t, rdb: rdb, store: st, sent: &mailLog{}}
	srv := httptest.NewServer(New(Options{
		Stores:   storesOf(st),
		Logger:   slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registry: reg, Registerer: reg,
		Mailer: func(_ context.Context, to, subject, body string) error {
			f.sent.mu.Lock()
			defer f.sent.mu.Unlock()
			f.sent.mails = append(f.sent.mails, sentMail{to, subject, body})
			return nil
		},
	}))
	t.Cleanup(srv.Close)
	f.srv = srv
	root, secret, err := st.Bootstrap(ctx, accounts.Account{Name: "Root Pty Ltd", DefaultCountry: "AU"})
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	f.root, f.rootKey = root, secret
	f.subA, f.subAKey = f.newSub("Sales")
	f.subB, f.subBKey = f.newSub("Support")
	return f
}

// invite creates an invitation through the API and returns its token.
func (f *fixture) invite(key, acct, email string, role accounts.Role) (string, *accounts.Invitation) {
	f.t.Helper()
	var out newInvitation
	f.expect(key, "POST", "/v1/accounts/"+acct+"/invitations", map[string]any{"email": email, "role": role}, http.StatusCreated, &out)
	if out.Token != "" || !out.Mailed {
		f.t.Fatalf("invitation %+v: with a mail relay the token goes to the invitee only", out)
	}
	return f.mailedToken(email), out.Invitation
}

// mailedToken is the token of the last invitation mailed to email.
func (f *fixture) mailedToken(email string) string {
	f.t.Helper()
	f.sent.mu.Lock()
	defer f.sent.mu.Unlock()
	for i := len(f.sent.mails) - 1; i >= 0; i-- {
		m := f.sent.mails[i]
		if strings.EqualFold(m.to, email) {
			if i := strings.Index(m.body, "sgi_"); i >= 0 {
				return strings.Fields(m.body[i:])[0]
			}
		}
	}
	f.t.Fatalf("no invitation mailed to %s", email)
	return ""
}

// login logs in through the API and returns the session secret.
func (f *fixture) login(email, acct string) string {
	f.t.Helper()
	var out newKey
	f.expect("", "POST", "/v1/auth/login", map[string]any{"email": email, "password": "correct horse battery", "account_id": acct},
		http.StatusCreated, &out)
	return out.Secret
}

// TestUserLifecycle goes invite -> accept -> login -> the session acts with
// the member's role -> role change, effective at once -> owner switch ->
// last-admin protection -> removal, after which the member's keys answer 401.
func TestUserLifecycle(t *testing.T) {
	f := newUserFixture(t)
	subA := "/v1/accounts/" + f.subA.ID

	token, inv := f.invite(f.rootKey, f.subA.ID, "Alice@Example.com", accounts.RoleAdvanced)
	if !strings.HasPrefix(token, "sgi_") || inv.Email != "alice@example.com" || inv.Status != "pending" {
		t.Fatalf("token %q, invitation %+v", token, inv)
	}
	var invs invitationList
	f.expect(f.subAKey, "GET", subA+"/invitations", nil, http.StatusOK, &invs)
	if len(invs.Invitations) != 1 || invs.Invitations[0].ID != inv.ID {
		t.Fatalf("pending invitations %+v", invs)
	}
	if _, body, _ := f.do(f.subAKey, "GET", subA+"/invitations", nil); strings.Contains(string(body), token[20:]) {
		t.Fatal("the invitation list shows the token")
	}
	f.problem(f.rootKey, "POST", subA+"/invitations", map[string]any{"email": "alice@example.com", "role": "basic"}, http.StatusConflict)

	p := f.problem("", "POST", "/v1/invitations/accept", map[string]any{"token": token, "name": "Alice", "password": "short"}, http.StatusUnprocessableEntity)
	if !strings.Contains(p.Detail, "password") {
		t.Fatalf("short password detail %q", p.Detail)
	}
	var acc accounts.Acceptance
	f.expect("", "POST", "/v1/invitations/accept", map[string]any{"token": token, "name": "Alice", "password": "correct horse battery"},
		http.StatusCreated, &acc)
	if !acc.NewUser || acc.Member.Role != accounts.RoleAdvanced || acc.User.Email != "alice@example.com" {
		t.Fatalf("acceptance %+v", acc)
	}
	alice := acc.User.ID
	if p := f.problem("", "POST", "/v1/invitations/accept", map[string]any{"token": token}, http.StatusGone); !strings.Contains(p.Detail, "already accepted") {
		t.Fatalf("second accept: %q", p.Detail)
	}

	// Wrong password and unknown email look the same.
	wrong := f.problem("", "POST", "/v1/auth/login", map[string]any{"email": "alice@example.com", "password": "wrong horse battery", "account_id": f.subA.ID}, http.StatusUnauthorized)
	unknown := f.problem("", "POST", "/v1/auth/login", map[string]any{"email": "eve@example.com", "password": "wrong horse battery", "account_id": f.subA.ID}, http.StatusUnauthorized)
	if wrong != unknown {
		t.Fatalf("login problems differ: %+v vs %+v", wrong, unknown)
	}
	f.problem("", "POST", "/v1/auth/login", map[string]any{"email": "alice@example.com", "password": "correct horse battery", "account_id": f.subB.ID}, http.StatusForbidden)

	session := f.login("alice@example.com", f.subA.ID)
	var me Me
	f.expect(session, "GET", "/v1/me", nil, http.StatusOK, &me)
	if me.Role != accounts.RoleAdvanced || me.Key.UserID != alice || me.Key.UserEmail != "alice@example.com" || me.Key.ExpiresAt.IsZero() {
		t.Fatalf("me %+v, key %+v", me, me.Key)
	}

	// What the session may do follows the member's role, and changes with it at once.
	checks := func(t *testing.T, role accounts.Role) {
		admin := role == accounts.RoleSubAdmin
		cases := []struct {
			name, method, path string
			body               any
			want               int
		}{
			{"read own account", "GET", subA, nil, http.StatusOK},
			{"list members", "GET", subA + "/members", nil, http.StatusOK},
			{"another tenant's account", "GET", "/v1/accounts/" + f.subB.ID, nil, http.StatusNotFound},
			{"another tenant's members", "GET", "/v1/accounts/" + f.subB.ID + "/members", nil, http.StatusNotFound},
			{"invite", "POST", subA + "/invitations", map[string]any{"email": "x" + string(role) + "@example.com", "role": "basic"},
				map[bool]int{true: http.StatusCreated, false: http.StatusForbidden}[admin]},
			{"grant a role above one's own", "POST", subA + "/invitations", map[string]any{"email": "y@example.com", "role": "parent_admin"},
				http.StatusForbidden},
		}
		for _, c := range cases {
			t.Run(string(role)+"/"+c.name, func(t *testing.T) {
				if got, body, _ := f.do(session, c.method, c.path, c.body); got != c.want {
					t.Fatalf("%s %s = %d, want %d: %s", c.method, c.path, got, c.want, body)
				}
			})
		}
	}
	checks(t, accounts.RoleAdvanced)
	var m accounts.Member
	f.expect(f.rootKey, "PATCH", subA+"/members/"+alice, map[string]any{"role": "sub_admin"}, http.StatusOK, &m)
	if m.Role != accounts.RoleSubAdmin || m.Owner {
		t.Fatalf("after promotion %+v", m)
	}
	checks(t, accounts.RoleSubAdmin)

	// Owner switch: on, then alice switches herself off and on again.
	for _, st := range []struct {
		by string
		on bool
	}{{f.rootKey, true}, {session, false}, {session, true}} {
		f.expect(st.by, "PATCH", subA+"/members/"+alice, map[string]any{"owner": st.on}, http.StatusOK, &m)
		if m.Owner != st.on {
			t.Fatalf("owner=%v: %+v", st.on, m)
		}
	}
	// Alice is the only admin member: she cannot be demoted or removed.
	if p := f.problem(f.rootKey, "PATCH", subA+"/members/"+alice, map[string]any{"role": "basic", "owner": false}, http.StatusConflict); !strings.Contains(p.Detail, "last admin") {
		t.Fatalf("demote last admin: %q", p.Detail)
	}
	f.problem(f.rootKey, "PATCH", subA+"/members/"+alice, map[string]any{"role": "basic"}, http.StatusConflict) // owner must be admin
	f.problem(f.rootKey, "DELETE", subA+"/members/"+alice, nil, http.StatusConflict)
	f.problem(f.rootKey, "PATCH", subA+"/members/"+alice, map[string]any{"role": "parent_admin"}, http.StatusUnprocessableEntity)
	f.problem(f.rootKey, "PATCH", subA+"/members/"+alice, map[string]any{}, http.StatusBadRequest)
	f.problem(f.subBKey, "PATCH", subA+"/members/"+alice, map[string]any{"role": "basic"}, http.StatusNotFound)
	f.problem(f.subBKey, "PATCH", "/v1/accounts/"+f.subB.ID+"/members/"+alice, map[string]any{"role": "basic"}, http.StatusNotFound)

	// Personal keys: only a user's key makes them.
	var personal newKey
	f.expect(session, "POST", "/v1/me/keys", map[string]any{"name": "laptop"}, http.StatusCreated, &personal)
	if personal.Key.UserID != alice || !personal.Key.ExpiresAt.IsZero() {
		t.Fatalf("personal key %+v", personal.Key)
	}
	f.expect(personal.Secret, "GET", "/v1/me", nil, http.StatusOK, nil)
	f.problem(f.subAKey, "POST", "/v1/me/keys", map[string]any{"name": "x"}, http.StatusForbidden)

	// A second admin joins (an existing-user path is covered in the store
	// tests); then alice can be removed, and her keys die at once.
	bobToken, _ := f.invite(session, f.subA.ID, "bob@example.com", accounts.RoleSubAdmin)
	f.expect("", "POST", "/v1/invitations/accept", map[string]any{"token": bobToken, "name": "Bob", "password": "correct horse battery"}, http.StatusCreated, nil)
	var ms memberList
	f.expect(f.subAKey, "GET", subA+"/members", nil, http.StatusOK, &ms)
	if len(ms.Members) != 2 {
		t.Fatalf("members %+v", ms)
	}
	if _, body, _ := f.do(f.subAKey, "GET", subA+"/members", nil); strings.Contains(string(body), "password") || strings.Contains(string(body), "$2a$") {
		t.Fatalf("member list leaks password data: %s", body)
	}
	f.expect(f.rootKey, "DELETE", subA+"/members/"+alice, nil, http.StatusNoContent, nil)
	for _, k := range []string{session, personal.Secret} {
		f.problem(k, "GET", "/v1/me", nil, http.StatusUnauthorized)
	}
	f.problem(f.rootKey, "DELETE", subA+"/members/"+alice, nil, http.StatusNotFound)
	// The account's data is untouched.
	var a accounts.Account
	f.expect(f.subAKey, "GET", subA, nil, http.StatusOK, &a)
	if a.Name != "Sales" || a.Status != accounts.StatusActive {
		t.Fatalf("account after removal %+v", a)
	}
}

func TestInvitationRoutes(t *testing.T) {
	f := newUserFixture(t)
	subA := "/v1/accounts/" + f.subA.ID
	token, inv := f.invite(f.subAKey, f.subA.ID, "carol@example.com", accounts.RoleBasic)

	cases := []struct {
		name, key, method, path string
		body                    any
		want                    int
		detail                  string
	}{
		{"no key", "", "POST", subA + "/invitations", map[string]any{"email": "d@example.com", "role": "basic"}, http.StatusUnauthorized, ""},
		{"another tenant's invitations", f.subBKey, "GET", subA + "/invitations", nil, http.StatusNotFound, ""},
		{"revoke through another tenant", f.subBKey, "DELETE", "/v1/accounts/" + f.subB.ID + "/invitations/" + inv.ID, nil, http.StatusNotFound, "invitation " + inv.ID},
		{"bad email", f.subAKey, "POST", subA + "/invitations", map[string]any{"email": "nope", "role": "basic"}, http.StatusUnprocessableEntity, "email:"},
		{"no email", f.subAKey, "POST", subA + "/invitations", map[string]any{"role": "basic"}, http.StatusUnprocessableEntity, "email: required"},
		{"bad role", f.subAKey, "POST", subA + "/invitations", map[string]any{"email": "d@example.com", "role": "owner"}, http.StatusUnprocessableEntity, "role:"},
		{"parent_admin in a sub-account", f.rootKey, "POST", subA + "/invitations", map[string]any{"email": "d@example.com", "role": "parent_admin"}, http.StatusUnprocessableEntity, "sub-account"},
		{"unknown field", f.subAKey, "POST", subA + "/invitations", map[string]any{"email": "d@example.com", "role": "basic", "x": 1}, http.StatusBadRequest, "x"},
		{"expiry out of range", f.subAKey, "POST", subA + "/invitations", map[string]any{"email": "d@example.com", "role": "basic", "expires_in_hours": 1000}, http.StatusUnprocessableEntity, "expires_in_hours"},
		{"pending already", f.subAKey, "POST", subA + "/invitations", map[string]any{"email": "Carol@example.com", "role": "basic"}, http.StatusConflict, "pending invitation"},
		{"bad token", "", "POST", "/v1/invitations/accept", map[string]any{"token": "sgi_x"}, http.StatusNotFound, "token"},
		{"no token", "", "POST", "/v1/invitations/accept", map[string]any{}, http.StatusUnprocessableEntity, "token: required"},
		{"revoke", f.subAKey, "DELETE", subA + "/invitations/" + inv.ID, nil, http.StatusNoContent, ""},
		{"accept revoked", "", "POST", "/v1/invitations/accept", map[string]any{"token": token, "name": "C", "password": "correct horse battery"}, http.StatusGone, "revoked"},
		{"revoke again", f.subAKey, "DELETE", subA + "/invitations/" + inv.ID, nil, http.StatusNotFound, "no pending invitation"},
		{"login for a user-less email", "", "POST", "/v1/auth/login", map[string]any{"email": "carol@example.com", "password": "correct horse battery", "account_id": f.subA.ID}, http.StatusUnauthorized, "wrong email or password"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.want == http.StatusNoContent || c.want < 300 {
				f.expect(c.key, c.method, c.path, c.body, c.want, nil)
				return
			}
			p := f.problem(c.key, c.method, c.path, c.body, c.want)
			if !strings.Contains(p.Detail, c.detail) {
				t.Fatalf("detail %q lacks %q", p.Detail, c.detail)
			}
		})
	}
	var invs invitationList
	f.expect(f.subAKey, "GET", subA+"/invitations", nil, http.StatusOK, &invs)
	if len(invs.Invitations) != 0 {
		t.Fatalf("pending after revoke: %+v", invs)
	}
}

// TestInvitationConsent is the attack of issue 10: accepting an invitation
// added an existing user to another account without their consent and
// showed the acceptor their id and name. Now the token goes to the
// invitee's mailbox only, and an existing user joins only signed in as
// themselves or with their own password.
func TestInvitationConsent(t *testing.T) {
	f := newUserFixture(t)
	bobKey := f.logTestUserKey(f.subB, "bob@example.com", accounts.RoleAdvanced)
	carolKey := f.logTestUserKey(f.subB, "carol@example.com", accounts.RoleAdvanced)
	bob, err := f.store.UserByEmail(t.Context(), "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	var out newInvitation
	f.expect(f.rootKey, "POST", "/v1/accounts/"+f.subA.ID+"/invitations", map[string]any{"email": "bob@example.com", "role": "advanced"}, http.StatusCreated, &out)
	if out.Token != "" || !out.Mailed {
		t.Fatalf("the inviter got %+v: the token must go to bob only", out)
	}
	token := f.mailedToken("bob@example.com")
	for _, tc := range []struct {
		name, key string
		body      map[string]any
		status    int
	}{
		{"holding the token is not consent", "", map[string]any{"token": token, "name": "Mallory", "password": "mallory's own password"}, http.StatusUnauthorized},
		{"no password", "", map[string]any{"token": token}, http.StatusUnauthorized},
		{"signed in as someone else", carolKey, map[string]any{"token": token}, http.StatusForbidden},
		{"an account key is not a user", f.subAKey, map[string]any{"token": token}, http.StatusUnauthorized},
	} {
		_, data, _ := f.do(tc.key, "POST", "/v1/invitations/accept", tc.body)
		p := f.problem(tc.key, "POST", "/v1/invitations/accept", tc.body, tc.status)
		if strings.Contains(string(data), bob.ID) || strings.Contains(p.Detail, bob.Name) {
			t.Errorf("%s: the answer reveals bob: %s", tc.name, data)
		}
	}
	if ms, _ := f.store.ListMembers(t.Context(), f.subA.ID); slices.ContainsFunc(ms, func(m accounts.Member) bool { return m.UserID == bob.ID }) {
		t.Fatal("bob was added without his consent")
	}
	var res accounts.Acceptance
	f.expect(bobKey, "POST", "/v1/invitations/accept", map[string]any{"token": token}, http.StatusCreated, &res)
	if res.User == nil || res.User.ID != bob.ID || res.NewUser || res.Member.AccountID != f.subA.ID {
		t.Fatalf("bob signed in accepts: %+v", res)
	}
	// Or with his own password.
	f.expect(f.rootKey, "POST", "/v1/accounts/"+f.root.ID+"/invitations", map[string]any{"email": "bob@example.com", "role": "advanced"}, http.StatusCreated, nil)
	f.expect("", "POST", "/v1/invitations/accept", map[string]any{"token": f.mailedToken("bob@example.com"), "password": "correct horse battery"}, http.StatusCreated, nil)
}
