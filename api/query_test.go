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
