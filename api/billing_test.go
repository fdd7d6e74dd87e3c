package api

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

// billingFlags sets a sub-account's permission flags (granted = enabled).
func (f *fixture) billingFlags(id string, flags ...string) {
	f.t.Helper()
	p := accounts.DefaultPermissions()
	p.Granted = append(p.Granted, flags...)
	p.Enabled = append(p.Enabled, flags...)
	if err := f.store.SetPermissions(f.t.Context(), id, p, true); err != nil {
		f.t.Fatalf("set permissions: %v", err)
	}
}

func TestPricesRoutes(t *testing.T) {
	f := newFixture(t)
	pathA := "/v1/accounts/" + f.subA.ID + "/prices"
	var pt accounts.PriceTable
	f.expect(f.rootKey, "PUT", pathA, map[string]any{"prefixes": map[string]int64{"61": 7, "614": 9}}, http.StatusOK, &pt)
	if len(pt.Prefixes) != 2 || pt.Prefixes["614"] != 9 {
		t.Fatalf("PUT prices = %+v", pt)
	}
	tests := []struct {
		name   string
		key    string
		method string
		path   string
		body   any
		status int
		detail string
	}{
		{"parent reads", f.rootKey, "GET", pathA, nil, http.StatusOK, ""},
		{"sub reads with the prices flag (a default)", f.subAKey, "GET", pathA, nil, http.StatusOK, ""},
		{"sub may not set its own prices", f.subAKey, "PUT", pathA, map[string]any{"prefixes": map[string]int64{"61": 1}}, http.StatusForbidden, ""},
		{"another tenant's prices are not found", f.subBKey, "GET", pathA, nil, http.StatusNotFound, ""},
		{"bad prefix", f.rootKey, "PUT", pathA, map[string]any{"prefixes": map[string]int64{"+61": 1}}, http.StatusUnprocessableEntity, `prefixes: "+61" is not 1 to 15 digits`},
		{"negative price", f.rootKey, "PUT", pathA, map[string]any{"prefixes": map[string]int64{"61": -1}}, http.StatusUnprocessableEntity, "prefixes.61: price -1"},
		{"prefixes required", f.rootKey, "PUT", pathA, map[string]any{}, http.StatusBadRequest, "prefixes: required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.status < 300 {
				f.expect(tc.key, tc.method, tc.path, tc.body, tc.status, nil)
				return
			}
			p := f.problem(tc.key, tc.method, tc.path, tc.body, tc.status)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("detail %q, want %q", p.Detail, tc.detail)
			}
		})
	}
	// Without the prices flag (or with hide_pricing) the sub cannot read them.
	f.billingFlags(f.subA.ID, accounts.FlagHidePricing)
	f.problem(f.subAKey, "GET", pathA, nil, http.StatusForbidden)
}

