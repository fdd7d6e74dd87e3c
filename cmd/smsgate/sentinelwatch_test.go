package main

import (
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/internal/redistest"
)

// TestWatchMastersCounts: a failover the sentinels announce
// (+switch-master) is counted and unsettles the master, also when the
// Redis servers have a password the sentinels do not ask for (they are
// reached as the Redis client reaches them: without the servers'
// credentials).
func TestWatchMastersCounts(t *testing.T) {
	s := redistest.StartSentinel(t, "wm", 1)
	cfg := config.Redis{Sentinel: config.Sentinel{Master: s.Name, Addrs: s.Addrs},
		Password: "the-servers-password"}
	w := watchMasters(t.Context(), cfg, slog.New(slog.DiscardHandler))
	t.Cleanup(w.close)
	if n, settled := w.state(); n != 0 || !settled {
		t.Fatalf("before any failover: %d changes, settled %v", n, settled)
	}
	// Subscribe has sent SUBSCRIBE on every sentinel by now; a failover
	// takes a second or more.
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addrs[0]})
	defer sc.Close()
	// NOGOODSLAVE until the sentinel has seen the replica in sync.
	var err error
	waitFor(t, 10*time.Second, "a failover the sentinel takes", func() bool {
		err = sc.Failover(t.Context(), s.Name).Err()
		return err == nil
	})
	waitFor(t, 30*time.Second, "the failover announced", func() bool { n, _ := w.state(); return n > 0 })
	if _, settled := w.state(); settled {
		t.Fatal("a master change heard, yet settled")
	}
}

// waitFor polls cond every 20 ms until it holds, failing t after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(limit)
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("%s: not within %s", what, limit)
		case <-tick.C:
		}
	}
}
