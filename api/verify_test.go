package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestDomainVerifyRoute: a pending domain is verified only with its own
// token; the failures say what was looked up; a DNS failure is a 503, not a
// verdict; the first account to prove control wins; the list shows pending
// requests with their records.
func TestDomainVerifyRoute(t *testing.T) {
	f := newFixture(t)
	pathA, pathB := "/v1/accounts/"+f.subA.ID, "/v1/accounts/"+f.subB.ID
	var da, db domainState
	f.expect(f.subAKey, "POST", pathA+"/domains", map[string]any{"domain": "shop.example"}, http.StatusCreated, &da)
	f.expect(f.subBKey, "POST", pathB+"/domains", map[string]any{"domain": "shop.example"}, http.StatusCreated, &db)
	var dl domainList
	f.expect(f.subAKey, "GET", pathA+"/domains", nil, http.StatusOK, &dl)
	if len(dl.Domains) != 0 || len(dl.Pending) != 1 || dl.Pending[0].TXTValue != da.TXTValue {
		t.Fatalf("list while pending: %+v", dl)
	}
	p := f.problem(f.subAKey, "POST", pathA+"/domains/shop.example/verify", nil, http.StatusUnprocessableEntity)
	if p.Type != problemBase+"verification-failed" || !strings.Contains(p.Detail, `no TXT record "`+da.TXTValue+`" found at _smsgate-challenge.shop.example`) {
		t.Fatalf("before publishing: %+v", p)
	}
	// B publishes its own token: A's verification still fails, naming it.
	f.dns.TXT(db.TXTName, db.TXTValue)
	p = f.problem(f.subAKey, "POST", pathA+"/domains/shop.example/verify", nil, http.StatusUnprocessableEntity)
	if !strings.Contains(p.Detail, "none of them") {
		t.Fatalf("with another token: %+v", p)
	}
	f.dns.Fail(db.TXTName, dns.RcodeServerFailure)
	p = f.problem(f.subBKey, "POST", pathB+"/domains/shop.example/verify", nil, http.StatusServiceUnavailable)
	if p.Type != problemBase+"dns-unavailable" {
		t.Fatalf("DNS failure: %+v", p)
	}
	f.dns.Fail(db.TXTName, dns.RcodeSuccess)
	f.expect(f.subBKey, "POST", pathB+"/domains/shop.example/verify", nil, http.StatusOK, nil)
	f.dns.TXT(da.TXTName, da.TXTValue)
	p = f.problem(f.subAKey, "POST", pathA+"/domains/shop.example/verify", nil, http.StatusConflict)
	if p.Type != problemBase+"domain-taken" {
		t.Fatalf("A after B verified: %+v", p)
	}
	// Another tenant cannot verify A's request, nor see it.
	f.problem(f.subBKey, "POST", pathA+"/domains/shop.example/verify", nil, http.StatusNotFound)
	f.problem(f.subAKey, "POST", pathA+"/domains/never.example/verify", nil, http.StatusNotFound)
}

// TestAddressConfirmationRoute: the token goes only to the address (the
// account never sees it); a wrong or reused token is 404; withdrawing the
// request kills its token.
func TestAddressConfirmationRoute(t *testing.T) {
	f := newFixture(t)
	pathA := "/v1/accounts/" + f.subA.ID
	code, raw, _ := f.do(f.subAKey, "POST", pathA+"/addresses", map[string]any{"address": "jo@gmail.com"})
	if code != http.StatusAccepted {
		t.Fatalf("POST address: %d %s", code, raw)
	}
	ms := f.mailsTo("jo@gmail.com")
	if len(ms) != 1 || !strings.Contains(ms[0].subject, "Confirm sending SMS as jo@gmail.com") || !strings.Contains(ms[0].body, "Sales") {
		t.Fatalf("mails %+v", ms)
	}
	i := strings.Index(ms[0].body, "smsgate address confirm ")
	token := strings.Fields(ms[0].body[i+len("smsgate address confirm "):])[0]
	if strings.Contains(string(raw), token) {
		t.Fatalf("the API answer reveals the token: %s", raw)
	}
	var al addressList
	f.expect(f.subAKey, "GET", pathA+"/addresses", nil, http.StatusOK, &al)
	if len(al.Addresses) != 0 || len(al.Pending) != 1 || al.Pending[0].Address != "jo@gmail.com" {
		t.Fatalf("list while pending: %+v", al)
	}
	f.problem("", "POST", "/v1/address-confirmations", map[string]any{"token": token + "x"}, http.StatusNotFound)
	// Withdrawn: the token confirms nothing.
	f.expect(f.subAKey, "DELETE", pathA+"/addresses/jo@gmail.com", nil, http.StatusNoContent, nil)
	f.problem("", "POST", "/v1/address-confirmations", map[string]any{"token": token}, http.StatusNotFound)
	// Asked again: a new token, which works once.
	f.expect(f.subAKey, "POST", pathA+"/addresses", map[string]any{"address": "jo@gmail.com"}, http.StatusAccepted, nil)
	f.confirmMailed("jo@gmail.com")
	f.problem("", "POST", "/v1/address-confirmations", map[string]any{"token": token}, http.StatusNotFound)
	f.expect(f.subAKey, "GET", pathA+"/addresses", nil, http.StatusOK, &al)
	if len(al.Addresses) != 1 || len(al.Pending) != 0 {
		t.Fatalf("list after confirming: %+v", al)
	}
}
