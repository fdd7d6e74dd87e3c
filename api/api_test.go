package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/internal/dnstest"
	"github.com/smsgate/smsgate/internal/redistest"
	"github.com/smsgate/smsgate/smpp"
)

// fixture is a running API over a real store on a real redis-server: a
// Root account (balance 10000) with a parent_admin key, and two
// sub-accounts A and B created through the API, each with a sub_admin key.
type fixture struct {
	t                         *testing.T
	rdb                       *redis.Client
	store                     *redisstore.Store
	srv                       *httptest.Server
	root, subA, subB          *accounts.Account
	rootKey, subAKey, subBKey string
	dns                       *dnstest.Server // the API's resolver for domain verification
	sent                      *mailLog        // what the API mailed (address confirmations)
}

// mailLog records the mails of Options.Mailer.
type mailLog struct {
	mu    sync.Mutex
	mails []sentMail
}

// sentMail is one mail the API sent through Options.Mailer.
type sentMail struct{ to, subject, body string }

// mailsTo returns the mails sent to addr.
func (f *fixture) mailsTo(addr string) []sentMail {
	f.sent.mu.Lock()
	defer f.sent.mu.Unlock()
	var out []sentMail
	for _, m := range f.sent.mails {
		if m.to == addr {
			out = append(out, m)
		}
	}
	return out
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	rdb := redistest.Start(t)
	st := redisstore.New(rdb, redisstore.Options{})
	reg := prometheus.NewRegistry()
	f := &fixture{t: t, rdb: rdb, store: st, dns: dnstest.Start(t), sent: &mailLog{}}
	h := New(Options{
		Mailer: func(_ context.Context, to, subject, body string) error {
			f.sent.mu.Lock()
			defer f.sent.mu.Unlock()
			f.sent.mails = append(f.sent.mails, sentMail{to, subject, body})
			return nil
		},
		LookupTXT: f.dns.Resolver().LookupTXT,
		// Sender ids any parent may hand out (dispatch.allowed_sender_ids).
		AllowedSenderIDs: []string{"INFO"},
		Stores:           storesOf(st),
		Logger:           slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registry:         reg,
		Registerer:       reg,
		Ready:            st.Ping,
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	f.srv = srv
	root, secret, err := st.Bootstrap(ctx, accounts.Account{Name: "Root Pty Ltd", DefaultCountry: "AU"})
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	if _, err := st.Credit(ctx, root.ID, 10000, "seed", "test"); err != nil {
		t.Fatalf("credit root: %v", err)
	}
	f.root, f.rootKey = root, secret
	f.subA, f.subAKey = f.newSub("Sales")
	f.subB, f.subBKey = f.newSub("Support")
	return f
}

// newSub creates a sub-account through the API and a sub_admin key for it.
func (f *fixture) newSub(name string) (*accounts.Account, string) {
	f.t.Helper()
	var a struct {
		accounts.Account
		Key newKey `json:"key"`
	}
	f.expect(f.rootKey, "POST", "/v1/accounts", map[string]any{"name": name}, http.StatusCreated, &a)
	// Every sub-account comes with its own sub_admin key.
	if a.Key.Secret == "" || a.Key.Key == nil || a.Key.Key.AccountID != a.ID || a.Key.Key.Role != accounts.RoleSubAdmin {
		f.t.Fatalf("the new sub-account's key %+v", a.Key)
	}
	return &a.Account, a.Key.Secret
}

// do sends a request and returns the status and body.
func (f *fixture) do(key, method, path string, body any) (int, []byte, http.Header) {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(f.t.Context(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, f.srv.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.StatusCode, data, resp.Header
}

// expect sends a request, checks the status and decodes the body into out
// (if not nil).
func (f *fixture) expect(key, method, path string, body any, status int, out any) {
	f.t.Helper()
	got, data, _ := f.do(key, method, path, body)
	if got != status {
		f.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, got, status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			f.t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
}

// problem sends a request that must fail with status and returns the
// decoded problem.
func (f *fixture) problem(key, method, path string, body any, status int) Problem {
	f.t.Helper()
	got, data, hdr := f.do(key, method, path, body)
	if got != status {
		f.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, got, status, data)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/problem+json" {
		f.t.Fatalf("%s %s: content type %q, want application/problem+json", method, path, ct)
	}
	var p Problem
	if err := json.Unmarshal(data, &p); err != nil {
		f.t.Fatalf("decode problem %s: %v", data, err)
	}
	if p.Status != status || p.Type == "" || p.Title == "" || p.Detail == "" {
		f.t.Fatalf("incomplete problem %+v", p)
	}
	return p
}

func (f *fixture) account(id string) *accounts.Account {
	f.t.Helper()
	a, err := f.store.GetAccount(f.t.Context(), id)
	if err != nil {
		f.t.Fatalf("get account %s: %v", id, err)
	}
	return a
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name   string
		header string
		status int
	}{
		{"no header", "", http.StatusUnauthorized},
		{"wrong scheme", "Basic dXNlcjpwYXNz", http.StatusUnauthorized},
		{"empty token", "Bearer ", http.StatusUnauthorized},
		{"unknown key", "Bearer sgk_kaaaaaaaaaa_" + strings.Repeat("a", 32), http.StatusUnauthorized},
		{"garbage", "Bearer hello", http.StatusUnauthorized},
		{"valid", "Bearer " + f.rootKey, http.StatusOK},
		{"lower-case scheme", "bearer " + f.rootKey, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", f.srv.URL+"/v1/me", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := f.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	var me Me
	f.expect(f.subAKey, "GET", "/v1/me", nil, http.StatusOK, &me)
	if me.Account.ID != f.subA.ID || me.Role != accounts.RoleSubAdmin {
		t.Fatalf("me = %+v, want account %s role sub_admin", me, f.subA.ID)
	}
}

func TestCreateSubAccount(t *testing.T) {
	f := newFixture(t)
	var a accounts.Account
	f.expect(f.rootKey, "POST", "/v1/accounts", map[string]any{
		"name": "Marketing", "price_per_part": 7, "max_parts": 3, "subject_mode": "prepend",
	}, http.StatusCreated, &a)
	if a.ParentID != f.root.ID || a.DefaultCountry != "AU" || a.PricePerPart != 7 || a.MaxParts != 3 ||
		a.SubjectMode != accounts.SubjectPrepend || a.Status != accounts.StatusActive || a.Balance != 0 {
		t.Fatalf("created %+v", a)
	}
	var list accountList
	f.expect(f.rootKey, "GET", "/v1/accounts", nil, http.StatusOK, &list)
	if len(list.Accounts) != 4 || list.Accounts[0].ID != f.root.ID {
		t.Fatalf("list has %d accounts, want root + 3 subs", len(list.Accounts))
	}
	f.expect(f.subAKey, "GET", "/v1/accounts", nil, http.StatusOK, &list)
	if len(list.Accounts) != 1 || list.Accounts[0].ID != f.subA.ID {
		t.Fatalf("a sub-account key lists %d accounts", len(list.Accounts))
	}

	for _, tc := range []struct {
		name   string
		key    string
		body   any
		status int
		detail string
	}{
		{"sub-account key", f.subAKey, map[string]any{"name": "X"}, http.StatusForbidden, "parent"},
		{"no name", f.rootKey, map[string]any{"price_per_part": 1}, http.StatusUnprocessableEntity, "name"},
		{"bad subject", f.rootKey, map[string]any{"name": "X", "subject_mode": "shout"}, http.StatusUnprocessableEntity, "subject_mode"},
		{"negative price", f.rootKey, map[string]any{"name": "X", "price_per_part": -1}, http.StatusUnprocessableEntity, "price_per_part"},
		{"unknown field", f.rootKey, map[string]any{"name": "X", "colour": "red"}, http.StatusBadRequest, "colour"},
		{"wrong type", f.rootKey, map[string]any{"name": "X", "max_parts": "ten"}, http.StatusBadRequest, "max_parts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := f.problem(tc.key, "POST", "/v1/accounts", tc.body, tc.status)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("detail %q does not mention %q", p.Detail, tc.detail)
			}
		})
	}

	// Settings: a sub_admin may rename its account but not set its price.
	f.expect(f.subAKey, "PATCH", "/v1/accounts/"+f.subA.ID, map[string]any{"name": "Sales AU"}, http.StatusOK, &a)
	if a.Name != "Sales AU" {
		t.Fatalf("name after patch %q", a.Name)
	}
	f.problem(f.subAKey, "PATCH", "/v1/accounts/"+f.subA.ID, map[string]any{"price_per_part": 0}, http.StatusForbidden)
	f.expect(f.rootKey, "PATCH", "/v1/accounts/"+f.subA.ID, map[string]any{"price_per_part": 9}, http.StatusOK, &a)
	if a.PricePerPart != 9 {
		t.Fatalf("price after patch %d", a.PricePerPart)
	}

	// Deactivation: only the parent; the sub's key stops working.
	f.problem(f.subAKey, "POST", "/v1/accounts/"+f.subA.ID+"/deactivate", nil, http.StatusForbidden)
	f.expect(f.rootKey, "POST", "/v1/accounts/"+f.subA.ID+"/deactivate", nil, http.StatusOK, &a)
	if a.Status != accounts.StatusDeactivated {
		t.Fatalf("status %s", a.Status)
	}
	f.problem(f.subAKey, "GET", "/v1/me", nil, http.StatusForbidden)
	f.expect(f.rootKey, "POST", "/v1/accounts/"+f.subA.ID+"/activate", nil, http.StatusOK, &a)
	f.expect(f.subAKey, "GET", "/v1/me", nil, http.StatusOK, nil)
	f.problem(f.rootKey, "POST", "/v1/accounts/"+f.root.ID+"/deactivate", nil, http.StatusForbidden)
}

func TestRegistrations(t *testing.T) {
	f := newFixture(t)
	pathA := "/v1/accounts/" + f.subA.ID
	var d domainState
	f.expect(f.subAKey, "POST", pathA+"/domains", map[string]any{"domain": "Sales.Example.COM"}, http.StatusCreated, &d)
	if d.Domain != "sales.example.com" || d.Status != regPending || d.DomainChallenge == nil || d.TXTName != "_smsgate-challenge.sales.example.com" {
		t.Fatalf("domain %+v, want lower-cased and pending", d)
	}
	f.verifyDomain(f.subAKey, f.subA.ID, d)
	for _, tc := range []struct {
		name   string
		key    string
		path   string
		body   any
		status int
		detail string
	}{
		{"taken by another account", f.subBKey, "/v1/accounts/" + f.subB.ID + "/domains", map[string]any{"domain": "sales.example.com"}, http.StatusConflict, "domain: sales.example.com is already registered"},
		{"public", f.subAKey, pathA + "/domains", map[string]any{"domain": "gmail.com"}, http.StatusUnprocessableEntity, "domain: gmail.com is a public suffix or a free mail domain"},
		{"not a domain", f.subAKey, pathA + "/domains", map[string]any{"domain": "localhost"}, http.StatusUnprocessableEntity, "domain:"},
		{"another tenant", f.subAKey, "/v1/accounts/" + f.subB.ID + "/domains", map[string]any{"domain": "b.example.com"}, http.StatusNotFound, f.subB.ID},
		{"address taken", f.subBKey, "/v1/accounts/" + f.subB.ID + "/addresses", map[string]any{"address": "jo@sales.example.com"}, http.StatusConflict, "address: jo@sales.example.com"},
		{"bad address", f.subAKey, pathA + "/addresses", map[string]any{"address": "jo"}, http.StatusUnprocessableEntity, "address:"},
		// An exact address wins over its domain at MAIL FROM: one inside
		// another account's domain would take that account's mail.
		{"inside another account's domain", f.subBKey, "/v1/accounts/" + f.subB.ID + "/addresses", map[string]any{"address": "carol@sales.example.com"},
			http.StatusConflict, "address: carol@sales.example.com is inside a domain that another account has registered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "address taken" {
				f.expect(f.subAKey, "POST", pathA+"/addresses", map[string]any{"address": "jo@sales.example.com"}, http.StatusCreated, nil)
			}
			p := f.problem(tc.key, "POST", tc.path, tc.body, tc.status)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("detail %q does not contain %q", p.Detail, tc.detail)
			}
		})
	}
	// An address at a public domain is fine (seed: exact addresses), once
	// its owner confirms with the token mailed to it.
	var as addressState
	f.expect(f.subBKey, "POST", "/v1/accounts/"+f.subB.ID+"/addresses", map[string]any{"address": "boss@gmail.com"}, http.StatusAccepted, &as)
	if as.Status != regPending || strings.Contains(as.Detail, "sgk") {
		t.Fatalf("gmail address: %+v", as)
	}
	f.confirmMailed("boss@gmail.com")

	var dl domainList
	f.expect(f.subAKey, "GET", pathA+"/domains", nil, http.StatusOK, &dl)
	if len(dl.Domains) != 1 || dl.Domains[0] != "sales.example.com" {
		t.Fatalf("domains %v", dl.Domains)
	}
	f.expect(f.subAKey, "DELETE", pathA+"/domains/sales.example.com", nil, http.StatusNoContent, nil)
	f.problem(f.subAKey, "DELETE", pathA+"/domains/sales.example.com", nil, http.StatusNotFound)
	f.expect(f.subAKey, "DELETE", pathA+"/addresses/jo@sales.example.com", nil, http.StatusNoContent, nil)
	// Released: B can take it now.
	f.expect(f.subBKey, "POST", "/v1/accounts/"+f.subB.ID+"/domains", map[string]any{"domain": "sales.example.com"}, http.StatusCreated, nil)
}

