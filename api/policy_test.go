package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

// policyView decodes a sender-policy answer.
type policyView struct {
	Networks []string `json:"networks"`
	SPF      bool     `json:"spf"`
	DKIM     bool     `json:"dkim"`
	Source   string   `json:"source"`
	From     string   `json:"from"`
}

// TestSenderPolicyRoutes: the default, inheritance from the parent, a
// sub-account's own policy and going back to inheriting; bad networks name
// their entry; another tenant sees nothing; a basic member reads only.
func TestSenderPolicyRoutes(t *testing.T) {
	f := newFixture(t)
	rootPath := "/v1/accounts/" + f.root.ID + "/sender-policy"
	subPath := "/v1/accounts/" + f.subA.ID + "/sender-policy"
	var v policyView
	f.expect(f.subAKey, "GET", subPath, nil, http.StatusOK, &v)
	if v.Source != accounts.PolicyDefault || !v.SPF || v.DKIM || len(v.Networks) != 0 {
		t.Fatalf("default policy %+v, want spf only", v)
	}
	f.expect(f.rootKey, "PUT", rootPath, map[string]any{"networks": []string{"198.51.100.0/24", "2001:db8:1::/48", "192.0.2.7"}, "spf": false, "dkim": true}, http.StatusOK, &v)
	if v.Source != accounts.PolicyOwn || v.SPF || !v.DKIM || strings.Join(v.Networks, ",") != "192.0.2.7/32,198.51.100.0/24,2001:db8:1::/48" {
		t.Fatalf("root policy %+v", v)
	}
	f.expect(f.subAKey, "GET", subPath, nil, http.StatusOK, &v)
	if v.Source != accounts.PolicyParent || v.From != f.root.ID || len(v.Networks) != 3 {
		t.Fatalf("sub inherits %+v", v)
	}
	f.expect(f.subAKey, "PUT", subPath, map[string]any{"networks": []string{"203.0.113.0/28"}, "spf": true, "dkim": false}, http.StatusOK, &v)
	if v.Source != accounts.PolicyOwn || v.From != f.subA.ID || strings.Join(v.Networks, ",") != "203.0.113.0/28" || !v.SPF {
		t.Fatalf("sub's own policy %+v", v)
	}
	f.expect(f.subAKey, "PUT", subPath, map[string]any{"inherit": true}, http.StatusOK, &v)
	if v.Source != accounts.PolicyParent {
		t.Fatalf("after inherit %+v", v)
	}
	for _, tc := range []struct {
		name   string
		key    string
		method string
		body   any
		status int
		detail string
	}{
		{"too broad v4", f.rootKey, "PUT", map[string]any{"networks": []string{"10.0.0.0/16", "0.0.0.0/0"}, "spf": true, "dkim": false}, http.StatusUnprocessableEntity, "networks[1]: 0.0.0.0/0 is broader than /8"},
		{"too broad v6", f.rootKey, "PUT", map[string]any{"networks": []string{"::/0"}, "spf": true, "dkim": false}, http.StatusUnprocessableEntity, "networks[0]: ::/0 is broader than /32"},
		{"not a network", f.rootKey, "PUT", map[string]any{"networks": []string{"office"}, "spf": true, "dkim": false}, http.StatusUnprocessableEntity, `networks[0]: "office" is not an address or a CIDR network`},
		{"partial policy", f.rootKey, "PUT", map[string]any{"spf": true}, http.StatusUnprocessableEntity, "networks, spf and dkim are all required"},
		{"inherit and a policy", f.rootKey, "PUT", map[string]any{"inherit": true, "spf": true}, http.StatusUnprocessableEntity, "either inherit or"},
		{"another tenant cannot read", f.subBKey, "GET", nil, http.StatusNotFound, ""},
		{"another tenant cannot open it", f.subBKey, "PUT", map[string]any{"networks": []string{"0.0.0.0/8"}, "spf": true, "dkim": true}, http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := rootPath
			if tc.key == f.subBKey {
				path = subPath
			}
			p := f.problem(tc.key, tc.method, path, tc.body, tc.status)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("detail %q, want %q", p.Detail, tc.detail)
			}
		})
	}
	f.expect(f.rootKey, "GET", rootPath, nil, http.StatusOK, &v)
	if len(v.Networks) != 3 || !v.DKIM {
		t.Fatalf("policy changed by a refused request: %+v", v)
	}
}

// matrixPolicyRows: any member reads the policy; those who manage
// registrations set it.
func matrixPolicyRows() []mRow {
	return []mRow{
		{pattern: "GET /v1/accounts/{id}/sender-policy", root: true, child: true, sub: accounts.RoleBasic, ok: http.StatusOK, req: mAt("/v1/accounts/%s/sender-policy")},
		{pattern: "PUT /v1/accounts/{id}/sender-policy", root: true, child: true, sub: accounts.RoleSubAdmin, ok: http.StatusOK,
			req: mWith("/v1/accounts/%s/sender-policy", map[string]any{"networks": []string{"192.0.2.0/24"}, "spf": true, "dkim": false})},
	}
}
