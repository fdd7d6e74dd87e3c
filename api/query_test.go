package api

import (
	"net/http"
	"strings"
	"testing"
)

// TestQueryParamsChecked: a query parameter a route does not take is a 400
// naming it (issue 10: ?account_id= on a route that takes ?account= silently
// answered about the caller's own account), and so is a malformed cursor,
// on every route that pages. What each route takes comes from the OpenAPI
// document.
func TestQueryParamsChecked(t *testing.T) {
	f := newFixture(t)
	f.logTestGrant(f.subA)
	a := "/v1/accounts/" + f.subA.ID
	var g struct {
		ID string `json:"id"`
	}
	f.expect(f.rootKey, "POST", a+"/groups", map[string]any{"name": "Drivers"}, http.StatusCreated, &g)
	for _, tc := range []struct{ path, detail string }{
		{"/v1/messages?account_id=" + f.subB.ID, "account_id: unknown query parameter of GET /v1/messages (it takes only account, cursor,"},
		{a + "/ledger?acount=x", "acount: unknown query parameter of GET /v1/accounts/{id}/ledger (it takes only before, limit)"},
		{a + "?verbose=1", "verbose: unknown query parameter of GET /v1/accounts/{id} (it takes no query parameters)"},
		{"/v1/messages?cursor=%00garbage", "cursor: "},
		{"/v1/inbox?cursor=not-a-cursor", "cursor: "},
		{a + "/blocked?cursor=zz", "cursor: "},
		{a + "/ledger?before=99999999999999999999-0", "before: "},
		{a + "/contacts?after=%ff", "after: "},
		{a + "/groups/" + g.ID + "/members?after=%ff", "after: "},
	} {
		p := f.problem(f.rootKey, "GET", tc.path, nil, http.StatusBadRequest)
		if !strings.HasPrefix(p.Detail, tc.detail) {
			t.Errorf("GET %s: detail %q, want it to start %q", tc.path, p.Detail, tc.detail)
		}
	}
	// Known parameters still work, and an unauthenticated caller learns
	// nothing about the route's parameters.
	f.expect(f.rootKey, "GET", "/v1/messages?account="+f.subA.ID+"&limit=5", nil, http.StatusOK, nil)
	f.problem("", "GET", "/v1/messages?bogus=1", nil, http.StatusUnauthorized)
}

// TestFreeTextHygiene: names, labels and free-text fields refuse control
// characters (line feeds and tabs are text), naming the field.
func TestFreeTextHygiene(t *testing.T) {
	f := newFixture(t)
	f.logTestGrant(f.subA)
	a := "/v1/accounts/" + f.subA.ID
	for _, tc := range []struct {
		method, path string
		body         map[string]any
		detail       string
	}{
		{"PATCH", a, map[string]any{"name": "Sales\x1b[2J"}, "name: control character U+001B"},
		{"PATCH", a, map[string]any{"contact_email": "ops@x.example\r\nBcc: all@x.example"}, "contact_email:"},
		{"POST", a + "/templates", map[string]any{"name": "Hi", "body": "Hello\x1b]0;x\x07"}, "body: control character U+001B"},
		{"POST", a + "/automations", map[string]any{"name": "Auto\u202e", "kind": "auto_reply", "keyword": "HI", "text": "ok"}, "name: control character U+202E"},
		{"POST", a + "/automations", map[string]any{"name": "Auto", "kind": "auto_reply", "keyword": "HI", "text": "ok\x00"}, "text: control character U+0000"},
		{"POST", a + "/credit", map[string]any{"amount": 1, "ref": "po\r\n7"}, "ref: control character U+000D"},
	} {
		p := f.problem(f.rootKey, tc.method, tc.path, tc.body, http.StatusUnprocessableEntity)
		if !strings.Contains(p.Detail, tc.detail) {
			t.Errorf("%s %s %v: detail %q, want %q", tc.method, tc.path, tc.body, p.Detail, tc.detail)
		}
	}
	// Line feeds and tabs are text.
	f.expect(f.rootKey, "POST", a+"/templates", map[string]any{"name": "Multi", "body": "Line one\nLine\ttwo"}, http.StatusCreated, nil)
}
