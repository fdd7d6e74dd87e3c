package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/router"
)

// matrixSenderRows are the authorisation matrix rows of the sender
// identity routes (flag sender_view; numbers and ids are handed out
// by the root's parent_admin, the default is a messaging setting).
func matrixSenderRows() []mRow {
	ok, created, noContent := http.StatusOK, http.StatusCreated, http.StatusNoContent
	row := func(pattern string, root, child bool, sub accounts.Role, flag string, status int,
		req func(*testing.T, *mWorld, *accounts.Account) (string, any)) mRow {
		return mRow{pattern: pattern, root: root, child: child, sub: sub, flag: flag, ok: status, req: req}
	}
	// number allocates a number to a's tree and, on a sub-account, assigns
	// it there.
	number := func(t *testing.T, w *mWorld, a *accounts.Account, assign bool) string {
		t.Helper()
		root := a.ParentID
		if root == "" {
			root = a.ID
		}
		n, err := w.st.AllocateNumber(t.Context(), root, fmt.Sprintf("+6148%07d", w.n%10000000))
		if err != nil {
			t.Fatalf("allocate number: %v", err)
		}
		if assign && a.ParentID != "" {
			if _, err := w.st.AssignNumber(t.Context(), a.ID, n); err != nil {
				t.Fatalf("assign number: %v", err)
			}
		}
		return n
	}
	senderID := func(t *testing.T, w *mWorld, a *accounts.Account) string {
		t.Helper()
		id := fmt.Sprintf("ID%d", w.n%100000000)
		if _, err := w.st.AddSenderID(t.Context(), a.ID, id); err != nil {
			t.Fatalf("add sender id: %v", err)
		}
		return id
	}
	unassign := row("DELETE /v1/accounts/{id}/senders/numbers/{number}", true, true, "", "", noContent,
		func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			return "/v1/accounts/" + a.ID + "/senders/numbers/" + number(t, w, a, true), nil
		})
	unassign.override = func(c mCaller, tg mTarget) int {
		if c == cRootAdmin && tg == tOwn {
			return http.StatusUnprocessableEntity // a root's numbers go back to the operator
		}
		return 0
	}
	return []mRow{
		row("GET /v1/accounts/{id}/senders", true, true, mBasic, accounts.FlagSenderView, ok, mAt("/v1/accounts/%s/senders")),
		row("POST /v1/accounts/{id}/senders/numbers", true, true, "", "", created,
			func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
				return "/v1/accounts/" + a.ID + "/senders/numbers", map[string]any{"number": number(t, w, a, false)}
			}),
		unassign,
		row("POST /v1/accounts/{id}/senders/ids", true, true, "", "", created,
			func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
				root := a.ID // the operator approved ACME for the tree
				if a.ParentID != "" {
					root = a.ParentID
				}
				if err := w.st.GrantSenderID(t.Context(), root, "ACME"); err != nil {
					t.Fatal(err)
				}
				return "/v1/accounts/" + a.ID + "/senders/ids", map[string]any{"sender_id": "ACME"}
			}),
		row("DELETE /v1/accounts/{id}/senders/ids/{sender_id}", true, true, "", "", noContent,
			func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
				return "/v1/accounts/" + a.ID + "/senders/ids/" + senderID(t, w, a), nil
			}),
		row("PUT /v1/accounts/{id}/senders/default", true, true, mSubAdmin, accounts.FlagSettings, ok,
			func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
				return "/v1/accounts/" + a.ID + "/senders/default", map[string]any{"default": senderID(t, w, a)}
			}),
	}
}

