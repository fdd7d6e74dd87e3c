package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestMetricsNames gathers the daemon's registry through /metrics after one
// message went through, and checks that every documented series exists, that
// names follow smsgate_<package>_<name>_<unit>, and counters end in _total.
func TestMetricsNames(t *testing.T) {
	g := startGateway(t)
	if err := g.sendMail("alice@example.com", []string{"0412345678@" + smsDomain},
		plainMail("alice@example.com", "x", "metrics@x", "hello")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()
	if _, err := g.sim.WaitMessages(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if code, _ := g.get("/v1/me"); code != 200 {
		t.Fatalf("GET /v1/me: %d", code)
	}
	resp, err := http.Get("http://" + g.httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(b)
	want := []string{
		"smsgate_smtp_sessions_total",
		"smsgate_smtp_messages_total",
		"smsgate_smtp_command_duration_seconds",
		"smsgate_router_messages_total",
		"smsgate_router_submits_total",
		"smsgate_router_no_route_total",
		"smsgate_router_accept_to_submit_seconds",
		"smsgate_router_store_accept_seconds",
		"smsgate_router_queue_pending",
		"smsgate_router_queue_oldest_age_seconds",
		"smsgate_router_receipts_total",
		"smsgate_router_replies_total",
		"smsgate_smpp_link_up",
		"smsgate_smpp_submits_total",
		"smsgate_smpp_submit_duration_seconds",
		"smsgate_smpp_delivers_total",
		"smsgate_panics_total",
		"smsgate_api_requests_total",
		"smsgate_webhook_deliveries_total",
		"smsgate_redis_pool_connections",
		"smsgate_redis_pool_timeouts_total",
		"smsgate_daemon_loops_stopped",
	}
	for _, name := range want {
		if !strings.Contains(text, "\n# TYPE "+name+" ") {
			t.Errorf("metric %s missing", name)
		}
	}
	typeLine := regexp.MustCompile(`(?m)^# TYPE (smsgate_\S+) (\S+)$`)
	for _, m := range typeLine.FindAllStringSubmatch(text, -1) {
		name, kind := m[1], m[2]
		if kind == "counter" && !strings.HasSuffix(name, "_total") {
			t.Errorf("counter %s does not end in _total", name)
		}
		if kind == "histogram" && !strings.HasSuffix(name, "_seconds") {
			t.Errorf("histogram %s is not in seconds", name)
		}
		if parts := strings.Split(name, "_"); len(parts) < 3 || !map[string]bool{
			"smtp": true, "router": true, "smpp": true, "api": true, "panics": true, "accounts": true, "webhook": true,
			"redis": true, "daemon": true, // the Redis client's pool; the daemon's own loops
		}[parts[1]] {
			t.Errorf("metric %s is not smsgate_<package>_<name>", name)
		}
	}
	if !strings.Contains(text, "\nsmsgate_router_store_accept_seconds_count 1\n") {
		t.Errorf("the store's accept of the one mail not observed once")
	}
	if !strings.Contains(text, `smsgate_smpp_link_up{link="sim"} 1`) {
		t.Error("link_up for sim is not 1")
	}
}