func TestCreditDebit(t *testing.T) {
	f := newFixture(t)
	pathA := "/v1/accounts/" + f.subA.ID
	var tr transferResult
	f.expect(f.rootKey, "POST", pathA+"/credit", map[string]any{"amount": 3000, "ref": "invoice 7"}, http.StatusOK, &tr)
	if tr.From.AccountID != f.root.ID || tr.From.Amount != -3000 || tr.From.Balance != 7000 ||
		tr.To.AccountID != f.subA.ID || tr.To.Amount != 3000 || tr.To.Balance != 3000 {
		t.Fatalf("transfer %+v %+v", tr.From, tr.To)
	}
	if got := f.account(f.root.ID).Balance; got != 7000 {
		t.Fatalf("root balance %d, want 7000", got)
	}
	if got := f.account(f.subA.ID).Balance; got != 3000 {
		t.Fatalf("sub balance %d, want 3000", got)
	}
	var led ledgerList
	f.billingFlags(f.subA.ID, accounts.FlagFinance) // a sub-account's own ledger needs flag finance
	f.expect(f.subAKey, "GET", pathA+"/ledger", nil, http.StatusOK, &led)
	if len(led.Entries) != 1 || led.Entries[0].Amount != 3000 || led.Entries[0].Ref != "invoice 7" {
		t.Fatalf("sub ledger %+v", led.Entries)
	}
	f.expect(f.rootKey, "GET", "/v1/accounts/"+f.root.ID+"/ledger?limit=10", nil, http.StatusOK, &led)
	if len(led.Entries) != 2 || led.Entries[0].Amount != -3000 {
		t.Fatalf("root ledger %+v", led.Entries)
	}

	// More than the parent has: nothing moves, the problem gives the amounts.
	p := f.problem(f.rootKey, "POST", pathA+"/credit", map[string]any{"amount": 7001}, http.StatusUnprocessableEntity)
	if p.Need == nil || *p.Need != 7001 || p.Have == nil || *p.Have != 7000 || !strings.Contains(p.Detail, "70.01") {
		t.Fatalf("problem %+v", p)
	}
	f.expect(f.rootKey, "POST", pathA+"/debit", map[string]any{"amount": 1000}, http.StatusOK, &tr)
	if tr.From.Balance != 2000 || tr.To.Balance != 8000 {
		t.Fatalf("debit %+v %+v", tr.From, tr.To)
	}

	for _, tc := range []struct {
		name   string
		key    string
		path   string
		body   any
		status int
	}{
		{"sub credits itself", f.subAKey, pathA + "/credit", map[string]any{"amount": 100}, http.StatusForbidden},
		{"sub debits itself", f.subAKey, pathA + "/debit", map[string]any{"amount": 100}, http.StatusForbidden},
		{"sub credits a sibling", f.subAKey, "/v1/accounts/" + f.subB.ID + "/credit", map[string]any{"amount": 100}, http.StatusNotFound},
		{"sub credits the root", f.subAKey, "/v1/accounts/" + f.root.ID + "/credit", map[string]any{"amount": 100}, http.StatusNotFound},
		{"root credits itself", f.rootKey, "/v1/accounts/" + f.root.ID + "/credit", map[string]any{"amount": 100}, http.StatusForbidden},
		{"zero amount", f.rootKey, pathA + "/credit", map[string]any{"amount": 0}, http.StatusUnprocessableEntity},
		{"fractional amount", f.rootKey, pathA + "/credit", map[string]any{"amount": 1.5}, http.StatusBadRequest},
		{"unknown account", f.rootKey, "/v1/accounts/a0-nope/credit", map[string]any{"amount": 1}, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.problem(tc.key, "POST", tc.path, tc.body, tc.status)
		})
	}
	if got := f.account(f.subA.ID).Balance; got != 2000 {
		t.Fatalf("sub balance %d after refused requests, want 2000", got)
	}
}

