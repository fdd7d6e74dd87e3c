package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/internal/redistest"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// redisFault is a way a real Redis refuses work for a while.
type redisFault struct {
	name string
	// inject makes Redis refuse; clear ends it (nil: it ends by itself).
	inject func(t *testing.T, g *gateway)
	clear  func(t *testing.T, g *gateway)
}

var redisFaults = []redisFault{
	{name: "OOM", // maxmemory reached under noeviction: every write refused
		inject: func(t *testing.T, g *gateway) { configSet(t, g, "maxmemory", "1") },
		clear:  func(t *testing.T, g *gateway) { configSet(t, g, "maxmemory", "0") }},
	{name: "MISCONF", // a failed background save stops writes
		inject: func(t *testing.T, g *gateway) {
			if err := os.RemoveAll(g.redis.Dir); err != nil { // where the RDB would go
				t.Fatal(err)
			}
			configSet(t, g, "stop-writes-on-bgsave-error", "yes")
			_ = g.rdb.BgSave(context.Background()).Err()
			g.waitFor("the background save to fail", func() bool {
				return strings.Contains(g.rdb.Info(context.Background(), "persistence").Val(), "rdb_last_bgsave_status:err")
			})
		},
		clear: func(t *testing.T, g *gateway) { configSet(t, g, "stop-writes-on-bgsave-error", "no") }},
	{name: "READONLY", // demoted to a replica of a master that is not there
		inject: func(t *testing.T, g *gateway) {
			if err := g.rdb.Do(context.Background(), "replicaof", "127.0.0.1", strconv.Itoa(redistest.FreePort(t))).Err(); err != nil {
				t.Fatal(err)
			}
		},
		clear: func(t *testing.T, g *gateway) {
			if err := g.rdb.Do(context.Background(), "replicaof", "no", "one").Err(); err != nil {
				t.Fatal(err)
			}
		}},
	{name: "LOADING", // restarted, and loading its dataset for seconds
		inject: func(t *testing.T, g *gateway) {
			ctx := context.Background()
			// Enough keys that loading them at 100 us each takes ~2 s.
			pipe := g.rdb.Pipeline()
			for i := range 20000 {
				pipe.Set(ctx, fmt.Sprintf("filler:%d", i), "x", 0)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
			if err := g.rdb.Save(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			// Events are served every 1 KiB of the file, so clients get
			// LOADING rather than silence.
			if err := g.redis.Restart("--key-load-delay", "100", "--loading-process-events-interval-bytes", "1024"); err != nil {
				t.Fatal(err)
			}
		}},
	{name: "connection loss", // every client connection killed, repeatedly
		inject: func(t *testing.T, g *gateway) {
			for range 5 {
				_ = g.rdb.Do(context.Background(), "client", "kill", "type", "normal").Err()
				time.Sleep(200 * time.Millisecond) // kills spread over a second
			}
		}},
}

func configSet(t *testing.T, g *gateway, k, v string) {
	t.Helper()
	if err := g.rdb.ConfigSet(context.Background(), k, v).Err(); err != nil {
		t.Fatalf("CONFIG SET %s %s: %v", k, v, err)
	}
}

// TestRedisFaults (issue 12, item 3): Redis refuses work (OOM, MISCONF,
// READONLY, LOADING, lost connections) while an instance starts and while
// it runs. Nothing stops for good: when Redis is back, /readyz is ready, no
// loop has stopped, and every mail accepted (before, during or after) is
// sent once with its receipt recorded.
func TestRedisFaults(t *testing.T) {
	for _, f := range redisFaults {
		for _, phase := range []string{"start-up", "run"} {
			t.Run(f.name+"/"+phase, func(t *testing.T) {
				t.Parallel() // each has its own Redis, simulator and gateway
				faultRun(t, f, phase)
			})
		}
	}
}

func faultRun(t *testing.T, f redisFault, phase string) {
	g := startGateway(t)
	ctx := t.Context()
	var n atomic.Int64 // mails answered 250
	send := func(g *gateway) error {
		i := n.Load()
		to := fmt.Sprintf("04123450%02d@%s", i, smsDomain)
		err := g.sendMail("alice@example.com", []string{to}, plainMail("alice@example.com", to, fmt.Sprintf("fault-%d@x", i), fmt.Sprintf("mail %d", i)))
		if err == nil {
			n.Add(1)
		}
		return err
	}
	if err := send(g); err != nil {
		t.Fatal(err)
	}
	live := g
	if phase == "start-up" {
		// The instance that set up the accounts ends; the fault comes; a
		// new instance starts into it.
		g.shutdown()
		f.inject(t, g)
		live = g.startPeer(g.redis.Addr)
	} else {
		f.inject(t, g)
	}
	// While Redis refuses, mail may be deferred (4xx), never lost.
	if err := send(live); err != nil {
		if code, _, _ := smtpCode(t, err); code/100 != 4 {
			t.Fatalf("mail during %s: %v, want a 4xx or a 250", f.name, err)
		}
	}
	time.Sleep(1500 * time.Millisecond) // let every loop run into the fault: nothing to await
	if f.clear != nil {
		f.clear(t, g)
	}
	// Redis is back (a restarted one once loaded): mail flows again.
	deadline := time.Now().Add(e2eWait)
	for {
		err := send(live)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mail after %s cleared: %v", f.name, err)
		}
		time.Sleep(100 * time.Millisecond) // Redis finishing its load: nothing to await
	}
	want := int(n.Load())
	wctx, cancel := context.WithTimeout(ctx, e2eWait)
	defer cancel()
	if _, err := g.sim.WaitMessages(wctx, want); err != nil {
		t.Fatalf("%d mails answered 250, the SMSC got %d: %v", want, len(g.sim.Messages()), err)
	}
	live.waitFor("every receipt recorded", func() bool {
		msgs, err := live.store.ListMessages(ctx, live.sub.ID, 100)
		if err != nil || len(msgs) != want {
			return false
		}
		for _, m := range msgs {
			if m.Status != accounts.MsgDelivered {
				return false
			}
		}
		return true
	})
	g.checkSentOnce()
	live.waitFor("/readyz ready", func() bool {
		resp, err := http.Get("http://" + live.httpAddr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if m := live.metric("smsgate_daemon_loops_stopped"); m != "smsgate_daemon_loops_stopped 0" {
		t.Errorf("loops stopped: %q", m)
	}
}

// TestStorageFullDefers (issue 12, item 6): once Redis uses more of its
// maxmemory than redis.memory_high, new mail is deferred with 452 4.3.1
// (nothing written, nothing charged) instead of accepted and then refused
// halfway by an OOM; with room again, mail is accepted.
func TestStorageFullDefers(t *testing.T) {
	g := startGateway(t, func(c *config.Config, _ *smsctest.Options) { c.Redis.MemoryHigh = 0.5 })
	ctx := t.Context()
	used := infoInt(t, g, "used_memory")
	configSet(t, g, "maxmemory", strconv.FormatInt(used*10/8, 10)) // ~80% used
	g.waitFor("the memory check to see 80%", func() bool {
		return strings.Contains(g.metric("smsgate_redis_memory_used_ratio"), "smsgate_redis_memory_used_ratio 0.")
	})
	rcpt := "0412345678@" + smsDomain
	err := g.sendMail("alice@example.com", []string{rcpt}, plainMail("alice@example.com", rcpt, "full-1@x", "while full"))
	if code, enh, msg := smtpCode(t, err); code != 452 || enh != [3]int{4, 3, 1} || !strings.Contains(msg, "insufficient system storage") {
		t.Fatalf("mail while Redis is 80%% full: %d %v %q, want 452 4.3.1", code, enh, msg)
	}
	if b := g.balance(g.sub.ID); b != 100 {
		t.Errorf("balance %d after a deferred mail, want 100", b)
	}
	if m := g.metric(`smsgate_smtp_messages_total{reason="storage_full"`); !strings.HasSuffix(m, " 1") {
		t.Errorf("storage_full deferrals: %q", m)
	}
	configSet(t, g, "maxmemory", "0")
	g.waitFor("the memory check to see room", func() bool {
		return g.metric("smsgate_redis_memory_used_ratio") == "smsgate_redis_memory_used_ratio 0"
	})
	if err := g.sendMail("alice@example.com", []string{rcpt}, plainMail("alice@example.com", rcpt, "full-1@x", "while full")); err != nil {
		t.Fatalf("the retry with room again: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, e2eWait)
	defer cancel()
	if _, err := g.sim.WaitMessages(wctx, 1); err != nil {
		t.Fatal(err)
	}
}

func infoInt(t *testing.T, g *gateway, field string) int64 {
	t.Helper()
	for line := range strings.SplitSeq(g.rdb.Info(context.Background(), "memory").Val(), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("INFO memory has no %s", field)
	return 0
}
