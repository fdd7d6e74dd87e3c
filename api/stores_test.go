package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
)

// The account store (*redisstore.Store) serves every area: this fails to
// build when an area's interface and the store drift apart. It lives in a
// test so that the API's own code never names the concrete store.
var (
	_ AuthStore         = (*redisstore.Store)(nil)
	_ AccountStore      = (*redisstore.Store)(nil)
	_ RegistrationStore = (*redisstore.Store)(nil)
	_ KeyStore          = (*redisstore.Store)(nil)
	_ MoneyStore        = (*redisstore.Store)(nil)
	_ MessageStore      = (*redisstore.Store)(nil)
	_ InboxStore        = (*redisstore.Store)(nil)
	_ UserStore         = (*redisstore.Store)(nil)
	_ PermissionStore   = (*redisstore.Store)(nil)
	_ BillingStore      = (*redisstore.Store)(nil)
	_ StatsStore        = (*redisstore.Store)(nil)
	_ ContactStore      = (*redisstore.Store)(nil)
	_ OptOutStore       = (*redisstore.Store)(nil)
	_ AutomationStore   = (*redisstore.Store)(nil)
	_ SenderStore       = (*redisstore.Store)(nil)
	_ TemplateStore     = (*redisstore.Store)(nil)
)

// storesOf wires st into every area, as cmd/smsgate does.
func storesOf(st *redisstore.Store) Stores {
	return Stores{
		Auth:          st,
		Accounts:      st,
		Registrations: st,
		Policies:      st,
		Operator:      st,
		Keys:          st,
		Money:         st,
		Messages:      st,
		Inbox:         st,
		Users:         st,
		Permissions:   st,
		Billing:       st,
		Stats:         st,
		Contacts:      st,
		OptOuts:       st,
		Automations:   st,
		Senders:       st,
		Templates:     st,
	}
}

// fakeAuth knows one key, "sgk_k1_secret", a parent_admin key of root
// account a1.
type fakeAuth struct{}

func (fakeAuth) Authenticate(_ context.Context, secret string) (*accounts.APIKey, error) {
	if secret != "sgk_k1_secret" {
		return nil, accounts.ErrBadKey
	}
	return &accounts.APIKey{ID: "k1", AccountID: "a1", Role: accounts.RoleParentAdmin}, nil
}

func (fakeAuth) GetAccount(_ context.Context, id string) (*accounts.Account, error) {
	if id != "a1" {
		return nil, accounts.ErrNotFound
	}
	return &accounts.Account{ID: "a1", Name: "Root", Status: accounts.StatusActive}, nil
}

// fakeKeys lists key k1 of a1 and refuses every change.
type fakeKeys struct{}

func (fakeKeys) ListKeys(_ context.Context, accountID string) ([]accounts.APIKey, error) {
	return []accounts.APIKey{{ID: "k1", AccountID: accountID, Role: accounts.RoleParentAdmin}}, nil
}

func (fakeKeys) CreateKeyBy(context.Context, string, accounts.Role, string, *accounts.KeyCreator) (string, *accounts.APIKey, error) {
	return "", nil, errors.New("fake: no changes")
}

func (fakeKeys) CreateRelayKeyBy(context.Context, string, string, *accounts.KeyCreator) (string, *accounts.APIKey, error) {
	return "", nil, errors.New("fake: no changes")
}

func (fakeKeys) RevokeKey(context.Context, string, string) error {
	return errors.New("fake: no changes")
}

func (fakeKeys) RotateKey(context.Context, string, string) (string, *accounts.APIKey, error) {
	return "", nil, errors.New("fake: no changes")
}

// TestUnservedAreas builds the API from small fakes of some areas only:
// the areas given work, the others answer 503, and without Auth every
// route that needs a key does.
func TestUnservedAreas(t *testing.T) {
	const key = "sgk_k1_secret"
	tests := []struct {
		name   string
		stores Stores
		method string
		path   string
		key    string
		status int
		kind   string // problem type suffix, if a problem
	}{
		{"no stores: health", Stores{}, "GET", "/healthz", "", http.StatusOK, ""},
		{"no stores: openapi", Stores{}, "GET", "/v1/openapi.json", "", http.StatusOK, ""},
		{"no stores: me", Stores{}, "GET", "/v1/me", key, http.StatusServiceUnavailable, "unavailable"},
		{"no stores: login", Stores{}, "POST", "/v1/auth/login", "", http.StatusServiceUnavailable, "unavailable"},
		{"keys only: list", Stores{Auth: fakeAuth{}, Keys: fakeKeys{}}, "GET", "/v1/accounts/a1/keys", key, http.StatusOK, ""},
		{"keys only: no key", Stores{Auth: fakeAuth{}, Keys: fakeKeys{}}, "GET", "/v1/accounts/a1/keys", "", http.StatusUnauthorized, "unauthorized"},
		{"keys only: bad key", Stores{Auth: fakeAuth{}, Keys: fakeKeys{}}, "GET", "/v1/accounts/a1/keys", "sgk_k2_x", http.StatusUnauthorized, "unauthorized"},
		{"keys only: other account", Stores{Auth: fakeAuth{}, Keys: fakeKeys{}}, "GET", "/v1/accounts/a2/keys", key, http.StatusNotFound, "not-found"},
		{"keys only: me", Stores{Auth: fakeAuth{}, Keys: fakeKeys{}}, "GET", "/v1/me", key, http.StatusServiceUnavailable, "unavailable"},
		{"keys only: domains", Stores{Auth: fakeAuth{}, Keys: fakeKeys{}}, "GET", "/v1/accounts/a1/domains", key, http.StatusServiceUnavailable, "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(New(Options{Stores: tt.stores}))
			t.Cleanup(srv.Close)
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s: status %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
			}
			if tt.kind == "" {
				return
			}
			var p Problem
			if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
				t.Fatalf("problem: %v", err)
			}
			if p.Type != problemBase+tt.kind || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("problem: %s %+v", resp.Header.Get("Content-Type"), p)
			}
		})
	}
}

// panickyKeys is a KeyStore whose listing panics, as a store bug on some
// input would.
type panickyKeys struct{ fakeKeys }

func (panickyKeys) ListKeys(context.Context, string) ([]accounts.APIKey, error) {
	panic("store bug")
}

// TestHandlerPanicReported: a handler that panics answers a 500 problem
// with a reference, and the panic reaches Options.OnPanic once (serve
// counts it in smsgate_panics_total{component="http"}).
func TestHandlerPanicReported(t *testing.T) {
	var got []any
	srv := httptest.NewServer(New(Options{Stores: Stores{Auth: fakeAuth{}, Keys: panickyKeys{}},
		OnPanic: func(v any) { got = append(got, v) }}))
	t.Cleanup(srv.Close)
	req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/v1/accounts/a1/keys", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer sgk_k1_secret")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), "internal error (ref ") ||
		strings.Contains(string(body), "store bug") {
		t.Errorf("status %d body %s", resp.StatusCode, body)
	}
	if len(got) != 1 || got[0] != "store bug" {
		t.Errorf("OnPanic got %v, want one \"store bug\"", got)
	}
}
