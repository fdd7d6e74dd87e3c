package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/smpp/smsctest"
	"github.com/smsgate/smsgate/webhook"
)

// TestWebhooksEndToEnd: a sub-account's webhook receives, signed, the
// delivery status of a mailed SMS, the reply to it, and the low-balance
// event its send triggered.
func TestWebhooksEndToEnd(t *testing.T) {
	// The receiver listens on loopback: an internal target the operator
	// allows (without it the webhook is refused, TestWebhookSSRFE2E).
	g := startGateway(t, func(c *config.Config, _ *smsctest.Options) { c.Webhooks.AllowInternal = []string{"127.0.0.1"} })
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()

	type got struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
		sig  error
	}
	events := make(chan got, 10)
	var secret string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var e got
		_ = json.Unmarshal(b, &e)
		e.sig = webhook.Verify(secret, r.Header.Get("Smsgate-Signature"), b, time.Minute, time.Now())
		events <- e
	}))
	defer recv.Close()

	code, body := g.do("POST", "/v1/accounts/"+g.sub.ID+"/webhooks", fmt.Sprintf(`{"url": %q}`, recv.URL))
	if code != 201 {
		t.Fatalf("create webhook: %d %s", code, body)
	}
	var created struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil || created.Secret == "" {
		t.Fatalf("no secret in %s", body)
	}
	secret = created.Secret
	// Low balance below 99: the first send (5) crosses it.
	if code, body := g.do("PATCH", "/v1/accounts/"+g.sub.ID, `{"low_balance_threshold": 99}`); code != 200 {
		t.Fatalf("set threshold: %d %s", code, body)
	}

	rcpt := "0412345678@" + smsDomain
	if err := g.sendMail("alice@example.com", []string{rcpt}, plainMail("alice@example.com", rcpt, "wh1@x", "webhook test")); err != nil {
		t.Fatal(err)
	}
	seen := map[string]got{}
	replied := false
	for len(seen) < 3 {
		if len(seen) == 2 && !replied {
			replied = true
			// Delivered (so the conversation is recorded) and low balance
			// are in: now the phone replies.
			if err := g.sim.InjectMO(ctx, smsMO("61412345678", ourNumber, "got it")); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case e := <-events:
			if e.sig != nil {
				t.Errorf("%s: signature: %v", e.Type, e.sig)
			}
			seen[e.Type] = e
		case <-ctx.Done():
			t.Fatalf("events received: %v", seen)
		}
	}
	// The whole message, not only what the receipt's result names.
	if d := seen["message.status"].Data; d["status"] != "delivered" || d["to"] != "61412345678" ||
		d["parts"] != float64(1) || d["price"] != float64(5) || d["sender"] != "alice@example.com" || d["submitted_at"] == nil {
		t.Errorf("message.status %v", d)
	}
	if s := seen["reply.received"].Data["text"]; s != "got it" {
		t.Errorf("reply.received %v", seen["reply.received"].Data)
	}
	if b := seen["balance.low"].Data["balance"]; b != float64(95) {
		t.Errorf("balance.low %v", seen["balance.low"].Data)
	}
}

// TestWebhookSSRFE2E: with the default configuration a tenant cannot point a
// webhook at the operator's own network: a loopback listener (here: this
// test's) is refused at creation with the reason.
func TestWebhookSSRFE2E(t *testing.T) {
	g := startGateway(t)
	recv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("the loopback listener was reached") }))
	defer recv.Close()
	for _, u := range []string{recv.URL, "http://localhost:6379", "http://169.254.169.254/latest/meta-data"} {
		code, body := g.do("POST", "/v1/accounts/"+g.sub.ID+"/webhooks", fmt.Sprintf(`{"url": %q}`, u))
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, "internal address") {
			t.Fatalf("create webhook %s: %d %s", u, code, body)
		}
	}
}
