package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

// TestQuotas is the attack of issue 10: one tenant filling Redis
// (noeviction) stops acceptance for every other. Every count an account
// stores is bounded by its quotas (here the operator's override for the
// tree), refused with 409 naming the quota and its limit, and the usage
// shows in GET /v1/accounts/{id}.
func TestQuotas(t *testing.T) {
	f := newFixture(t)
	f.logTestGrant(f.subA)
	ctx := t.Context()
	if _, err := f.store.SetQuotas(ctx, f.root.ID, accounts.Quotas{Contacts: 3, Groups: 1, Templates: 1, Keys: 2, Webhooks: 1,
		Invitations: 1, Automations: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.SetQuotas(ctx, f.subA.ID, accounts.Quotas{}); err == nil {
		t.Fatal("quotas set on a sub-account: they belong to the parent's tree")
	}
	a := "/v1/accounts/" + f.subA.ID
	for i := range 3 {
		f.expect(f.subAKey, "POST", a+"/contacts", map[string]any{"number": fmt.Sprintf("+6141200000%d", i)}, http.StatusCreated, nil)
	}
	over := func(path string, body any, quota string, limit int64) {
		t.Helper()
		p := f.problem(f.subAKey, "POST", path, body, http.StatusConflict)
		if p.Type != "urn:smsgate:problem:quota-exceeded" || p.Limit != quota || p.Max == nil || *p.Max != limit ||
			!strings.HasPrefix(p.Detail, quota+": account "+f.subA.ID+" has ") {
			t.Errorf("POST %s over the %s quota: %+v", path, quota, p)
		}
	}
	over(a+"/contacts", map[string]any{"number": "+61412000009"}, "contacts", 3)
	// An import that does not fit writes nothing; one that only updates fits.
	code, data := f.csvDo(f.subAKey, "POST", a+"/contacts.csv", "text/csv", "number,first_name\n+61412000000,Ann\n+61412000008,New\n+61412000007,Newer\n")
	if code != http.StatusConflict || !strings.Contains(string(data), "(this adds 2)") {
		t.Fatalf("import beyond the quota: %d %s", code, data)
	}
	if code, data := f.csvDo(f.subAKey, "POST", a+"/contacts.csv", "text/csv", "number,first_name\n+61412000000,Ann\n"); code != http.StatusOK {
		t.Fatalf("import of existing numbers: %d %s", code, data)
	}
	f.expect(f.subAKey, "POST", a+"/groups", map[string]any{"name": "Drivers"}, http.StatusCreated, nil)
	over(a+"/groups", map[string]any{"name": "Riders"}, "groups", 1)
	f.expect(f.subAKey, "POST", a+"/templates", map[string]any{"name": "One", "body": "b"}, http.StatusCreated, nil)
	over(a+"/templates", map[string]any{"name": "Two", "body": "b"}, "templates", 1)
	f.expect(f.subAKey, "POST", a+"/keys", map[string]any{"role": "advanced"}, http.StatusCreated, nil) // the account's own key is the first
	over(a+"/keys", map[string]any{"role": "advanced"}, "keys", 2)
	f.expect(f.subAKey, "POST", a+"/automations", map[string]any{"name": "n", "kind": "auto_reply", "keyword": "HI", "text": "t"}, http.StatusCreated, nil)
	over(a+"/automations", map[string]any{"name": "m", "kind": "auto_reply", "keyword": "HO", "text": "t"}, "automation_rules", 1)
	f.expect(f.subAKey, "POST", a+"/invitations", map[string]any{"email": "a@example.com", "role": "basic"}, http.StatusCreated, nil)
	over(a+"/invitations", map[string]any{"email": "b@example.com", "role": "basic"}, "invitations", 1)

	var v struct {
		Quotas map[string]accounts.QuotaUse `json:"quotas"`
	}
	f.expect(f.subAKey, "GET", a, nil, http.StatusOK, &v)
	for name, want := range map[string]accounts.QuotaUse{"contacts": {Used: 3, Limit: 3}, "groups": {Used: 1, Limit: 1},
		"templates": {Used: 1, Limit: 1}, "keys": {Used: 2, Limit: 2}, "automation_rules": {Used: 1, Limit: 1},
		"invitations": {Used: 1, Limit: 1}, "inbox": {Used: 0, Limit: accounts.DefaultQuotas().Inbox}} {
		if v.Quotas[name] != want {
			t.Errorf("quota %s: %+v, want %+v", name, v.Quotas[name], want)
		}
	}
	// Another tenant's quotas are its own.
	f.expect(f.subBKey, "POST", "/v1/accounts/"+f.subB.ID+"/groups", map[string]any{"name": "Drivers"}, http.StatusCreated, nil)
}
