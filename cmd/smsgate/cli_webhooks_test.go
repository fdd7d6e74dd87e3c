package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/api"
	"github.com/smsgate/smsgate/internal/redistest"
	"github.com/smsgate/smsgate/netguard"
	"github.com/smsgate/smsgate/webhook"
)

// newWebhookCLIEnv is newCLIEnv with a running webhook service.
func newWebhookCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	rdb := redistest.Start(t)
	st := redisstore.New(rdb, redisstore.Options{})
	logger := slog.New(slog.NewTextHandler(t.Output(), nil))
	loopback, _ := netguard.New([]string{"127.0.0.1"}) // the test's receiver
	svc := webhook.New(webhook.Options{Redis: rdb, Poll: 10 * time.Millisecond, Logger: logger, Guard: loopback})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { _ = svc.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	srv := httptest.NewServer(api.New(api.Options{Stores: apiStores(st), Webhooks: svc, Logger: logger}))
	t.Cleanup(srv.Close)
	root, secret, err := st.Bootstrap(t.Context(), accounts.Account{Name: "Root", DefaultCountry: "AU"})
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	return &cliEnv{t: t, url: srv.URL, key: secret, root: root, store: st}
}

func TestCLIWebhooks(t *testing.T) {
	e := newWebhookCLIEnv(t)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(recv.Close)
	acct := e.root.ID

	out := e.must("webhook", "create", "--account", acct, "--url", recv.URL, "--events", "message.status, reply.received")
	id := regexp.MustCompile(`(?m)^id\s+(w\S+)$`).FindStringSubmatch(out)
	if id == nil || !strings.Contains(out, "whsec_") || !strings.Contains(out, "message.status,reply.received") {
		t.Fatalf("create output:\n%s", out)
	}
	wh := id[1]
	if out := e.must("webhook", "list", "--account", acct); !strings.Contains(out, wh) || strings.Contains(out, "whsec_") {
		t.Fatalf("list output:\n%s", out)
	}
	e.must("webhook", "test", "--account", acct, wh)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(e.must("webhook", "deliveries", "--account", acct, wh), "delivered") {
		if time.Now().After(deadline) {
			t.Fatal("the test delivery never showed in the log")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"get", []string{"webhook", "get", "--account", acct, wh}, 0, "status", ""},
		{"enable", []string{"webhook", "enable", "--account", acct, wh}, 0, "active", ""},
		{"rotate", []string{"webhook", "rotate-secret", "--account", acct, wh}, 0, "whsec_", ""},
		{"deliveries limit", []string{"webhook", "deliveries", "--account", acct, wh, "--limit", "1"}, 0, "ping", ""},
		{"no url", []string{"webhook", "create", "--account", acct}, 2, "", "--url is required"},
		{"no account", []string{"webhook", "list"}, 2, "", "--account"},
		{"no webhook", []string{"webhook", "get", "--account", acct}, 2, "", "WEBHOOK is required"},
		{"bad event", []string{"webhook", "create", "--account", acct, "--url", recv.URL, "--events", "sms"}, 1, "", `events[0]: "sms"`},
		{"unknown webhook", []string{"webhook", "get", "--account", acct, "wnothere"}, 1, "", "webhook wnothere not found"},
		{"delete", []string{"webhook", "delete", "--account", acct, wh}, 0, "deleted", ""},
		{"deleted", []string{"webhook", "get", "--account", acct, wh}, 1, "", "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := e.run(tc.args...)
			if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
		})
	}
}
