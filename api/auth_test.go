package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/router"
)

// TestAuthorize checks authorize itself, case by case: the decision for
// each kind of caller and target, without HTTP.
func TestAuthorize(t *testing.T) {
	root := &accounts.Account{ID: "a0-root"}
	other := &accounts.Account{ID: "a0-other"}
	subA := &accounts.Account{ID: "a0-suba", ParentID: root.ID}
	subB := &accounts.Account{ID: "a0-subb", ParentID: root.ID}
	foreignSub := &accounts.Account{ID: "a0-fsub", ParentID: other.ID}
	flags := func(fs ...string) accounts.Permissions { return accounts.Permissions{Granted: fs, Enabled: fs} }
	subA.Permissions = flags(accounts.FlagIncomingSMS, accounts.FlagUseDatabase, accounts.FlagAccessSMS)
	subAFull := &accounts.Account{ID: "a0-subafull", ParentID: root.ID}
	subAFull.Permissions = flags(slices.DeleteFunc(accounts.Flags(), func(f string) bool { return f == accounts.FlagHidePricing })...)
	subHidden := &accounts.Account{ID: "a0-hidden", ParentID: root.ID, Permissions: flags(accounts.FlagPrices, accounts.FlagHidePricing)}
	key := func(a *accounts.Account, r accounts.Role) *accounts.APIKey {
		return &accounts.APIKey{ID: "k", AccountID: a.ID, Role: r}
	}
	for _, tc := range []struct {
		name    string
		key     *accounts.APIKey
		keyAcct *accounts.Account
		target  *accounts.Account
		act     action
		want    error
	}{
		{"root admin reads itself", key(root, accounts.RoleParentAdmin), root, root, actRead, nil},
		{"root admin reads its sub", key(root, accounts.RoleParentAdmin), root, subA, actRead, nil},
		{"root admin credits its sub", key(root, accounts.RoleParentAdmin), root, subA, actFinance, nil},
		{"root admin prices its sub", key(root, accounts.RoleParentAdmin), root, subA, actPrice, nil},
		{"root admin may not price itself: the operator does", key(root, accounts.RoleParentAdmin), root, root, actPrice, errForbidden},
		{"root admin sets its own limits", key(root, accounts.RoleParentAdmin), root, root, actLimits, nil},
		{"root admin sets its sub's limits", key(root, accounts.RoleParentAdmin), root, subA, actLimits, nil},
		{"sub admin may not set its own limits", key(subA, accounts.RoleSubAdmin), subA, subA, actLimits, errForbidden},
		{"root admin credits itself", key(root, accounts.RoleParentAdmin), root, root, actFinance, errForbidden},
		{"root admin creates a sub", key(root, accounts.RoleParentAdmin), root, root, actCreateSub, nil},
		{"root admin, foreign sub", key(root, accounts.RoleParentAdmin), root, foreignSub, actRead, errHidden},
		{"root admin, other root", key(root, accounts.RoleParentAdmin), root, other, actRead, errHidden},
		{"root sub_admin, its sub", key(root, accounts.RoleSubAdmin), root, subA, actRead, errHidden},
		{"root basic creates a sub", key(root, accounts.RoleBasic), root, root, actCreateSub, errForbidden},
		{"sub admin manages itself", key(subA, accounts.RoleSubAdmin), subA, subA, actManage, nil},
		{"sub admin credits itself", key(subA, accounts.RoleSubAdmin), subA, subA, actFinance, errForbidden},
		{"sub admin prices itself", key(subA, accounts.RoleSubAdmin), subA, subA, actPrice, errForbidden},
		{"sub admin creates a sub", key(subA, accounts.RoleSubAdmin), subA, subA, actCreateSub, errForbidden},
		{"sub admin, sibling", key(subA, accounts.RoleSubAdmin), subA, subB, actRead, errHidden},
		{"sub admin, parent", key(subA, accounts.RoleSubAdmin), subA, root, actRead, errHidden},
		{"sub advanced manages", key(subA, accounts.RoleAdvanced), subA, subA, actManage, errForbidden},
		{"sub basic reads", key(subA, accounts.RoleBasic), subA, subA, actRead, nil},
		{"key of another account", key(subB, accounts.RoleParentAdmin), subA, subA, actRead, errHidden},
		{"nil target", key(subA, accounts.RoleBasic), subA, nil, actRead, errHidden},

		// Flags of the target sub-account for its own members.
		{"flag on", key(subA, accounts.RoleBasic), subA, subA, actInbox, nil},
		{"flag off", key(subA, accounts.RoleAdvanced), subA, subA, actMessagesExport, errForbidden},
		{"flag on, role too low", key(subA, accounts.RoleBasic), subA, subA, actContacts, errForbidden},
		{"parent ignores the sub's flags", key(root, accounts.RoleParentAdmin), root, subA, actMessagesExport, nil},
		{"root members have every flag", key(root, accounts.RoleAdvanced), root, root, actMessagesExport, nil},
		{"modify_users off", key(subA, accounts.RoleSubAdmin), subA, subA, actPermissionsSelf, errForbidden},
		{"modify_users on", key(subAFull, accounts.RoleSubAdmin), subAFull, subAFull, actPermissionsSelf, nil},
		{"grant is the parent's", key(subAFull, accounts.RoleSubAdmin), subAFull, subAFull, actPermissionsGrant, errForbidden},
		{"parent grants", key(root, accounts.RoleParentAdmin), root, subA, actPermissionsGrant, nil},
		{"parent does not send as a child", key(root, accounts.RoleParentAdmin), root, subA, actSend, errForbidden},
		{"sub sends", key(subA, accounts.RoleBasic), subA, subA, actSend, nil},
		{"hide_pricing hides prices", key(subHidden, accounts.RoleSubAdmin), subHidden, subHidden, actPricesView, errForbidden},
		{"parent sees hidden prices", key(root, accounts.RoleParentAdmin), root, subHidden, actPricesView, nil},
		{"parent_admin role in a sub counts as sub_admin", key(subA, accounts.RoleParentAdmin), subA, subA, actPrice, errForbidden},

		// reporting_all: siblings, for reporting only.
		{"reporting_all reads sibling messages", key(subAFull, accounts.RoleBasic), subAFull, subB, actMessages, nil},
		{"reporting_all reads sibling stats", key(subAFull, accounts.RoleBasic), subAFull, subB, actStats, nil},
		{"reporting_all does not manage siblings", key(subAFull, accounts.RoleSubAdmin), subAFull, subB, actManage, errForbidden},
		{"reporting_all does not export siblings", key(subAFull, accounts.RoleSubAdmin), subAFull, subB, actMessagesExport, errForbidden},
		{"reporting_all stops at the tenant", key(subAFull, accounts.RoleSubAdmin), subAFull, foreignSub, actMessages, errHidden},
		{"reporting_all does not reach the parent", key(subAFull, accounts.RoleSubAdmin), subAFull, root, actMessages, errHidden},
		{"no reporting_all: sibling hidden", key(subA, accounts.RoleSubAdmin), subA, subB, actMessages, errHidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := authorize(tc.key, tc.keyAcct, tc.target, tc.act); !errors.Is(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Fatalf("authorize = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestAuthorizeTable: every action has a row, and a denial says why.
func TestAuthorizeTable(t *testing.T) {
	for a := actRead; a <= actLast; a++ {
		r, ok := ruleOf(a)
		if !ok {
			t.Errorf("action %d (%s) has no rule", a, a)
		}
		if r.flag != "" && !accounts.ValidFlag(r.flag) {
			t.Errorf("action %s: unknown flag %q", a, r.flag)
		}
		if a.String() == "do this" {
			t.Errorf("action %d has no name", a)
		}
	}
	sub := &accounts.Account{ID: "a0-s", ParentID: "a0-r"}
	err := authorize(&accounts.APIKey{ID: "k1", AccountID: sub.ID, Role: accounts.RoleAdvanced}, sub, sub, actInboxExport)
	if !errors.Is(err, errForbidden) || !strings.Contains(err.Error(), "permission flag incoming_sms_export") {
		t.Fatalf("denial %v does not name the flag", err)
	}
}

func TestHidesPricing(t *testing.T) {
	root := &accounts.Account{ID: "a0-r", Balance: 500, PricePerPart: 7}
	hidden := &accounts.Account{ID: "a0-h", ParentID: root.ID,
		Permissions: accounts.Permissions{Granted: []string{accounts.FlagHidePricing}, Enabled: []string{accounts.FlagHidePricing}}}
	shown := &accounts.Account{ID: "a0-v", ParentID: root.ID}
	for _, tc := range []struct {
		name string
		acct *accounts.Account
		want bool
	}{{"own member under hide_pricing", hidden, true}, {"the parent", root, false}, {"no hide_pricing", shown, false}} {
		if got := hidesPricing(principal{key: &accounts.APIKey{AccountID: tc.acct.ID}, acct: tc.acct}); got != tc.want {
			t.Errorf("%s: hidesPricing = %v", tc.name, got)
		}
	}
	in := `{"id":"a0-h","balance":300,"auto_recharge":{"amount":5},"messages":[{"id":"m1","price":7,"text":"balance"}],"total":{"cost":9,"parts":2}}`
	got := string(withoutMoney([]byte(in)))
	for _, k := range []string{`"balance": `, `"price": `, `"auto_recharge": `, `"cost": `, "300", ": 7"} {
		if strings.Contains(got, k) {
			t.Errorf("withoutMoney left %s: %s", k, got)
		}
	}
	for _, k := range []string{`"m1"`, `"text": "balance"`, `"parts": 2`} {
		if !strings.Contains(got, k) {
			t.Errorf("withoutMoney removed %s: %s", k, got)
		}
	}
}

// TestPermissionsRoutes: the parent grants, the sub-account's admin with
// modify_users switches within the grant, and never beyond it.
func TestPermissionsRoutes(t *testing.T) {
	f := newFixture(t)
	path := "/v1/accounts/" + f.subA.ID + "/permissions"
	var v permissionsView
	f.expect(f.subAKey, "GET", path, nil, http.StatusOK, &v)
	if !slices.Equal(v.Granted, accounts.DefaultPermissions().Granted) || v.EveryFlag {
		t.Fatalf("new sub-account's permissions %+v, want the defaults", v)
	}
	f.expect(f.rootKey, "GET", "/v1/accounts/"+f.root.ID+"/permissions", nil, http.StatusOK, &v)
	if !v.EveryFlag || len(v.Enabled) != len(accounts.Flags()) {
		t.Fatalf("root permissions %+v", v)
	}
	// Without modify_users the sub's admin may not touch its flags.
	p := f.problem(f.subAKey, "PUT", path, map[string]any{"enabled": []string{"access_sms"}}, http.StatusForbidden)
	if !strings.Contains(p.Detail, "modify_users") {
		t.Fatalf("detail %q does not name modify_users", p.Detail)
	}
	f.expect(f.rootKey, "PUT", path, map[string]any{"granted": []string{"access_sms", "send_bulk", "modify_users"},
		"enabled": []string{"access_sms", "modify_users"}}, http.StatusOK, &v)
	if !slices.Equal(v.Enabled, []string{"access_sms", "modify_users"}) {
		t.Fatalf("after grant %+v", v)
	}
	for _, tc := range []struct {
		name   string
		key    string
		path   string
		body   any
		status int
		detail string
	}{
		{"trap: enable a flag not granted", f.subAKey, path, map[string]any{"enabled": []string{"modify_users", "finance"}}, http.StatusForbidden, "enabled: flag finance was not granted"},
		{"trap: grant itself", f.subAKey, path, map[string]any{"granted": []string{"access_sms", "finance", "modify_users", "send_bulk"}}, http.StatusForbidden, "granted: only the parent"},
		{"unknown flag", f.rootKey, path, map[string]any{"granted": []string{"teleport"}}, http.StatusUnprocessableEntity, `granted: unknown permission flag "teleport"`},
		{"parent enables beyond the grant", f.rootKey, path, map[string]any{"enabled": []string{"finance"}}, http.StatusUnprocessableEntity, "enabled: flag finance is not granted"},
		{"empty body", f.rootKey, path, map[string]any{}, http.StatusUnprocessableEntity, "granted, enabled"},
		{"a root has every flag", f.rootKey, "/v1/accounts/" + f.root.ID + "/permissions", map[string]any{"granted": []string{}}, http.StatusUnprocessableEntity, "every flag"},
		{"sibling", f.subBKey, path, map[string]any{"enabled": []string{}}, http.StatusNotFound, f.subA.ID},
		{"wrong type", f.rootKey, path, map[string]any{"granted": "finance"}, http.StatusBadRequest, "granted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := f.problem(tc.key, "PUT", tc.path, tc.body, tc.status)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("detail %q does not contain %q", p.Detail, tc.detail)
			}
		})
	}
	// Within the grant the sub's admin switches freely, even modify_users off.
	f.expect(f.subAKey, "PUT", path, map[string]any{"enabled": []string{"send_bulk"}}, http.StatusOK, &v)
	if !slices.Equal(v.Enabled, []string{"send_bulk"}) || !slices.Equal(v.Granted, []string{"access_sms", "modify_users", "send_bulk"}) {
		t.Fatalf("after self change %+v", v)
	}
	f.problem(f.subAKey, "PUT", path, map[string]any{"enabled": []string{"send_bulk", "modify_users"}}, http.StatusForbidden)
	// Narrowing the grant clips what is enabled.
	f.expect(f.rootKey, "PUT", path, map[string]any{"granted": []string{"access_sms"}}, http.StatusOK, &v)
	if len(v.Enabled) != 0 {
		t.Fatalf("enabled %v after the grant was narrowed", v.Enabled)
	}
}

func TestBearer(t *testing.T) {
	for _, tc := range []struct {
		name, header, want string
		ok                 bool
	}{
		{"plain", "Bearer abc", "abc", true},
		{"case", "bEaReR abc", "abc", true},
		{"spaces", "  Bearer   abc  ", "abc", true},
		{"empty", "", "", false},
		{"no token", "Bearer", "", false},
		{"basic", "Basic abc", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := bearer(tc.header)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("bearer(%q) = %q, %v", tc.header, got, ok)
			}
		})
	}
}

func FuzzBearer(f *testing.F) {
	for _, s := range []string{"Bearer x", "bearer  y ", "", "Bearer", "Basic z", "Bearer\tq"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, ok := bearer(h)
		if ok && (tok == "" || tok != strings.TrimSpace(tok)) {
			t.Fatalf("bearer(%q) = %q", h, tok)
		}
	})
}