func TestKeys(t *testing.T) {
	f := newFixture(t)
	pathA := "/v1/accounts/" + f.subA.ID
	// basic is a user's role: an account key has no user to limit it to.
	if p := f.problem(f.subAKey, "POST", pathA+"/keys", map[string]any{"role": "basic", "name": "reports"}, http.StatusUnprocessableEntity); !strings.Contains(p.Detail, "role: basic is a user's role") {
		t.Fatalf("basic account key: %q", p.Detail)
	}
	var basic newKey
	f.expect(f.subAKey, "POST", pathA+"/keys", map[string]any{"role": "advanced", "name": "reports"}, http.StatusCreated, &basic)
	if basic.Secret == "" || basic.Key.Role != accounts.RoleAdvanced || basic.Key.AccountID != f.subA.ID {
		t.Fatalf("new key %+v", basic)
	}
	var kl keyList
	f.expect(f.subAKey, "GET", pathA+"/keys", nil, http.StatusOK, &kl)
	if len(kl.Keys) != 2 {
		t.Fatalf("%d keys, want 2", len(kl.Keys))
	}
	if bytes.Contains(mustJSON(t, kl), []byte(basic.Secret)) {
		t.Fatal("key list shows a secret")
	}

	for _, tc := range []struct {
		name   string
		key    string
		method string
		path   string
		body   any
		status int
	}{
		{"sub_admin creates parent_admin", f.subAKey, "POST", pathA + "/keys", map[string]any{"role": "parent_admin"}, http.StatusForbidden},
		{"root creates parent_admin for a sub", f.rootKey, "POST", pathA + "/keys", map[string]any{"role": "parent_admin"}, http.StatusUnprocessableEntity},
		{"unknown role", f.subAKey, "POST", pathA + "/keys", map[string]any{"role": "god"}, http.StatusUnprocessableEntity},
		{"basic lists keys", basic.Secret, "GET", pathA + "/keys", nil, http.StatusForbidden},
		{"basic adds a domain", basic.Secret, "POST", pathA + "/domains", map[string]any{"domain": "x.example.com"}, http.StatusForbidden},
		{"revoke another tenant's key", f.subBKey, "DELETE", "/v1/accounts/" + f.subB.ID + "/keys/" + basic.Key.ID, nil, http.StatusNotFound},
		{"another tenant's keys", f.subBKey, "GET", pathA + "/keys", nil, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.problem(tc.key, tc.method, tc.path, tc.body, tc.status)
		})
	}
	// A basic key may read the account, not its ledger (sub_admin with flag finance).
	f.expect(basic.Secret, "GET", pathA, nil, http.StatusOK, nil)
	f.problem(basic.Secret, "GET", pathA+"/ledger", nil, http.StatusForbidden)
	f.expect(f.subAKey, "DELETE", pathA+"/keys/"+basic.Key.ID, nil, http.StatusNoContent, nil)
	f.problem(basic.Secret, "GET", "/v1/me", nil, http.StatusUnauthorized)
	f.problem(f.subAKey, "DELETE", pathA+"/keys/"+basic.Key.ID, nil, http.StatusNotFound)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestInternalErrorHidesDetails(t *testing.T) {
	f := newFixture(t)
	if err := f.rdb.Close(); err != nil {
		t.Fatal(err)
	}
	p := f.problem(f.rootKey, "GET", "/v1/me", nil, http.StatusInternalServerError)
	if !strings.HasPrefix(p.Detail, "internal error (ref ") || strings.Contains(strings.ToLower(p.Detail), "redis") {
		t.Fatalf("500 detail %q", p.Detail)
	}
	f.problem("", "GET", "/readyz", nil, http.StatusServiceUnavailable)
}

