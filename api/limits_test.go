package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/router"
)

// TestLimitsRoutes: the parent's administrators set a sub-account's limits,
// the sub-account reads but cannot raise them, another tenant sees nothing,
// bad values name their field.
func TestLimitsRoutes(t *testing.T) {
	f := newFixture(t)
	pathA := "/v1/accounts/" + f.subA.ID + "/limits"
	var l accounts.Limits
	f.expect(f.subAKey, "GET", pathA, nil, http.StatusOK, &l)
	if l != (accounts.Limits{}) {
		t.Fatalf("default limits %+v, want unlimited", l)
	}
	f.expect(f.rootKey, "PUT", pathA, map[string]any{"per_minute": 5, "spend_per_day": 500}, http.StatusOK, &l)
	if l != (accounts.Limits{PerMinute: 5, SpendPerDay: 500}) {
		t.Fatalf("PUT limits = %+v", l)
	}
	f.expect(f.subAKey, "GET", pathA, nil, http.StatusOK, &l)
	if l.SpendPerDay != 500 {
		t.Fatalf("GET limits = %+v", l)
	}
	for _, tc := range []struct {
		name   string
		key    string
		method string
		body   any
		status int
		detail string
	}{
		{"sub may not raise its own cap", f.subAKey, "PUT", map[string]any{"spend_per_day": 0}, http.StatusForbidden, "may not change its sending limits or balance alerts"},
		{"another tenant's limits are not found", f.subBKey, "GET", nil, http.StatusNotFound, ""},
		{"another tenant cannot set them", f.subBKey, "PUT", map[string]any{"per_minute": 1}, http.StatusNotFound, ""},
		{"negative", f.rootKey, "PUT", map[string]any{"parts_per_day": -1}, http.StatusUnprocessableEntity, "parts_per_day: -1"},
		{"unknown field", f.rootKey, "PUT", map[string]any{"per_hour": 1}, http.StatusBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := f.problem(tc.key, tc.method, pathA, tc.body, tc.status)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("detail %q, want %q", p.Detail, tc.detail)
			}
		})
	}
	f.expect(f.subAKey, "GET", pathA, nil, http.StatusOK, &l)
	if l.SpendPerDay != 500 {
		t.Fatalf("limits changed by a refused request: %+v", l)
	}
}

// TestLimitsSend429: a send over the per-minute limit answers 429 with the
// limit in the problem body and Retry-After, and is not charged.
func TestLimitsSend429(t *testing.T) {
	base := newFixture(t)
	f := base.withSender(router.NewPipeline(router.PipelineOptions{Store: base.store}))
	var shop accounts.Account
	f.expect(f.rootKey, "POST", "/v1/accounts", map[string]any{"name": "Shop", "price_per_part": 8}, http.StatusCreated, &shop)
	var k newKey
	f.expect(f.rootKey, "POST", "/v1/accounts/"+shop.ID+"/keys", map[string]any{"role": "sub_admin"}, http.StatusCreated, &k)
	f.logTestGrant(&shop)
	f.expect(f.rootKey, "POST", "/v1/accounts/"+shop.ID+"/credit", map[string]any{"amount": 400}, http.StatusOK, nil)
	f.expect(f.rootKey, "PUT", "/v1/accounts/"+shop.ID+"/limits", map[string]any{"per_minute": 2}, http.StatusOK, nil)
	body := map[string]any{"to": []string{"0412345678"}, "text": "hello"}
	// The window is the UTC clock minute of the real clock: start the three
	// sends well inside one (a wait of at most 5 s).
	if left := time.Minute - time.Duration(time.Now().UnixMilli()%60000)*time.Millisecond; left < 5*time.Second {
		time.Sleep(left)
	}
	f.expect(k.Secret, "POST", "/v1/messages", body, http.StatusCreated, nil)
	f.expect(k.Secret, "POST", "/v1/messages", body, http.StatusCreated, nil)
	code, raw, hdr := f.do(k.Secret, "POST", "/v1/messages", body)
	if code != http.StatusTooManyRequests {
		t.Fatalf("third send: %d %s", code, raw)
	}
	p := f.problem(k.Secret, "POST", "/v1/messages", body, http.StatusTooManyRequests)
	if p.Type != problemBase+"limit-exceeded" || p.Limit != accounts.LimitPerMinute || p.Max == nil || *p.Max != 2 ||
		p.RetryAfter < 1 || p.RetryAfter > 60 || !strings.Contains(p.Detail, "2 messages per minute") {
		t.Fatalf("problem %+v", p)
	}
	if ra := hdr.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After %q", ra)
	}
	// More numbers than the limit: no retry would pass, 422 without Retry-After.
	code, raw, hdr = f.do(k.Secret, "POST", "/v1/messages", map[string]any{"to": []string{"0412345671", "0412345672", "0412345673"}, "text": "hello"})
	if code != http.StatusUnprocessableEntity || hdr.Get("Retry-After") != "" || !strings.Contains(string(raw), "split it into smaller mails") {
		t.Fatalf("three numbers: %d %s %v", code, raw, hdr)
	}
	if got := f.account(shop.ID).Balance; got != 400-2*8 {
		t.Fatalf("balance %d: a refused send was charged", got)
	}
}

// matrixLimitsRows are the authorisation matrix rows of the limits routes:
// any member reads them; only the parent's administrators (or a root's own
// parent_admin) set them, as prices.
func matrixLimitsRows() []mRow {
	return []mRow{
		{pattern: "GET /v1/accounts/{id}/limits", root: true, child: true, sub: mBasic, ok: http.StatusOK, req: mAt("/v1/accounts/%s/limits"), money: true},
		{pattern: "PUT /v1/accounts/{id}/limits", root: true, child: true, ok: http.StatusOK,
			req: mWith("/v1/accounts/%s/limits", map[string]any{"per_minute": 10})},
	}
}