func FuzzNormDomain(f *testing.F) {
	for _, s := range []string{"example.com", "Sales.Example.COM.", "gmail.com", "a@b.c", "", ".", "x..y", "localhost"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := normDomain(in)
		if err != nil {
			return
		}
		if d != strings.ToLower(d) || !strings.Contains(d, ".") || strings.ContainsAny(d, "@/ ") {
			t.Fatalf("normDomain(%q) = %q", in, d)
		}
		if again, err := normDomain(d); err != nil || again != d {
			t.Fatalf("normDomain not idempotent: %q -> %q (%v)", d, again, err)
		}
	})
}

// TestSendPermissions: the flags that gate sending hold on the API path
// through the real router pipeline and store.
func TestSendPermissions(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(New(Options{Stores: storesOf(f.store), Sender: router.NewPipeline(router.PipelineOptions{Store: f.store})}))
	t.Cleanup(srv.Close)
	f.srv = srv
	perms := "/v1/accounts/" + f.subA.ID + "/permissions"
	send := func(to ...string) map[string]any { return map[string]any{"to": to, "text": "hi"} }
	f.expect(f.subAKey, "POST", "/v1/messages", send("0412345678", "0412345679"), http.StatusCreated, nil)
	for _, tc := range []struct {
		name    string
		enabled []string // nil: the defaults
		body    any
		detail  string
	}{
		{"abroad without global_sending", nil, send("+64211234567"), "permission global_sending"},
		{"several without send_bulk", []string{"access_sms"}, send("0412345678", "0412345679"), "account may not send to several recipients (permission send_bulk)"},
		{"no access_sms", []string{"send_bulk"}, send("0412345678"), "permission flag access_sms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.enabled != nil {
				f.expect(f.rootKey, "PUT", perms, map[string]any{"enabled": tc.enabled}, http.StatusOK, nil)
			}
			p := f.problem(f.subAKey, "POST", "/v1/messages", tc.body, http.StatusForbidden)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("detail %q lacks %q", p.Detail, tc.detail)
			}
		})
	}
}