func TestTopUpAndLedgerRoutes(t *testing.T) {
	f := newFixture(t)
	pathA := "/v1/accounts/" + f.subA.ID
	// Without top_up the sub-account's admin may not pull credit.
	f.problem(f.subAKey, "POST", pathA+"/topup", map[string]any{"amount": 100}, http.StatusForbidden)
	f.billingFlags(f.subA.ID, accounts.FlagTopUp, accounts.FlagFinance)
	var tr transferResult
	f.expect(f.subAKey, "POST", pathA+"/topup", map[string]any{"amount": 300, "ref": "po-1"}, http.StatusOK, &tr)
	if tr.From != nil || tr.To == nil || tr.To.Balance != 300 || tr.To.Kind != accounts.KindTopUpIn {
		t.Fatalf("top-up by the sub = %+v (the parent's side must be hidden)", tr)
	}
	f.expect(f.rootKey, "POST", pathA+"/topup", map[string]any{"amount": 200}, http.StatusOK, &tr)
	if tr.From == nil || tr.From.Balance != 10000-500 || tr.To.Balance != 500 {
		t.Fatalf("top-up by the parent = %+v", tr)
	}
	p := f.problem(f.subAKey, "POST", pathA+"/topup", map[string]any{"amount": 1000000}, http.StatusUnprocessableEntity)
	if strings.Contains(p.Detail, "95.00") || !strings.Contains(p.Detail, "cannot fund a top-up of 10000.00") {
		t.Fatalf("short parent: %q (must not show the parent's balance)", p.Detail)
	}
	f.problem(f.rootKey, "POST", "/v1/accounts/"+f.root.ID+"/topup", map[string]any{"amount": 1}, http.StatusUnprocessableEntity)
	f.problem(f.subBKey, "POST", pathA+"/topup", map[string]any{"amount": 1}, http.StatusNotFound)

	// Ledger pages.
	for i := range 4 {
		f.expect(f.rootKey, "POST", pathA+"/credit", map[string]any{"amount": i + 1, "ref": "=cmd()"}, http.StatusOK, nil)
	}
	var seen []string
	before := ""
	for range 10 {
		var page ledgerList
		path := pathA + "/ledger?limit=2"
		if before != "" {
			path += "&before=" + before
		}
		f.expect(f.subAKey, "GET", path, nil, http.StatusOK, &page)
		for _, e := range page.Entries {
			seen = append(seen, e.Kind+":"+strconv.FormatInt(e.Amount, 10))
		}
		if before = page.NextBefore; before == "" {
			break
		}
	}
	if got := strings.Join(seen, " "); got != "transfer_in:4 transfer_in:3 transfer_in:2 transfer_in:1 topup_in:200 topup_in:300" {
		t.Fatalf("ledger pages: %s", got)
	}
	if p := f.problem(f.subAKey, "GET", pathA+"/ledger?before=zzz", nil, http.StatusBadRequest); !strings.Contains(p.Detail, "before:") {
		t.Fatalf("bad before: %q", p.Detail)
	}
	// A cursor that looks like an id but overflows Redis's 64-bit halves is
	// the same 400, never a 500.
	if p := f.problem(f.subAKey, "GET", pathA+"/ledger?before=99999999999999999999-0", nil, http.StatusBadRequest); !strings.Contains(p.Detail, "before:") {
		t.Fatalf("overflowing cursor: %+v", p)
	}

	// CSV export.
	code, data, hdr := f.do(f.subAKey, "GET", pathA+"/ledger.csv", nil)
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") {
		t.Fatalf("ledger.csv: %d %s", code, hdr.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 7 || strings.Join(rows[0], ",") != "id,at,kind,amount,amount_formatted,balance,balance_formatted,currency,ref,actor" {
		t.Fatalf("csv rows %q", rows)
	}
	var sum int64
	for _, row := range rows[1:] {
		n, _ := strconv.ParseInt(row[3], 10, 64)
		sum += n
	}
	if last := rows[1]; sum != 510 || last[5] != "510" || last[6] != "5.10" || last[7] != f.root.Currency || last[8] != "'=cmd()" {
		t.Fatalf("csv sums to %d; newest row %q", sum, last)
	}
	f.problem(f.subBKey, "GET", pathA+"/ledger.csv", nil, http.StatusNotFound)
}

func TestPatchAndListAccounts(t *testing.T) {
	f := newFixture(t)
	pathA := "/v1/accounts/" + f.subA.ID
	var a accounts.Account
	f.expect(f.rootKey, "PATCH", pathA, map[string]any{"billing": "postpaid", "credit_limit": 500,
		"auto_recharge": map[string]int64{"threshold": 100, "amount": 200}, "low_balance_threshold": 50}, http.StatusOK, &a)
	if a.Billing != "postpaid" || a.CreditLimit != 500 || a.AutoRecharge.Amount != 200 || a.LowBalance != 50 {
		t.Fatalf("PATCH money settings = %+v", a)
	}
	tests := []struct {
		name   string
		key    string
		body   map[string]any
		status int
	}{
		{"sub admin renames (profile_edit)", f.subAKey, map[string]any{"name": "Sales AU"}, http.StatusOK},
		{"sub admin changes messaging settings", f.subAKey, map[string]any{"subject_mode": "prepend", "max_parts": 4}, http.StatusOK},
		{"sub admin may not change its credit limit", f.subAKey, map[string]any{"credit_limit": 10000}, http.StatusForbidden},
		{"sub admin may not change its billing", f.subAKey, map[string]any{"billing": "prepaid"}, http.StatusForbidden},
		{"another tenant cannot rename", f.subBKey, map[string]any{"name": "x"}, http.StatusNotFound},
		{"bad billing", f.rootKey, map[string]any{"billing": "later"}, http.StatusUnprocessableEntity},
		{"negative credit limit", f.rootKey, map[string]any{"credit_limit": -5}, http.StatusUnprocessableEntity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.status == http.StatusOK {
				f.expect(tc.key, "PATCH", pathA, tc.body, tc.status, nil)
				return
			}
			f.problem(tc.key, "PATCH", pathA, tc.body, tc.status)
		})
	}
	// A postpaid account in debt may not switch to prepaid.
	if _, err := f.store.Debit(t.Context(), f.subA.ID, 40, "", "test"); err != nil {
		t.Fatal(err)
	}
	if p := f.problem(f.rootKey, "PATCH", pathA, map[string]any{"billing": "prepaid"}, http.StatusUnprocessableEntity); !strings.Contains(p.Detail, "owes") {
		t.Fatalf("switch in debt: %q", p.Detail)
	}

	var list struct {
		Accounts []struct {
			accounts.Account
			KeyPrefixes []string `json:"key_prefixes"`
		} `json:"accounts"`
	}
	f.expect(f.rootKey, "GET", "/v1/accounts", nil, http.StatusOK, &list)
	if len(list.Accounts) != 3 {
		t.Fatalf("list = %+v", list)
	}
	for _, a := range list.Accounts {
		if len(a.KeyPrefixes) != 1 || !strings.HasPrefix(a.KeyPrefixes[0], "sgk_k") {
			t.Errorf("account %s key prefixes %v", a.Name, a.KeyPrefixes)
		}
		if a.ID == f.subA.ID && (a.Name != "Sales AU" || a.Balance != -40) {
			t.Errorf("listed sub %+v", a.Account)
		}
	}
}

