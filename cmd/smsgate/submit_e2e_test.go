package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// TestSlowSMSCOneSMS: an SMSC that answers every submit_sm later than the
// link's response_timeout (but answers) gets each mail exactly once: the
// late responses are matched, nothing is resubmitted, the messages are
// delivered and charged once.
func TestSlowSMSCOneSMS(t *testing.T) {
	g := startGateway(t, func(c *config.Config, o *smsctest.Options) {
		// Answers after twice the response timeout: late, not silent
		// (3 response timeouts). The margin (1s) is wide: under a loaded CI
		// machine the simulator's answers can themselves be late.
		o.RespDelay = 2 * time.Second
		l := config.DefaultLink()
		l.Name = "sim"
		l.ResponseTimeout = config.Duration(time.Second)
		l.OutcomeWait = config.Duration(10 * time.Second)
		c.Links = []config.Link{l}
	})
	const n = 3
	for i := range n {
		to := fmt.Sprintf("04123456%02d@%s", i, smsDomain)
		if err := g.sendMail("alice@example.com", []string{to}, plainMail("alice@example.com", to, fmt.Sprintf("slow%d@x", i), fmt.Sprintf("slow %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	g.waitFor("three delivered", func() bool {
		msgs, _ := g.store.ListMessages(ctx, g.sub.ID, 10)
		d := 0
		for _, m := range msgs {
			if m.Status == accounts.MsgDelivered {
				d++
			}
		}
		return d == n
	})
	if st := g.sim.Stats(); st.Submits != n || st.Binds != 1 {
		t.Fatalf("sim stats %+v: want %d submits on one bind (no resubmit on a live session)", st, n)
	}
	if got := len(g.sim.Messages()); got != n {
		t.Fatalf("%d SMS at the handsets, want %d", got, n)
	}
	msgs, _ := g.store.ListMessages(ctx, g.sub.ID, 10)
	for _, m := range msgs {
		if m.Attempts != 1 || m.Error != "" {
			t.Fatalf("message %s: attempts %d error %q, want 1 and none", m.ID, m.Attempts, m.Error)
		}
	}
	_, metrics := g.get("/metrics")
	if !strings.Contains(metrics, `smsgate_smpp_submit_late_total{link="sim",outcome="answered"} 3`) {
		t.Errorf("late responses not counted as answered")
	}
}

// TestOutageUsesNoAttempts: mail accepted while the carrier is unreachable
// waits in the queue, untouched, without using attempts (max_attempts 1
// would fail it otherwise), and goes out as soon as the link binds.
func TestOutageUsesNoAttempts(t *testing.T) {
	smscAddr := freeAddr(t)
	g := startGateway(t, func(c *config.Config, _ *smsctest.Options) {
		l := config.DefaultLink()
		l.Name, l.Addr, l.SystemID, l.Password = "sim", smscAddr, "smsgate", "secret"
		c.Links = []config.Link{l}
		c.Dispatch.Retry.MaxAttempts = 1
	})
	ctx := context.Background()
	const n = 3
	for i := range n {
		to := fmt.Sprintf("04123457%02d@%s", i, smsDomain)
		if err := g.sendMail("alice@example.com", []string{to}, plainMail("alice@example.com", to, fmt.Sprintf("out%d@x", i), fmt.Sprintf("outage %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	// The link health endpoint says the link is down.
	g.waitFor("a failed bind attempt", func() bool {
		code, body := g.get("/healthz/links")
		return code == http.StatusServiceUnavailable && strings.Contains(body, `"up": false`) && !strings.Contains(body, `"bind_attempts": 0`)
	})
	// With no link up the queue is left alone: the messages are queued,
	// untouched (no attempt, no error written).
	msgs, _ := g.store.ListMessages(ctx, g.sub.ID, 10)
	if len(msgs) != n {
		t.Fatalf("%d messages, want %d", len(msgs), n)
	}
	for _, m := range msgs {
		if m.Status != accounts.MsgQueued || m.Attempts != 0 || m.Error != "" {
			t.Fatalf("message %s during the outage: %s, %d attempts, error %q; want queued, untouched", m.ID, m.Status, m.Attempts, m.Error)
		}
	}
	sim, err := smsctest.Start(smsctest.Options{Addr: smscAddr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	wctx, cancel := context.WithTimeout(ctx, e2eWait)
	defer cancel()
	if _, err := sim.WaitMessages(wctx, n); err != nil {
		t.Fatalf("after the link came up: %v", err)
	}
	code, body := g.get("/healthz/links")
	if code != http.StatusOK || !strings.Contains(body, `"up": true`) || !strings.Contains(body, `"name": "sim"`) {
		t.Fatalf("/healthz/links after the bind: %d %s", code, body)
	}
}

// TestPairBindE2E: a carrier that refuses transceivers; the link binds as a
// pair (links[].bind: pair), mail goes out and its receipt comes back.
func TestPairBindE2E(t *testing.T) {
	g := startGateway(t, func(c *config.Config, o *smsctest.Options) {
		o.RequirePair = true
		l := config.DefaultLink()
		l.Name, l.Bind = "sim", "pair"
		c.Links = []config.Link{l}
	})
	rcpt := "0412345678@" + smsDomain
	if err := g.sendMail("alice@example.com", []string{rcpt}, plainMail("alice@example.com", rcpt, "pair1@x", "over a pair")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	g.waitFor("delivered (the receipt over the receiver)", func() bool {
		msgs, _ := g.store.ListMessages(ctx, g.sub.ID, 5)
		return len(msgs) == 1 && msgs[0].Status == accounts.MsgDelivered
	})
	if st := g.sim.Stats(); st.Binds != 2 || st.BindsRejected != 0 {
		t.Fatalf("sim stats %+v: want a transmitter and a receiver bound", st)
	}
}

// TestRecordRefused (issue 12): Redis refuses every write between the
// submits and their record (min-replicas-to-write with no replica: the
// NOREPLICAS a master gives when its replicas are gone, as READONLY after a
// failover); the dispatcher keeps the results and records them once Redis
// takes writes again: every mail is sent once, recorded once, never
// claimed and sent a second time.
func TestRecordRefused(t *testing.T) {
	g := startGateway(t, func(c *config.Config, o *smsctest.Options) {
		o.RespDelay = 2 * time.Second // time to make Redis refuse writes before the answers
		l := config.DefaultLink()
		l.Name = "sim"
		l.ResponseTimeout = config.Duration(10 * time.Second)
		c.Links = []config.Link{l}
	})
	ctx := context.Background()
	const n = 3
	for i := range n {
		to := fmt.Sprintf("04123458%02d@%s", i, smsDomain)
		if err := g.sendMail("alice@example.com", []string{to}, plainMail("alice@example.com", to, fmt.Sprintf("refused%d@x", i), fmt.Sprintf("refused %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	g.waitFor("the submits at the SMSC", func() bool { return g.sim.Stats().Submits == n })
	if err := g.rdb.ConfigSet(ctx, "min-replicas-to-write", "1").Err(); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, e2eWait)
	defer cancel()
	if _, err := g.sim.WaitMessages(wctx, n); err != nil {
		t.Fatalf("the SMSC's answers: %v", err)
	}
	// The SMSC answers after RespDelay; the dispatcher's record is then
	// refused, and tried again.
	g.waitFor("the record refused", func() bool {
		_, body := g.get("/metrics")
		return strings.Contains(body, "\nsmsgate_router_record_retries_total ") &&
			!strings.Contains(body, "\nsmsgate_router_record_retries_total 0\n")
	})
	msgs, _ := g.store.ListMessages(ctx, g.sub.ID, 10)
	for _, m := range msgs {
		if m.Status != accounts.MsgQueued {
			t.Fatalf("message %s %s while Redis refuses writes; want still queued", m.ID, m.Status)
		}
	}
	if err := g.rdb.ConfigSet(ctx, "min-replicas-to-write", "0").Err(); err != nil {
		t.Fatal(err)
	}
	g.waitFor("every message recorded as sent", func() bool {
		msgs, _ := g.store.ListMessages(ctx, g.sub.ID, 10)
		done := 0
		for _, m := range msgs {
			if m.Status == accounts.MsgSubmitted || m.Status == accounts.MsgDelivered {
				done++
			}
		}
		return done == n
	})
	msgs, _ = g.store.ListMessages(ctx, g.sub.ID, 10)
	for _, m := range msgs {
		if m.Attempts != 1 {
			t.Fatalf("message %s: %d attempts, want 1", m.ID, m.Attempts)
		}
	}
	if st := g.sim.Stats(); st.Submits != n {
		t.Fatalf("%d submits at the SMSC, want %d (none sent twice)", st.Submits, n)
	}
}
