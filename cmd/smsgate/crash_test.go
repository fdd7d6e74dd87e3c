package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/internal/redistest"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// freeAddr reserves a loopback port and releases it for a server to take.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestCrashLosesNothing: a smsgate process is killed with SIGKILL after it
// answered 250 and before it could submit (its carrier is unreachable); a new
// process on the same Redis delivers every accepted message exactly once.
func TestCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "smsgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	rs := redistest.StartServer(t, redistest.Options{AOF: true})
	rdb := rs.Client(t)
	store := redisstore.New(rdb, redisstore.Options{})
	ctx := t.Context()
	p, _, err := store.Bootstrap(ctx, accounts.Account{Name: "Parent", DefaultCountry: "AU"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Credit(ctx, p.ID, 10000, "test", "operator"); err != nil {
		t.Fatal(err)
	}
	if err := store.AddDomain(ctx, p.ID, "example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.SetSenderPolicy(ctx, p.ID, &loopbackPolicy); err != nil {
		t.Fatal(err)
	}

	smscAddr, smtpAddr, httpAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	cfgPath := filepath.Join(dir, "smsgate.yml")
	cfg := fmt.Sprintf(`log: {level: warn, format: text}
redis: {addr: "%s"}
smtp: {listen: "%s", domains: [%s]}
http: {listen: "%s"}
dispatch:
  default_source: "%s"
  claim_idle: 1s
  block: 100ms
  retry: {initial: 50ms, max: 200ms, max_attempts: 1000}
links:
  - {name: sim, addr: "%s", system_id: smsgate, password: secret, response_timeout: 500ms, outcome_wait: 600ms}
shutdown: {timeout: 5s}
`, rs.Addr, smtpAddr, smsDomain, httpAddr, ourNumber, smscAddr)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--config", cfgPath)
		cmd.Stdout, cmd.Stderr = t.Output(), t.Output()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		deadline := time.Now().Add(15 * time.Second)
		for {
			c, err := net.Dial("tcp", smtpAddr)
			if err == nil {
				c.Close()
				return cmd
			}
			if time.Now().After(deadline) {
				t.Fatalf("smsgate did not listen on %s", smtpAddr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	first := start()
	const n = 20
	c, err := gosmtp.Dial(smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		to := fmt.Sprintf("04123450%02d@%s", i, smsDomain)
		if err := c.SendMail("alice@example.com", []string{to},
			stringsReader(plainMail("alice@example.com", to, fmt.Sprintf("c%d@x", i), fmt.Sprintf("crash test %d", i)))); err != nil {
			t.Fatalf("mail %d: %v", i, err)
		}
	}
	c.Close()
	// Every mail got 250. Kill the process: nothing was submitted (no SMSC).
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.Wait()

	sim, err := smsctest.Start(smsctest.Options{Addr: smscAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	start()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got, err := sim.WaitMessages(wctx, n)
	if err != nil {
		t.Fatalf("simulator got %d of %d messages: %v", len(got), n, err)
	}
	// Exactly once: every destination once, and all messages delivered.
	msgs, err := store.ListMessages(ctx, p.ID, 100)
	if err != nil || len(msgs) != n {
		t.Fatalf("%d messages stored: %v", len(msgs), err)
	}
	deadline := time.Now().Add(e2eWait)
	for _, m := range msgs {
		for {
			mm, err := store.GetMessage(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if mm.Status == accounts.MsgDelivered {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("message %s is %s", m.ID, mm.Status)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	seen := map[string]int{}
	for _, m := range sim.Messages() {
		seen[m.Dest]++
	}
	if len(seen) != n {
		t.Errorf("%d distinct destinations at the SMSC, want %d", len(seen), n)
	}
	for d, k := range seen {
		if k != 1 {
			t.Errorf("%s received %d times", d, k)
		}
	}
}
