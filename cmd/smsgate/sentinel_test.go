package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/internal/redistest"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// TestSentinelFailover (issue 12, item 2): smsgate on Sentinel (a master,
// two replicas, three sentinels) with min_replicas_ack; 200 mails from 8
// clients that retry a refusal as MTAs do; a quarter in, the master is
// killed (SIGKILL: what it had not given a replica is gone), or frozen and
// thawed, and the sentinels promote a replica. Every mail
// answered 250 is on the new master and reaches the carrier: none lost.
func TestSentinelFailover(t *testing.T) {
	t.Run("kill", func(t *testing.T) {
		testSentinelFailover(t, 1, 0, func(_ *testing.T, s *redistest.Sentinel) { s.Master.Stop() })
	})
	// Frozen (SIGSTOP) until the sentinels have promoted a replica, then
	// thawed: the old master runs the commands that waited for it, still
	// master until the sentinels demote it, and a replica not yet moved to
	// the new master acks them. With min_replicas_ack 1 that lost mail
	// answered 250: 149 of 200 with a 10 s redis.timeout; with the default
	// 3 s, none in two runs, 12 in another. The daemon now refuses to
	// confirm an accept in the 10 s after the sentinels announce a new
	// master, or across the announcement (masterWatch), which leaves the
	// old master's answers that come before the announcement does (10 s
	// timeout: none lost in 8 of 11 runs, 7, 24 and 38 in the others).
	// Asking every replica (2) refuses them all
	// (451, until the old master has rejoined as a replica): none lost.
	t.Run("freeze, long timeout, every replica", func(t *testing.T) { testSentinelFailover(t, 2, 10*time.Second, freezeUntilPromoted) })
}

// freezeUntilPromoted freezes the master until the sentinels name another,
// then thaws it.
func freezeUntilPromoted(t *testing.T, s *redistest.Sentinel) {
	if err := s.Master.Freeze(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()
	for {
		if addr, err := s.CurrentMaster(ctx); err == nil && addr != s.MasterAddr {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the sentinels never promoted a replica")
		}
		time.Sleep(50 * time.Millisecond) // the sentinels have no event to wait on
	}
	if err := s.Master.Thaw(); err != nil {
		t.Fatal(err)
	}
}

func testSentinelFailover(t *testing.T, ack int, timeout time.Duration, fault func(*testing.T, *redistest.Sentinel)) {
	// Two replicas: once one is promoted the other replicates it, so that
	// min_replicas_ack is met again.
	s := redistest.StartSentinel(t, "mymaster", 2)
	g := startGateway(t, func(c *config.Config, _ *smsctest.Options) {
		c.Redis.Addr = ""
		c.Redis.Sentinel = config.Sentinel{Master: s.Name, Addrs: s.Addrs}
		c.Redis.MinReplicasAck = ack
		c.Redis.ReplicaAckTimeout = config.Duration(500 * time.Millisecond)
		if timeout > 0 {
			c.Redis.Timeout = config.Duration(timeout)
		}
	})
	const clients, perClient = 8, 25
	if _, err := g.store.Credit(t.Context(), g.parent.ID, 10000, "test", "operator"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.store.Transfer(t.Context(), g.parent.ID, g.sub.ID, 2000, "test", "operator"); err != nil {
		t.Fatal(err)
	}
	rcpt := "0412345678@" + smsDomain
	text := func(c, i int) string { return fmt.Sprintf("failover %d-%d", c, i) }
	load := startMTALoad(g, rcpt, clients, perClient, 150, 200*time.Millisecond, func(c, i int) string {
		return plainMail("alice@example.com", rcpt, fmt.Sprintf("fo-%d-%d@client.example.com", c, i), text(c, i))
	})
	load.waitQuarter(t)
	fault(t, s)
	killed := time.Now()
	load.wait(t)
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()
	g.waitFor("the sentinels to name a new master", func() bool {
		addr, err := s.CurrentMaster(ctx)
		return err == nil && addr != s.MasterAddr
	})
	t.Logf("accepted %d mails, %d refusals retried; the fault ended %s before the last",
		load.accepted.Load(), load.refusals.Load(), time.Since(killed).Round(time.Millisecond))
	// Every mail answered 250 has its record on the new master ...
	msgs, err := g.store.ListMessages(ctx, g.sub.ID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, m := range msgs {
		have[m.MailID] = true
	}
	var lost []string
	for c := range clients {
		for i := range perClient {
			if id := fmt.Sprintf("fo-%d-%d@client.example.com", c, i); !have[id] {
				lost = append(lost, id)
			}
		}
	}
	if len(lost) > 0 || int(load.accepted.Load()) != clients*perClient {
		t.Fatalf("%d of %d accepted mails are not on the new master (%d records): %v", len(lost), load.accepted.Load(), len(msgs), lost)
	}
	// ... and reaches the carrier.
	g.waitFor("every mail at the SMSC", func() bool {
		got := map[string]bool{}
		for _, m := range g.sim.Messages() {
			got[m.Text] = true
		}
		for c := range clients {
			for i := range perClient {
				if !got[text(c, i)] {
					return false
				}
			}
		}
		return true
	})
	dup := 0
	seen := map[string]int{}
	for _, m := range g.sim.Messages() {
		if strings.HasPrefix(m.Text, "failover ") {
			seen[m.Text]++
			if seen[m.Text] == 2 {
				dup++
			}
		}
	}
	t.Logf("%d of %d texts reached the SMSC more than once (a submit recorded on the old master only is sent again)", dup, clients*perClient)
}
