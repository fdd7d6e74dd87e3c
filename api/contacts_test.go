package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/contacts"
)

// matrixContactRows are the authorisation matrix rows of contacts and
// groups (advanced users and up manage groups and contacts; flag
// use_database) and of sharing a group (the parent's admins).
func matrixContactRows() []mRow {
	ok, created, noContent := http.StatusOK, http.StatusCreated, http.StatusNoContent
	db := func(pattern string, status int, req func(*testing.T, *mWorld, *accounts.Account) (string, any)) mRow {
		return mRow{pattern: pattern, root: true, child: true, sub: mAdvanced, flag: accounts.FlagUseDatabase, ok: status, req: req}
	}
	share := func(pattern string, req func(*testing.T, *mWorld, *accounts.Account) (string, any)) mRow {
		return mRow{pattern: pattern, root: true, ok: ok, req: req}
	}
	contact := func(t *testing.T, w *mWorld, a *accounts.Account) string {
		t.Helper()
		c, _, err := w.st.UpsertContact(t.Context(), a.ID, accounts.ContactInput{Number: "+" + w.number()})
		if err != nil {
			t.Fatalf("create contact: %v", err)
		}
		return "/v1/accounts/" + a.ID + "/contacts/" + c.ID
	}
	group := func(t *testing.T, w *mWorld, a *accounts.Account) string {
		t.Helper()
		g, err := w.st.CreateGroup(t.Context(), a.ID, "Team")
		if err != nil {
			t.Fatalf("create group: %v", err)
		}
		if _, err := w.st.AddGroupMembers(t.Context(), a.ID, g.ID, nil, []string{"+" + w.number()}); err != nil {
			t.Fatalf("add member: %v", err)
		}
		return "/v1/accounts/" + a.ID + "/groups/" + g.ID
	}
	onContact := func(body any) func(*testing.T, *mWorld, *accounts.Account) (string, any) {
		return func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) { return contact(t, w, a), body }
	}
	onGroup := func(suffix string, body any) func(*testing.T, *mWorld, *accounts.Account) (string, any) {
		return func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) { return group(t, w, a) + suffix, body }
	}
	return []mRow{
		db("GET /v1/accounts/{id}/contacts", ok, mAt("/v1/accounts/%s/contacts")),
		db("POST /v1/accounts/{id}/contacts", created, func(_ *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			return "/v1/accounts/" + a.ID + "/contacts", map[string]any{"number": "+" + w.number(), "first_name": "Jo"}
		}),
		db("GET /v1/accounts/{id}/contacts/{contact}", ok, onContact(nil)),
		db("PATCH /v1/accounts/{id}/contacts/{contact}", ok, onContact(map[string]any{"first_name": "Jo"})),
		db("DELETE /v1/accounts/{id}/contacts/{contact}", noContent, onContact(nil)),
		// The body is JSON-encoded by the matrix: the string "number" is
		// the CSV `"number"`, a header row and no contacts.
		db("POST /v1/accounts/{id}/contacts.csv", ok, mWith("/v1/accounts/%s/contacts.csv", "number")),
		db("GET /v1/accounts/{id}/contacts.csv", ok, mAt("/v1/accounts/%s/contacts.csv")),

		db("GET /v1/accounts/{id}/groups", ok, mAt("/v1/accounts/%s/groups")),
		db("POST /v1/accounts/{id}/groups", created, mWith("/v1/accounts/%s/groups", map[string]any{"name": "Drivers"})),
		db("GET /v1/accounts/{id}/groups/{group}", ok, onGroup("", nil)),
		db("PATCH /v1/accounts/{id}/groups/{group}", ok, onGroup("", map[string]any{"name": "Night Drivers"})),
		db("DELETE /v1/accounts/{id}/groups/{group}", noContent, onGroup("", nil)),
		db("GET /v1/accounts/{id}/groups/{group}/members", ok, onGroup("/members", nil)),
		db("POST /v1/accounts/{id}/groups/{group}/members", ok, onGroup("/members", map[string]any{"numbers": []string{"+61499999999"}})),
		db("DELETE /v1/accounts/{id}/groups/{group}/members/{member}", noContent, func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			return group(t, w, a) + "/members/" + w.number(), nil
		}),

		share("PUT /v1/accounts/{id}/groups/{group}/sharing", func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			return group(t, w, a) + "/sharing", map[string]any{"sub_accounts": []string{w.subA.ID}}
		}),
		share("POST /v1/accounts/{id}/groups/{group}/sharing", func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			return group(t, w, a) + "/sharing", map[string]any{"sub_accounts": []string{w.subB.ID}}
		}),
		share("DELETE /v1/accounts/{id}/groups/{group}/sharing/{sub}", func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			return group(t, w, a) + "/sharing/" + w.subA.ID, nil
		}),
	}
}

