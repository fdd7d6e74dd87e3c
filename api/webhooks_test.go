package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"

	"github.com/smsgate/smsgate/netguard"
	"github.com/smsgate/smsgate/webhook"
)

// webhookFixture is the API fixture with a webhook service on the same
// redis, delivering to a real HTTP receiver that records what it gets.
type webhookFixture struct {
	*fixture
	svc      *webhook.Service
	receiver *httptest.Server
	mu       sync.Mutex
	got      []*http.Request
	bodies   [][]byte
}

func newWebhookFixture(t *testing.T) *webhookFixture {
	t.Helper()
	f := &webhookFixture{fixture: newFixture(t)}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	loopback, _ := netguard.New([]string{"127.0.0.1"}) // the test's receiver
	f.svc = webhook.New(webhook.Options{Redis: f.rdb, Backoff: []time.Duration{time.Millisecond}, Guard: loopback,
		Poll: 10 * time.Millisecond, Timeout: 2 * time.Second, Logger: logger})
	srv := httptest.NewServer(New(Options{Stores: storesOf(f.store), Webhooks: f.svc, Logger: logger}))
	t.Cleanup(srv.Close)
	f.srv = srv
	f.receiver = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.got = append(f.got, r)
		f.bodies = append(f.bodies, body)
		f.mu.Unlock()
	}))
	t.Cleanup(f.receiver.Close)
	return f
}

// run starts the delivery workers until the test ends.
func (f *webhookFixture) run() {
	ctx, cancel := context.WithCancel(f.t.Context())
	done := make(chan struct{})
	go func() { _ = f.svc.Run(ctx); close(done) }()
	f.t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			f.t.Error("webhook Run did not stop within 10s")
		}
	})
}

func (f *webhookFixture) received() ([]*http.Request, [][]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.got...), append([][]byte(nil), f.bodies...)
}