func TestDeleteAccountRoute(t *testing.T) {
	f := newFixture(t)
	pathA := "/v1/accounts/" + f.subA.ID
	f.expect(f.rootKey, "POST", pathA+"/credit", map[string]any{"amount": 700}, http.StatusOK, nil)
	var d domainState
	f.expect(f.rootKey, "POST", pathA+"/domains", map[string]any{"domain": "sales.example"}, http.StatusCreated, &d)
	f.verifyDomain(f.rootKey, f.subA.ID, d)
	f.problem(f.subAKey, "DELETE", pathA, nil, http.StatusForbidden)
	f.problem(f.subBKey, "DELETE", pathA, nil, http.StatusNotFound)
	f.problem(f.rootKey, "DELETE", "/v1/accounts/"+f.root.ID, nil, http.StatusForbidden)
	var res accounts.DeleteResult
	f.expect(f.rootKey, "DELETE", pathA, nil, http.StatusOK, &res)
	if res.Returned != 700 || len(res.Domains) != 1 || len(res.Keys) != 1 {
		t.Fatalf("delete = %+v", res)
	}
	f.problem(f.rootKey, "GET", pathA, nil, http.StatusNotFound)
	f.problem(f.rootKey, "DELETE", pathA, nil, http.StatusNotFound)
	f.problem(f.rootKey, "POST", pathA+"/activate", nil, http.StatusNotFound)
	f.problem(f.subAKey, "GET", "/v1/me", nil, http.StatusUnauthorized)
	var root accounts.Account
	f.expect(f.rootKey, "GET", "/v1/accounts/"+f.root.ID, nil, http.StatusOK, &root)
	if root.Balance != 10000 {
		t.Fatalf("root balance %d, want 10000 (the 700 came back)", root.Balance)
	}
}

// TestOnlyTheOperatorCreatesMoney is the attack of issue 10: a parent
// administrator gives a sub-account a huge credit limit and debits it into
// the parent, or raises its own. Neither works: a root's price, billing and
// credit limit are the operator's, and a sub-account's credit limit is held
// out of what the parent has.
func TestOnlyTheOperatorCreatesMoney(t *testing.T) {
	f := newFixture(t)
	root, sub := "/v1/accounts/"+f.root.ID, "/v1/accounts/"+f.subA.ID
	for _, body := range []map[string]any{
		{"billing": "postpaid", "credit_limit": 10_000_000_000_000},
		{"price_per_part": 0},
		{"currency": "USD"},
	} {
		p := f.problem(f.rootKey, "PATCH", root, body, http.StatusForbidden)
		if !strings.Contains(p.Detail, "only the operator may change the price or billing of parent account") {
			t.Errorf("PATCH %v on the root: %q", body, p.Detail)
		}
	}
	f.problem(f.rootKey, "PUT", root+"/prices", map[string]any{"prefixes": map[string]int64{"61": 0}}, http.StatusForbidden)
	// The root's own alerts and limits stay its own.
	f.expect(f.rootKey, "PATCH", root, map[string]any{"low_balance_threshold": 100}, http.StatusOK, nil)

	var before accounts.Account
	f.expect(f.rootKey, "GET", root, nil, http.StatusOK, &before)
	p := f.problem(f.rootKey, "PATCH", sub, map[string]any{"billing": "postpaid", "credit_limit": 10_000_000_000_000}, http.StatusUnprocessableEntity)
	if p.Type != "urn:smsgate:problem:insufficient-credit" || !strings.Contains(p.Detail, "credit_limit: parent account "+f.root.ID+" has ") {
		t.Fatalf("a credit limit beyond the parent's means: %+v", p)
	}
	f.problem(f.rootKey, "POST", sub+"/debit", map[string]any{"amount": 1_000_000_000_000}, http.StatusUnprocessableEntity)
	// Within its means the parent extends credit and holds it.
	var a accounts.Account
	f.expect(f.rootKey, "PATCH", sub, map[string]any{"billing": "postpaid", "credit_limit": before.Balance}, http.StatusOK, &a)
	f.expect(f.rootKey, "GET", root, nil, http.StatusOK, &a)
	if a.CreditReserved != before.Balance {
		t.Fatalf("root holds %d, want %d", a.CreditReserved, before.Balance)
	}
	// Debiting the sub-account into its credit moves money the parent holds
	// already: the parent cannot spend it.
	f.expect(f.rootKey, "POST", sub+"/debit", map[string]any{"amount": before.Balance}, http.StatusOK, nil)
	f.expect(f.rootKey, "GET", root, nil, http.StatusOK, &a)
	if a.Balance != 2*before.Balance {
		t.Fatalf("root balance %d, want %d", a.Balance, 2*before.Balance)
	}
	p = f.problem(f.rootKey, "POST", "/v1/accounts/"+f.subB.ID+"/credit", map[string]any{"amount": before.Balance + 1}, http.StatusUnprocessableEntity)
	if !strings.Contains(p.Detail, "backing the credit limits of its sub-accounts") {
		t.Fatalf("spending the held credit: %q", p.Detail)
	}
}