// TestSenderRoutes: the root's admin assigns a number and approves an id
// for sub-account A, whose admin sets one as default; the errors name what
// was wrong; another tenant sees nothing.
func TestSenderRoutes(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	const n = "61480000123"
	if _, err := f.store.AllocateNumber(ctx, f.root.ID, "+"+n); err != nil {
		t.Fatal(err)
	}
	base := "/v1/accounts/" + f.subA.ID + "/senders"

	var got accounts.Senders
	f.expect(f.rootKey, "POST", base+"/numbers", map[string]any{"number": "0480 000 123"}, http.StatusCreated, &got)
	if !slices.Equal(got.Numbers, []string{n}) {
		t.Fatalf("after assign: %+v", got)
	}
	// A parent cannot approve a brand for itself: the operator does, or
	// the configuration allows it for everyone (INFO in the fixture).
	for _, id := range []string{"ACME", "PayPal"} {
		if p := f.problem(f.rootKey, "POST", base+"/ids", map[string]any{"sender_id": id}, http.StatusForbidden); !strings.Contains(p.Detail, "smsgate admin sender-id add") {
			t.Fatalf("self-approved %s: %q", id, p.Detail)
		}
	}
	f.expect(f.rootKey, "POST", base+"/ids", map[string]any{"sender_id": "info"}, http.StatusCreated, nil)
	if err := f.store.GrantSenderID(t.Context(), f.root.ID, "ACME"); err != nil {
		t.Fatal(err)
	}
	if err := f.store.GrantSenderID(t.Context(), f.subA.ID, "ACME"); !errors.Is(err, accounts.ErrInvalid) {
		t.Fatalf("grant to a sub-account: %v", err)
	}
	f.expect(f.rootKey, "POST", base+"/ids", map[string]any{"sender_id": "ACME"}, http.StatusCreated, &got)
	f.expect(f.subAKey, "PUT", base+"/default", map[string]any{"default": "acme"}, http.StatusOK, &got)
	if got.Default != "ACME" || f.account(f.subA.ID).SenderID != "ACME" {
		t.Fatalf("default %+v, account sender_id %q", got, f.account(f.subA.ID).SenderID)
	}
	f.expect(f.subAKey, "GET", base, nil, http.StatusOK, &got)
	if got.AccountID != f.subA.ID || !slices.Equal(got.Numbers, []string{n}) || !slices.Equal(got.SenderIDs, []string{"ACME", "info"}) {
		t.Fatalf("GET senders = %+v", got)
	}

	for _, tc := range []struct {
		name, key, method, path string
		body                    any
		status                  int
		detail                  string
	}{
		{"sibling's number", f.rootKey, "POST", "/v1/accounts/" + f.subB.ID + "/senders/numbers", map[string]any{"number": n},
			http.StatusConflict, "number: " + n + " is assigned to sub-account " + f.subA.ID},
		{"number not allocated", f.rootKey, "POST", base + "/numbers", map[string]any{"number": "+61480000999"},
			http.StatusUnprocessableEntity, "number: 61480000999 is not one of the numbers of account " + f.root.ID},
		{"bad number", f.rootKey, "POST", base + "/numbers", map[string]any{"number": "call me"},
			http.StatusUnprocessableEntity, `number: "call me" is not a valid number`},
		{"missing number", f.rootKey, "POST", base + "/numbers", map[string]any{},
			http.StatusUnprocessableEntity, "number: required"},
		{"sub-account assigns itself", f.subAKey, "POST", base + "/numbers", map[string]any{"number": n},
			http.StatusForbidden, "needs role parent_admin"},
		{"sub-account approves its own id", f.subAKey, "POST", base + "/ids", map[string]any{"sender_id": "MINE"},
			http.StatusForbidden, "needs role parent_admin"},
		{"id too long", f.rootKey, "POST", base + "/ids", map[string]any{"sender_id": "ABCDEFGHIJKL"},
			http.StatusUnprocessableEntity, `sender_id: "ABCDEFGHIJKL" is longer than 11 characters`},
		{"default not an identity", f.subAKey, "PUT", base + "/default", map[string]any{"default": "EVIL"},
			http.StatusUnprocessableEntity, `sender: "EVIL" is not one of account ` + f.subA.ID},
		{"default missing", f.subAKey, "PUT", base + "/default", map[string]any{},
			http.StatusUnprocessableEntity, "default: required"},
		{"unassign unknown", f.rootKey, "DELETE", base + "/numbers/61480000999", nil,
			http.StatusNotFound, "number 61480000999 of account " + f.subA.ID + " not found"},
		{"root's own number", f.rootKey, "DELETE", "/v1/accounts/" + f.root.ID + "/senders/numbers/" + n, nil,
			http.StatusUnprocessableEntity, "the operator takes it back"},
		{"remove unknown id", f.rootKey, "DELETE", base + "/ids/NOPE", nil,
			http.StatusNotFound, "sender id NOPE of account " + f.subA.ID + " not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := f.problem(tc.key, tc.method, tc.path, tc.body, tc.status)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("detail %q does not contain %q", p.Detail, tc.detail)
			}
		})
	}

	// Another tenant: 404 for everything of ours.
	other, err := f.store.CreateAccount(ctx, accounts.Account{Name: "Other", DefaultCountry: "AU"})
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _, err := f.store.CreateKey(ctx, other.ID, accounts.RoleParentAdmin, "other")
	if err != nil {
		t.Fatal(err)
	}
	f.problem(otherKey, "GET", base, nil, http.StatusNotFound)
	f.problem(otherKey, "POST", "/v1/accounts/"+other.ID+"/senders/numbers", map[string]any{"number": n}, http.StatusUnprocessableEntity)

	// Taking the number back clears A's default only if it was the number.
	f.expect(f.subAKey, "PUT", base+"/default", map[string]any{"default": "+" + n}, http.StatusOK, &got)
	f.expect(f.rootKey, "DELETE", base+"/numbers/"+n, nil, http.StatusNoContent, nil)
	got = accounts.Senders{} // "default" is absent when empty
	f.expect(f.subAKey, "GET", base, nil, http.StatusOK, &got)
	if len(got.Numbers) != 0 || got.Default != "" {
		t.Fatalf("after unassign: %+v", got)
	}
	f.expect(f.rootKey, "DELETE", base+"/ids/acme", nil, http.StatusNoContent, nil)
	f.expect(f.rootKey, "GET", "/v1/accounts/"+f.root.ID+"/senders", nil, http.StatusOK, &got)
	if !slices.Equal(got.Numbers, []string{n}) {
		t.Fatalf("root after unassign: %+v", got)
	}
}

