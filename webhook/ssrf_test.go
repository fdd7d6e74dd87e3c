package webhook

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/smsgate/smsgate/internal/redistest"
)

// TestSSRF: as a tenant attacking the operator's network. Webhooks to
// loopback, private, link-local and unspecified literals and localhost
// names are refused at creation; a webhook whose name resolves to loopback
// (created while the name was harmless: DNS rebinding) is refused at dial
// time and never reaches the listener; the tenant's delivery log says the
// same thing whatever the failure.
func TestSSRF(t *testing.T) {
	rdb := redistest.Start(t)
	o := testOptions(t, rdb)
	o.Guard = nil // the default: every internal address refused
	s := newService(o)
	ctx := t.Context()
	for _, u := range []string{
		"http://127.0.0.1:6379/", "http://localhost:6379/", "http://169.254.169.254/latest/meta-data",
		"http://10.0.0.5/", "http://192.168.1.1/", "http://[::1]:8080/", "http://0.0.0.0/", "http://[fd00::1]/",
		"http://api.localhost/", "http://[::ffff:127.0.0.1]/",
	} {
		if _, _, err := s.Create(ctx, "a0-tenant", u, nil); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "internal address") {
			t.Errorf("create %s: %v, want refused as internal", u, err)
		}
	}
	var hits atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer recv.Close()
	// A name the guard only sees resolved: "localhost." is caught by name,
	// so go through the dialer directly with the client the service built.
	port := recv.URL[strings.LastIndexByte(recv.URL, ':')+1:]
	for _, target := range []string{recv.URL, "http://localhost.:" + port + "/", "http://127.1:" + port + "/"} {
		resp, err := s.o.HTTPClient.Get(target)
		if resp != nil {
			resp.Body.Close()
		}
		if err == nil {
			t.Errorf("GET %s reached the listener", target)
		}
		if got := classify(err); got != errTransport {
			t.Errorf("tenant sees %v for %s, want the one transport error", got, target)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback listener was reached %d times", n)
	}
}