// csvDo sends a raw body with a content type. The bound is generous: a
// file of 50,000 rows is read and checked row by row before it is refused,
// which takes seconds under the race detector on a loaded CI machine.
func (f *fixture) csvDo(key, method, path, contentType, body string) (int, []byte) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.t.Context(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func TestContactsAPI(t *testing.T) {
	f := newFixture(t)
	base := "/v1/accounts/" + f.subA.ID + "/contacts"
	var c accounts.Contact
	f.expect(f.subAKey, "POST", base, map[string]any{"number": "0412 345 678", "first_name": "Jo",
		"fields": map[string]string{"Team": "red"}}, http.StatusCreated, &c)
	if c.Number != "61412345678" || c.Fields["team"] != "red" {
		t.Fatalf("created %+v", c)
	}
	// The same number again merges: 200, same id.
	var merged accounts.Contact
	f.expect(f.subAKey, "POST", base, map[string]any{"number": "+61412345678", "last_name": "Bloggs"}, http.StatusOK, &merged)
	if merged.ID != c.ID || merged.FirstName != "Jo" || merged.LastName != "Bloggs" {
		t.Fatalf("merged %+v", merged)
	}
	var list contactList
	f.expect(f.subAKey, "GET", base+"?number=0412345678", nil, http.StatusOK, &list)
	if len(list.Contacts) != 1 || list.Contacts[0].ID != c.ID {
		t.Fatalf("search %+v", list)
	}

	cases := []struct {
		name, method, path string
		key                string
		body               any
		status             int
		detail             string
	}{
		{"bad number", "POST", base, f.subAKey, map[string]any{"number": "abc"}, 422, "number:"},
		{"bad email", "POST", base, f.subAKey, map[string]any{"number": "0412000000", "email": "nope"}, 422, `email: "nope"`},
		{"unknown field", "POST", base, f.subAKey, map[string]any{"number": "0412000000", "phone": "x"}, 400, "phone"},
		{"other tenant's contact", "GET", "/v1/accounts/" + f.subB.ID + "/contacts/" + c.ID, f.subAKey, nil, 404, ""},
		{"contact of a sibling through own account", "GET", "/v1/accounts/" + f.subB.ID + "/contacts/" + c.ID, f.rootKey, nil, 404, "contact " + c.ID},
		{"bad search", "GET", base + "?number=xyz", f.subAKey, nil, 400, "number:"},
		{"bad prefix", "GET", base + "?prefix=61a", f.subAKey, nil, 400, "prefix:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			p := f.problem(tc.key, tc.method, tc.path, tc.body, tc.status)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("detail %q lacks %q", p.Detail, tc.detail)
			}
		})
	}
}

func TestContactsCSVAPI(t *testing.T) {
	f := newFixture(t)
	base := "/v1/accounts/" + f.subA.ID
	var g groupView
	f.expect(f.subAKey, "POST", base+"/groups", map[string]any{"name": "Imported"}, http.StatusCreated, &g)
	file := "number,first_name,company\n0412000001,Ann,Acme\nnope,Bob,\n0412000002,Cy,\n"
	code, data := f.csvDo(f.subAKey, "POST", base+"/contacts.csv?group="+g.ID, "text/csv", file)
	if code != 200 {
		t.Fatalf("import: %d %s", code, data)
	}
	var res accounts.ImportResult
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if res.Imported != 2 || res.Added != 2 || len(res.Errors) != 1 || res.Errors[0].Row != 3 ||
		res.Errors[0].Column != "number" || res.Errors[0].Value != "nope" {
		t.Fatalf("import result %s", data)
	}
	code, data = f.csvDo(f.subAKey, "GET", base+"/contacts.csv", "", "")
	if code != 200 || !strings.HasPrefix(string(data), "number,first_name,last_name,email,company\n+61412000001,Ann,,,Acme\n") {
		t.Fatalf("export: %d %s", code, data)
	}
	cases := []struct {
		name, ct, body, path string
		status               int
		detail               string
	}{
		{"json body", "application/json", `{}`, base + "/contacts.csv", 415, "text/csv"},
		{"no number column", "text/csv", "name\nJo\n", base + "/contacts.csv", 422, "no number column"},
		{"unknown group", "text/csv", "number\n", base + "/contacts.csv?group=g0-nope", 404, "group g0-nope"},
		{"too many rows", "text/csv", "number\n" + strings.Repeat("0412000003\n", contacts.ImportMaxRows+1), base + "/contacts.csv", 413, "50000 rows"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, data := f.csvDo(f.subAKey, "POST", tc.path, tc.ct, tc.body)
			var p Problem
			_ = json.Unmarshal(data, &p)
			if code != tc.status || !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("status %d body %s, want %d with %q", code, data, tc.status, tc.detail)
			}
		})
	}
}

