package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

// matrixAutomationRows are the matrix rows of the automation routes: sub-
// account administrators and the
// parent's administrators on a child.
func matrixAutomationRows() []mRow {
	ok, created, noContent := http.StatusOK, http.StatusCreated, http.StatusNoContent
	row := func(pattern string, status int, req func(*testing.T, *mWorld, *accounts.Account) (string, any)) mRow {
		return mRow{pattern: pattern, root: true, child: true, sub: mSubAdmin, ok: status, req: req}
	}
	onRule := func(method string, status int, body any) mRow {
		return row(method+" /v1/accounts/{id}/automations/{rule}", status, func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			t.Helper()
			r, err := w.st.CreateAutomation(t.Context(), a.ID, accounts.Automation{Name: "Info", Kind: accounts.AutoReply,
				Keyword: "info", Text: "Thanks", Enabled: true})
			if err != nil {
				t.Fatalf("create automation: %v", err)
			}
			return "/v1/accounts/" + a.ID + "/automations/" + r.ID, body
		})
	}
	return []mRow{
		row("GET /v1/accounts/{id}/automations", ok, mAt("/v1/accounts/%s/automations")),
		row("POST /v1/accounts/{id}/automations", created, mWith("/v1/accounts/%s/automations",
			map[string]any{"name": "Info", "kind": "auto_reply", "keyword": "info", "text": "Thanks"})),
		onRule("GET", ok, nil),
		onRule("PATCH", ok, map[string]any{"enabled": false}),
		onRule("DELETE", noContent, nil),
	}
}

// TestAutomationRoutes: CRUD through the API with precise problems, the
// per-account limit, and rules hidden from other accounts.
func TestAutomationRoutes(t *testing.T) {
	f := newFixture(t)
	base := "/v1/accounts/" + f.subA.ID + "/automations"

	var created accounts.Automation
	f.expect(f.subAKey, "POST", base, map[string]any{"name": "Info", "kind": "auto_reply", "keyword": "info", "text": "Thanks, we got it"},
		http.StatusCreated, &created)
	if created.ID == "" || created.Keyword != "INFO" || !created.Enabled || created.AccountID != f.subA.ID {
		t.Fatalf("created %+v", created)
	}
	rule := base + "/" + created.ID

	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		detail             string
	}{
		{"no name", "POST", base, map[string]any{"kind": "auto_reply", "keyword": "x", "text": "t"}, 422, "name: required"},
		{"bad kind", "POST", base, map[string]any{"name": "n", "kind": "sms"}, 422, `kind: "sms" is not one of auto_reply, forward, receipt_notice`},
		{"bad keyword", "POST", base, map[string]any{"name": "n", "kind": "auto_reply", "keyword": "two words", "text": "t"}, 422, `keyword: "TWO WORDS" must be one word`},
		{"forward nowhere", "POST", base, map[string]any{"name": "n", "kind": "forward", "keyword": "x"}, 422, "forward_to: required for forward"},
		{"forward bad", "POST", base, map[string]any{"name": "n", "kind": "forward", "keyword": "x", "forward_to": []string{"ops@example.com", "nobody"}}, 422, `forward_to[1]: "nobody" is neither an email address nor a phone number`},
		{"notify bad", "POST", base, map[string]any{"name": "n", "kind": "receipt_notice", "notify": "sometimes"}, 422, `notify: "sometimes" is not one of all, failed`},
		{"same keyword", "POST", base, map[string]any{"name": "n", "kind": "auto_reply", "keyword": "INFO", "text": "t"}, 422, "keyword: INFO is already used by auto_reply rule " + created.ID},
		{"unknown field", "POST", base, map[string]any{"name": "n", "kind": "auto_reply", "when": "now"}, 400, `unknown field "when"`},
		{"kind change", "PATCH", rule, map[string]any{"kind": "forward"}, 422, `kind: cannot change from auto_reply to "forward"; create a new rule`},
		{"bad patch", "PATCH", rule, map[string]any{"text": ""}, 422, "text: required for auto_reply"},
		{"unknown rule", "GET", base + "/au_nothere", nil, 404, "automation rule au_nothere not found"},
		{"another account's rule", "GET", "/v1/accounts/" + f.subB.ID + "/automations/" + created.ID, nil, 404, "automation rule " + created.ID + " not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := f.problem(f.rootKey, tc.method, tc.path, tc.body, tc.status)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("detail %q, want %q", p.Detail, tc.detail)
			}
		})
	}
	// Sub-account B's own admin sees no rule of A's: the account is hidden.
	f.problem(f.subBKey, "GET", rule, nil, http.StatusNotFound)
	// B's rules do not include A's.
	f.problem(f.subBKey, "GET", "/v1/accounts/"+f.subB.ID+"/automations/"+created.ID, nil, http.StatusNotFound)

	var patched accounts.Automation
	f.expect(f.subAKey, "PATCH", rule, map[string]any{"enabled": false, "kind": "auto_reply", "text": "Thank you"}, http.StatusOK, &patched)
	if patched.Enabled || patched.Text != "Thank you" || patched.Keyword != "INFO" {
		t.Fatalf("patched %+v", patched)
	}
	var list automationList
	f.expect(f.subAKey, "GET", base, nil, http.StatusOK, &list)
	if len(list.Automations) != 1 || list.Automations[0].ID != created.ID {
		t.Fatalf("list %+v", list)
	}
	for i := 1; i < accounts.MaxAutomations; i++ {
		f.expect(f.subAKey, "POST", base, map[string]any{"name": "n", "kind": "auto_reply", "keyword": fmt.Sprintf("k%d", i), "text": "t"},
			http.StatusCreated, nil)
	}
	p := f.problem(f.subAKey, "POST", base, map[string]any{"name": "n", "kind": "auto_reply", "keyword": "one", "text": "t"}, http.StatusConflict)
	if !strings.Contains(p.Detail, "automation_rules: account "+f.subA.ID+" has 20 of its quota of 20") || p.Type != "urn:smsgate:problem:quota-exceeded" ||
		p.Limit != "automation_rules" || p.Max == nil || *p.Max != 20 {
		t.Fatalf("limit detail %q", p.Detail)
	}
	f.expect(f.subAKey, "DELETE", rule, nil, http.StatusNoContent, nil)
	f.problem(f.subAKey, "GET", rule, nil, http.StatusNotFound)
}