func TestWebhookRoutes(t *testing.T) {
	f := newWebhookFixture(t)
	a := "/v1/accounts/" + f.subA.ID + "/webhooks"

	// Create: the secret is shown once.
	var created newWebhook
	f.expect(f.subAKey, "POST", a, map[string]any{"url": f.receiver.URL + "/sms", "events": []string{"message.status"}}, http.StatusCreated, &created)
	if !strings.HasPrefix(created.Secret, "whsec_") || created.Webhook.Status != webhook.StatusActive || created.Webhook.AccountID != f.subA.ID {
		t.Fatalf("created %+v", created)
	}
	wh := a + "/" + created.Webhook.ID
	for _, path := range []string{a, wh} {
		_, body, _ := f.do(f.subAKey, "GET", path, nil)
		if strings.Contains(string(body), created.Secret) || strings.Contains(string(body), "secret") {
			t.Fatalf("GET %s shows the secret: %s", path, body)
		}
	}
	var list webhookList
	f.expect(f.subAKey, "GET", a, nil, http.StatusOK, &list)
	if len(list.Webhooks) != 1 || list.Webhooks[0].ID != created.Webhook.ID {
		t.Fatalf("list %+v", list)
	}
	// The parent's parent_admin manages its sub-account's webhooks.
	var byRoot newWebhook
	f.expect(f.rootKey, "POST", a, map[string]any{"url": "https://hooks.example.com/x"}, http.StatusCreated, &byRoot)
	if len(byRoot.Webhook.Events) != 0 {
		t.Fatalf("no events should mean all: %+v", byRoot.Webhook)
	}

	var adv newKey
	f.expect(f.subAKey, "POST", "/v1/accounts/"+f.subA.ID+"/keys", map[string]any{"role": "advanced"}, http.StatusCreated, &adv)
	basic := newKey{Secret: f.logTestUserKey(f.subA, "jo@example.com", accounts.RoleBasic)}
	otherWh := "/v1/accounts/" + f.subB.ID + "/webhooks/" + created.Webhook.ID

	cases := []struct {
		name         string
		key          string
		method, path string
		body         any
		status       int
		detail       string
	}{
		{"bad url", f.subAKey, "POST", a, map[string]any{"url": "ftp://x"}, http.StatusUnprocessableEntity, "url: "},
		{"bad event", f.subAKey, "POST", a, map[string]any{"url": "https://x.example", "events": []string{"sms.sent"}}, http.StatusUnprocessableEntity, `events[0]: "sms.sent"`},
		{"unknown field", f.subAKey, "POST", a, map[string]any{"url": "https://x.example", "secret": "mine"}, http.StatusBadRequest, "secret"},
		{"another tenant's account", f.subBKey, "GET", wh, nil, http.StatusNotFound, "account " + f.subA.ID + " not found"},
		{"another tenant creates", f.subBKey, "POST", a, map[string]any{"url": "https://x.example"}, http.StatusNotFound, "not found"},
		{"another tenant deletes", f.subBKey, "DELETE", wh, nil, http.StatusNotFound, "not found"},
		{"another tenant's webhook under own account", f.subBKey, "GET", otherWh, nil, http.StatusNotFound, "webhook " + created.Webhook.ID + " not found"},
		{"another tenant's webhook test", f.subBKey, "POST", otherWh + "/test", nil, http.StatusNotFound, "webhook"},
		{"another tenant's webhook deliveries", f.subBKey, "GET", otherWh + "/deliveries", nil, http.StatusNotFound, "webhook"},
		{"advanced may not list", adv.Secret, "GET", a, nil, http.StatusForbidden, "may not"},
		{"basic may not create", basic.Secret, "POST", a, map[string]any{"url": "https://x.example"}, http.StatusForbidden, "may not"},
		{"unknown webhook", f.subAKey, "GET", a + "/wnothere", nil, http.StatusNotFound, "webhook wnothere not found"},
		{"junk webhook id", f.subAKey, "POST", a + "/..%2Fx/enable", nil, http.StatusNotFound, "not found"},
		{"bad limit", f.subAKey, "GET", wh + "/deliveries?limit=0", nil, http.StatusBadRequest, "limit: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := f.problem(c.key, c.method, c.path, c.body, c.status)
			if !strings.Contains(p.Detail, c.detail) {
				t.Fatalf("detail %q lacks %q", p.Detail, c.detail)
			}
		})
	}

	// Rotate, test, and the delivery arrives signed with the new secret.
	var rotated newWebhook
	f.expect(f.subAKey, "POST", wh+"/rotate-secret", nil, http.StatusOK, &rotated)
	if rotated.Secret == created.Secret || !strings.HasPrefix(rotated.Secret, "whsec_") {
		t.Fatalf("rotated secret %q", rotated.Secret)
	}
	var tr testResult
	f.expect(f.subAKey, "POST", wh+"/test", nil, http.StatusAccepted, &tr)
	f.run()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if reqs, _ := f.received(); len(reqs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the test event never arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	reqs, bodies := f.received()
	if err := webhook.Verify(rotated.Secret, reqs[0].Header.Get("Smsgate-Signature"), bodies[0], time.Minute, time.Now()); err != nil {
		t.Fatalf("test delivery signature: %v", err)
	}
	if !strings.Contains(string(bodies[0]), tr.EventID) || reqs[0].Header.Get("Smsgate-Event") != "ping" {
		t.Fatalf("test delivery %s %v", bodies[0], reqs[0].Header)
	}
	var log deliveryList
	for time.Now().Before(deadline) {
		f.expect(f.subAKey, "GET", wh+"/deliveries", nil, http.StatusOK, &log)
		if len(log.Deliveries) > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(log.Deliveries) != 1 || log.Deliveries[0].Result != "delivered" || log.Deliveries[0].EventID != tr.EventID {
		t.Fatalf("deliveries %+v", log)
	}

	var enabled webhook.Webhook
	f.expect(f.subAKey, "POST", wh+"/enable", nil, http.StatusOK, &enabled)
	if enabled.Status != webhook.StatusActive || enabled.ConsecutiveFailures != 0 {
		t.Fatalf("enabled %+v", enabled)
	}
	f.expect(f.subAKey, "DELETE", wh, nil, http.StatusNoContent, nil)
	f.problem(f.subAKey, "GET", wh, nil, http.StatusNotFound)
	f.problem(f.subAKey, "GET", wh+"/deliveries", nil, http.StatusNotFound)
}

func TestWebhookLimit(t *testing.T) {
	f := newWebhookFixture(t)
	a := "/v1/accounts/" + f.subA.ID + "/webhooks"
	for range 10 {
		f.expect(f.subAKey, "POST", a, map[string]any{"url": "https://hooks.example.com/"}, http.StatusCreated, nil)
	}
	p := f.problem(f.subAKey, "POST", a, map[string]any{"url": "https://hooks.example.com/"}, http.StatusConflict)
	if !strings.Contains(p.Detail, "has its quota of 10 webhooks") || p.Type != "urn:smsgate:problem:quota-exceeded" {
		t.Fatalf("detail %q", p.Detail)
	}
}

func TestWebhooksDisabledInstance(t *testing.T) {
	f := newFixture(t) // no webhook service
	p := f.problem(f.subAKey, "GET", "/v1/accounts/"+f.subA.ID+"/webhooks", nil, http.StatusServiceUnavailable)
	if !strings.Contains(p.Detail, "not enabled") {
		t.Fatalf("detail %q", p.Detail)
	}
	// Authorisation still comes first: another tenant learns nothing.
	f.problem(f.subBKey, "GET", "/v1/accounts/"+f.subA.ID+"/webhooks", nil, http.StatusNotFound)
}