func TestOps(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/v1/openapi.json"} {
		t.Run(path, func(t *testing.T) {
			f.expect("", "GET", path, nil, http.StatusOK, nil)
		})
	}
	_, body, _ := f.do("", "GET", "/metrics", nil)
	if !bytes.Contains(body, []byte(`smsgate_api_requests_total{code="201",route="POST /v1/accounts"}`)) {
		t.Fatalf("metrics lack the request counter:\n%s", body)
	}
	f.problem(f.rootKey, "GET", "/v1/nothing", nil, http.StatusNotFound)
}

func TestReadyzFailure(t *testing.T) {
	srv := httptest.NewServer(New(Options{Ready: func(context.Context) error { return errors.New("redis down at 10.0.0.1") }}))
	t.Cleanup(srv.Close)
	resp, err := srv.Client().Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || bytes.Contains(body, []byte("10.0.0.1")) {
		t.Fatalf("readyz: %d %s", resp.StatusCode, body)
	}
}

// TestOpenAPICoversRoutes walks the route table: every pattern must be a
// path and method of the OpenAPI document, and the document must list no
// path the server lacks.
func TestOpenAPICoversRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	merged, err := buildOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(merged, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	s := &server{}
	seen := map[string]bool{}
	for _, rt := range s.routes(prometheus.NewRegistry()) {
		method, path, ok := strings.Cut(rt.pattern, " ")
		if !ok {
			t.Fatalf("pattern %q has no method", rt.pattern)
		}
		seen[path] = true
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("openapi.json lacks %s %s", method, path)
		}
	}
	for path := range doc.Paths {
		if !seen[path] {
			t.Errorf("openapi.json documents %s, which the server does not serve", path)
		}
	}
}

