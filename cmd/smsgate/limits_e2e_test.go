package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/config"
)

// startPeer runs a second daemon over g's Redis at redisAddr (another
// instance of the same deployment: same SMS domain, same SMSC simulator and
// mail sink) and returns a gateway value that sends through it.
func (g *gateway) startPeer(redisAddr string) *gateway {
	t := g.t
	t.Helper()
	cfg := config.Default()
	cfg.Redis.Addr = redisAddr
	cfg.SMTP.Listen = "127.0.0.1:0"
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.SMTP.Domains = []string{smsDomain}
	cfg.SMTP.MaxRecipients = 5
	cfg.SMTP.AllowInsecureAuth = true
	cfg.Dispatch.DefaultSource = ourNumber
	cfg.Dispatch.Block = config.Duration(100 * time.Millisecond)
	cfg.Shutdown.Timeout = config.Seconds(5)
	cfg.Relay = config.Relay{Addr: g.sink.Addr(), From: "smsgate@" + smsDomain, Hostname: "smsgate-2.test"}
	l := config.DefaultLink()
	l.Name, l.Addr, l.SystemID, l.Password = "sim", g.sim.Addr(), "smsgate", "secret"
	cfg.Links = []config.Link{l}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("peer config: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	peer := *g
	peer.stop, peer.done = cancel, make(chan struct{})
	ready := make(chan struct{})
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() {
		defer close(peer.done)
		if err := Serve(ctx, cfg, logger, func(s, h string) {
			peer.smtpAddr, peer.httpAddr = s, h
			close(ready)
		}); err != nil {
			t.Errorf("peer serve: %v", err)
		}
	}()
	select {
	case <-ready:
	case <-peer.done:
		t.Fatal("peer returned before it was ready")
	case <-time.After(10 * time.Second):
		t.Fatal("peer not ready within 10s")
	}
	t.Cleanup(peer.shutdown)
	return &peer
}

// metric returns the /metrics lines of an instance that contain all of
// the given substrings.
func (g *gateway) metric(parts ...string) string {
	g.t.Helper()
	resp, err := http.Get("http://" + g.httpAddr + "/metrics")
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out []string
	for line := range strings.SplitSeq(string(b), "\n") {
		ok := !strings.HasPrefix(line, "#")
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// TestLimitsSharedAcrossInstances: two daemons over one Redis share a
// sub-account's limits: mail through a real SMTP client, alternating
// instances, is deferred (451 4.7.1) past the per-sender rate and refused
// (550 5.7.1) past the daily parts, each naming its limit, and a refused
// mail is neither charged nor sent.
func TestLimitsSharedAcrossInstances(t *testing.T) {
	g := startGateway(t)
	peer := g.startPeer(g.cfg.Redis.Addr)
	if code, body := g.do("PUT", "/v1/accounts/"+g.sub.ID+"/limits", `{"per_minute": 2, "parts_per_day": 3}`); code != http.StatusOK {
		t.Fatalf("set limits: %d %s", code, body)
	}
	// The rate's window is the UTC clock minute: start well inside one.
	if left := time.Minute - time.Duration(time.Now().UnixMilli()%60000)*time.Millisecond; left < 10*time.Second {
		time.Sleep(left)
	}
	to := "0412345678@" + smsDomain
	mail := func(gw *gateway, from, id string) error {
		return gw.sendMail(from, []string{to}, plainMail(from, to, id+"@example.com", "limit test "+id))
	}
	for i, gw := range []*gateway{g, peer} {
		if err := mail(gw, "alice@example.com", "a"+string(rune('0'+i))); err != nil {
			t.Fatalf("alice's mail %d: %v", i, err)
		}
	}
	for i, gw := range []*gateway{peer, g} {
		code, enh, text := smtpCode(t, mail(gw, "alice@example.com", "a-over"+string(rune('0'+i))))
		if code != 451 || enh != [3]int{4, 7, 1} || !strings.Contains(text, "2 messages per minute for sender alice@example.com") ||
			!strings.Contains(text, "retry in") {
			t.Fatalf("over the rate on instance %d: %d %v %q", i, code, enh, text)
		}
	}
	// Another sender has its own rate; its mail is the day's third part.
	if err := mail(peer, "bob@example.com", "b1"); err != nil {
		t.Fatalf("bob: %v", err)
	}
	code, enh, text := smtpCode(t, mail(g, "carol@example.com", "c1"))
	if code != 550 || enh != [3]int{5, 7, 1} || !strings.Contains(text, "3 SMS parts per day") {
		t.Fatalf("over the daily parts: %d %v %q", code, enh, text)
	}
	// Three sent and charged (5 a part), nothing for the four refusals.
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()
	if got, err := g.sim.WaitMessages(ctx, 3); err != nil || len(got) != 3 {
		t.Fatalf("simulator got %d messages: %v", len(got), err)
	}
	if b := g.balance(g.sub.ID); b != 100-3*5 {
		t.Fatalf("sub balance %d, want %d", b, 100-3*5)
	}
	if m := g.metric(`reason="limit_per_minute"`, `result="deferred"`); !strings.HasSuffix(m, " 1") {
		t.Errorf("instance 1 metrics: %q", m)
	}
	if m := peer.metric(`reason="limit_per_minute"`, `result="deferred"`); !strings.HasSuffix(m, " 1") {
		t.Errorf("instance 2 metrics: %q", m)
	}
	if m := g.metric(`reason="limit_parts_per_day"`, `result="rejected"`); !strings.HasSuffix(m, " 1") {
		t.Errorf("instance 1 metrics: %q", m)
	}
}
