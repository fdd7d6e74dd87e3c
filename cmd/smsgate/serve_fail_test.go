package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/internal/redistest"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// TestServeStartFailureLeavesNothingRunning: when a listener cannot be
// bound or Redis cannot be reached, Serve returns an error, the simulator
// never sees a bind, the listeners it did bind are released, and none of
// the daemon's goroutines is left running.
func TestServeStartFailureLeavesNothingRunning(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	rs := redistest.StartServer(t, redistest.Options{})
	tests := []struct {
		name    string
		edit    func(c *config.Config, freeSMTP string)
		wantErr string
	}{
		{name: "smtp address in use", wantErr: "smtp.listen",
			edit: func(c *config.Config, _ string) { c.SMTP.Listen = busy.Addr().String() }},
		{name: "http address in use", wantErr: "http.listen",
			edit: func(c *config.Config, free string) { c.SMTP.Listen, c.HTTP.Listen = free, busy.Addr().String() }},
		{name: "redis unreachable", wantErr: "redis",
			edit: func(c *config.Config, free string) { c.SMTP.Listen, c.Redis.Addr = free, freeAddr(t) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim, err := smsctest.Start(smsctest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer sim.Close()
			cfg := config.Default()
			cfg.Redis.Addr = rs.Addr
			cfg.SMTP.Domains = []string{smsDomain}
			cfg.HTTP.Listen = "127.0.0.1:0"
			cfg.Shutdown.Timeout = config.Seconds(5)
			l := config.DefaultLink()
			l.Name, l.Addr, l.SystemID, l.Password = "sim", sim.Addr(), "smsgate", "secret"
			cfg.Links = []config.Link{l}
			freeSMTP := freeAddr(t)
			tc.edit(cfg, freeSMTP)
			if err := cfg.Validate(); err != nil {
				t.Fatalf("test config: %v", err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
			defer cancel()
			logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			err = Serve(ctx, cfg, logger, func(string, string) { t.Error("Serve reported ready") })
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Serve = %v, want an error about %s", err, tc.wantErr)
			}
			waitNoDaemonGoroutines(t)
			if n := sim.Stats().Binds; n != 0 {
				t.Errorf("the simulator saw %d binds", n)
			}
			if cfg.SMTP.Listen == freeSMTP {
				ln, err := net.Listen("tcp", freeSMTP)
				if err != nil {
					t.Fatalf("the SMTP listener was not released: %v", err)
				}
				ln.Close()
			}
		})
	}
}

// waitNoDaemonGoroutines fails the test unless, within e2eWait, no
// goroutine of the daemon's long-lived work is left (daemonGoroutines).
func waitNoDaemonGoroutines(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(e2eWait)
	for {
		left := daemonGoroutines()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d daemon goroutines still running:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// daemonGoroutines returns the stacks of the goroutines running a link,
// the dispatcher, inbound, webhook delivery, the mailer or a server.
func daemonGoroutines() []string {
	daemonFrames := []string{
		"smsgate/smpp.(*Link)", "smsgate/router.(*Dispatcher)", "smsgate/router.(*Inbound).Run",
		"smsgate/webhook.(*Service).Run", "smsgate/smtp/relay.(*Mailer).Run",
		"net/http.(*Server).Serve", "go-smtp.(*Server).Serve",
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		for _, f := range daemonFrames {
			if strings.Contains(g, f) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// TestServeRoles: --roles replaces the file's roles, and the configuration
// is checked again for them (the dispatch role needs links the file has
// none of); an unknown role is a usage error.
func TestServeRoles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "smsgate.yml")
	if err := os.WriteFile(path, []byte("roles: {smtp: false, dispatch: false, http: true}\nhttp:\n  listen: 127.0.0.1:0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	if code := run([]string{"serve", "--config", path, "--roles", "http,sms"}, os.Getenv, io.Discard, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), `serve: --roles: unknown role "sms"`) {
		t.Errorf("unknown role: exit %d, %s", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"serve", "--config", path, "--roles", "dispatch"}, os.Getenv, io.Discard, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "links: at least one link is required when roles.dispatch is on") {
		t.Errorf("dispatch without links: exit %d, %s", code, stderr.String())
	}
}

// TestGCTarget: the daemon sets runtime.gc_percent, unless GOGC is in the
// environment (which the runtime has applied already).
func TestGCTarget(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if pct, ok := gcTarget(config.Runtime{GCPercent: 400}, getenv); !ok || pct != 400 {
		t.Fatalf("without GOGC: %d %v, want 400 set", pct, ok)
	}
	env["GOGC"] = "150"
	if _, ok := gcTarget(config.Runtime{GCPercent: 400}, getenv); ok {
		t.Fatal("GOGC set in the environment: the configuration overrode it")
	}
	if d := config.Default().Runtime.GCPercent; d != 400 {
		t.Fatalf("default gc_percent %d, want 400", d)
	}
}