// TestSendMessageSenderChoice: POST /v1/messages takes the same
// "[from:<id>]" subject as mail; an id the account lacks is a 403 naming it.
func TestSendMessageSenderChoice(t *testing.T) {
	f := newFixture(t)
	pipeline := router.NewPipeline(router.PipelineOptions{Store: f.store})
	srv := httptest.NewServer(New(Options{Stores: storesOf(f.store), Sender: pipeline}))
	t.Cleanup(srv.Close)
	f.srv = srv
	if _, err := f.store.AddSenderID(t.Context(), f.root.ID, "ACME"); err != nil {
		t.Fatal(err)
	}
	send := func(subject string) map[string]any {
		return map[string]any{"to": []string{"+61412345678"}, "subject": subject, "text": "hello"}
	}
	p := f.problem(f.rootKey, "POST", "/v1/messages", send("[from:EVIL]"), http.StatusForbidden)
	if !strings.Contains(p.Detail, "subject: sender id EVIL is not allowed for this account") {
		t.Fatalf("detail %q", p.Detail)
	}
	var res struct {
		IDs []string `json:"ids"`
	}
	f.expect(f.rootKey, "POST", "/v1/messages", send("[from:acme]"), http.StatusCreated, &res)
	m, err := f.store.GetMessage(t.Context(), res.IDs[0])
	if err != nil || m.Source != "ACME" || m.Text != "hello" {
		t.Fatalf("message %+v, %v", m, err)
	}
}
