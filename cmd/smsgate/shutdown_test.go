package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// TestShutdownDrains: on SIGTERM (ctx cancelled) new SMTP transactions get
// 421, a transaction already under way completes and is queued, /readyz
// turns 503, and Serve returns within its bound.
func TestShutdownDrains(t *testing.T) {
	g := startGateway(t)
	rcpt := "0412345678@" + smsDomain

	inflight, err := gosmtp.Dial(g.smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer inflight.Close()
	if err := inflight.Mail("alice@example.com", nil); err != nil {
		t.Fatal(err)
	}
	if err := inflight.Rcpt(rcpt, nil); err != nil {
		t.Fatal(err)
	}
	late, err := gosmtp.Dial(g.smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	if err := late.Hello("late.example.com"); err != nil {
		t.Fatal(err)
	}

	g.stop()
	g.waitFor("/readyz to report draining", func() bool {
		resp, err := http.Get("http://" + g.httpAddr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	})

	err = late.Mail("alice@example.com", nil)
	if err == nil {
		t.Fatal("new transaction accepted while draining")
	}
	if code, enh, _ := smtpCode(t, err); code != 421 || enh != [3]int{4, 3, 2} {
		t.Errorf("new transaction got %d %v, want 421 4.3.2", code, enh)
	}

	w, err := inflight.Data()
	if err != nil {
		t.Fatalf("in-flight DATA refused: %v", err)
	}
	w.Write([]byte(plainMail("alice@example.com", rcpt, "drain@x", "sent while draining")))
	if err := w.Close(); err != nil {
		t.Fatalf("in-flight mail not accepted: %v", err)
	}

	start := time.Now()
	select {
	case <-g.done:
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return within 20s of the drain")
	}
	t.Logf("drained in %s", time.Since(start))
	msgs, err := g.store.ListMessages(t.Context(), g.sub.ID, 10)
	if err != nil || len(msgs) != 1 || !strings.Contains(msgs[0].Text, "sent while draining") {
		t.Fatalf("in-flight mail not stored: %v %v", msgs, err)
	}
}