// verifyDomain publishes the TXT record of a pending domain on the
// fixture's DNS and verifies it through the API.
func (f *fixture) verifyDomain(key, acct string, d domainState) {
	f.t.Helper()
	f.dns.TXT(d.TXTName, d.TXTValue)
	var v domainState
	f.expect(key, "POST", "/v1/accounts/"+acct+"/domains/"+d.Domain+"/verify", nil, http.StatusOK, &v)
	if v.Status != regVerified {
		f.t.Fatalf("verify %s: %+v", d.Domain, v)
	}
}

// confirmMailed confirms the address with the token mailed to it, through
// the public route (no key).
func (f *fixture) confirmMailed(addr string) {
	f.t.Helper()
	ms := f.mailsTo(addr)
	if len(ms) == 0 {
		f.t.Fatalf("no confirmation mailed to %s", addr)
	}
	body := ms[len(ms)-1].body
	i := strings.Index(body, "smsgate address confirm ")
	if i < 0 {
		f.t.Fatalf("confirmation mail without a token:\n%s", body)
	}
	token := strings.Fields(body[i+len("smsgate address confirm "):])[0]
	var as addressState
	f.expect("", "POST", "/v1/address-confirmations", map[string]any{"token": token}, http.StatusOK, &as)
	if as.Address != addr || as.Status != regVerified {
		f.t.Fatalf("confirm %s: %+v", addr, as)
	}
}

// TestReadyzLinks: /readyz lists each carrier link's state whether or not
// the instance is ready; a link down does not make it unready.
func TestReadyzLinks(t *testing.T) {
	links := func() []smpp.LinkStatus {
		return []smpp.LinkStatus{{Name: "carrier1", Up: true}, {Name: "carrier2"}}
	}
	var notReady error
	srv := httptest.NewServer(New(Options{Links: links, Ready: func(context.Context) error { return notReady }}))
	t.Cleanup(srv.Close)
	get := func() (int, string) {
		resp, err := srv.Client().Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != http.StatusOK || body != "ready\nlink carrier1: up\nlink carrier2: down\n" {
		t.Errorf("ready: %d %q", code, body)
	}
	notReady = errors.New("stopped: dispatcher (redis: OOM)")
	if code, body := get(); code != http.StatusServiceUnavailable ||
		!strings.Contains(body, "; link carrier1: up, link carrier2: down") || strings.Contains(body, "OOM") {
		t.Errorf("not ready: %d %s", code, body)
	}
}