// TestGroupSharingAPI: the root shares a group with sub-account A; A sees
// it read-only and B not at all; revoking hides it again.
func TestGroupSharingAPI(t *testing.T) {
	f := newFixture(t)
	root := "/v1/accounts/" + f.root.ID + "/groups"
	var g groupView
	f.expect(f.rootKey, "POST", root, map[string]any{"name": "All Staff"}, http.StatusCreated, &g)
	var ch accounts.MembersChange
	f.expect(f.rootKey, "POST", root+"/"+g.ID+"/members", map[string]any{"numbers": []string{"0412000001", "0412000002"}}, http.StatusOK, &ch)
	if ch.Members != 2 || ch.Created != 2 {
		t.Fatalf("members %+v", ch)
	}
	f.problem(f.rootKey, "PUT", root+"/"+g.ID+"/sharing", map[string]any{"sub_accounts": []string{"a0-nope"}}, 422)
	f.expect(f.rootKey, "PUT", root+"/"+g.ID+"/sharing", map[string]any{"sub_accounts": []string{f.subA.ID}}, http.StatusOK, &g)
	if len(g.SharedWith) != 1 || g.SharedWith[0] != f.subA.ID {
		t.Fatalf("shared %+v", g)
	}

	subA := "/v1/accounts/" + f.subA.ID + "/groups"
	var gl groupList
	f.expect(f.subAKey, "GET", subA, nil, http.StatusOK, &gl)
	if len(gl.Groups) != 1 || !gl.Groups[0].ReadOnly || gl.Groups[0].SharedWith != nil {
		t.Fatalf("A's groups %+v", gl)
	}
	var members contactList
	f.expect(f.subAKey, "GET", subA+"/"+g.ID+"/members?limit=1", nil, http.StatusOK, &members)
	if len(members.Contacts) != 1 || members.Next != "61412000001" {
		t.Fatalf("members page %+v", members)
	}
	var page2 contactList
	f.expect(f.subAKey, "GET", subA+"/"+g.ID+"/members?after="+members.Next, nil, http.StatusOK, &page2)
	if len(page2.Contacts) != 1 || page2.Contacts[0].Number != "61412000002" || page2.Next != "" {
		t.Fatalf("members page 2 %+v", page2)
	}
	p := f.problem(f.subAKey, "POST", subA+"/"+g.ID+"/members", map[string]any{"numbers": []string{"0412000003"}}, 403)
	if !strings.Contains(p.Detail, "read-only") {
		t.Fatalf("read-only detail %q", p.Detail)
	}
	f.problem(f.subAKey, "DELETE", subA+"/"+g.ID, nil, 403)
	// A sub-account administrator may not share (the parent's
	// administrators do).
	f.problem(f.subAKey, "PUT", subA+"/"+g.ID+"/sharing", map[string]any{"sub_accounts": []string{}}, 403)
	// B sees nothing.
	f.problem(f.subBKey, "GET", "/v1/accounts/"+f.subB.ID+"/groups/"+g.ID, nil, 404)

	f.expect(f.rootKey, "DELETE", root+"/"+g.ID+"/sharing/"+f.subA.ID, nil, http.StatusOK, &g)
	if len(g.SharedWith) != 0 {
		t.Fatalf("after revoke %+v", g)
	}
	f.problem(f.subAKey, "GET", subA+"/"+g.ID, nil, 404)
	f.expect(f.subAKey, "GET", subA, nil, http.StatusOK, &gl)
	if len(gl.Groups) != 0 {
		t.Fatalf("A's groups after revoke %+v", gl)
	}
	// Names are unique per account in normal form.
	f.problem(f.rootKey, "POST", root, map[string]any{"name": "all.staff"}, 409)
}
