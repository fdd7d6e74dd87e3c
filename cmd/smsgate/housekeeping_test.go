package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// TestHousekeepingOnce (issue 12, item 6): with two instances, the first
// takes the housekeeping lease and removes messages past
// retention.messages (record and log entry); the second, started after,
// does not hold the lease and counts nothing. (That the lease passes on
// when its holder ends is TestLease, in accounts/store.)
func TestHousekeepingOnce(t *testing.T) {
	g := startGateway(t, func(c *config.Config, _ *smsctest.Options) {
		c.Retention.Messages = config.Duration(2 * time.Second)
		c.Retention.Ledger = config.Duration(2 * time.Second)
		c.Retention.Every = config.Duration(100 * time.Millisecond)
	})
	peer := g.startPeer(g.cfg.Redis.Addr) // default retention: 90 days, every 10 minutes
	rcpt := "0412345678@" + smsDomain
	if err := g.sendMail("alice@example.com", []string{rcpt}, plainMail("alice@example.com", rcpt, "hk-1@x", "soon gone")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()
	if _, err := g.sim.WaitMessages(ctx, 1); err != nil {
		t.Fatal(err)
	}
	msgs, err := g.store.ListMessages(ctx, g.sub.ID, 10)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("messages %v %v", msgs, err)
	}
	id := msgs[0].ID
	g.waitFor("the message expired", func() bool {
		_, err := g.store.GetMessage(ctx, id)
		msgs, _ := g.store.ListMessages(ctx, g.sub.ID, 10)
		return err != nil && len(msgs) == 0
	})
	if _, err := g.store.GetMessage(ctx, id); err == nil || !strings.Contains(err.Error(), accounts.ErrNotFound.Error()) {
		t.Errorf("expired message: %v, want not found", err)
	}
	// Counted once the sweep's script has returned (the test can see the
	// keys gone a moment before).
	g.waitFor("the lease holder to count it", func() bool {
		return g.metric(`smsgate_daemon_expired_total{kind="message"}`) == `smsgate_daemon_expired_total{kind="message"} 1`
	})
	if m := peer.metric(`smsgate_daemon_expired_total{kind="message"}`); m != `smsgate_daemon_expired_total{kind="message"} 0` {
		t.Errorf("the other instance's count: %q", m)
	}
	// The ledger: the top-up and the send folded into the opening balance,
	// which still equals the balance.
	g.waitFor("the ledger compacted", func() bool {
		l, err := g.store.Ledger(ctx, g.sub.ID, 0)
		return err == nil && len(l) == 1 && l[0].Kind == "opening"
	})
	if l, _ := g.store.Ledger(ctx, g.sub.ID, 0); l[0].Balance != 95 || l[0].Amount != 95 || l[0].Actor != "retention" || g.balance(g.sub.ID) != 95 {
		t.Errorf("opening entry %+v, balance %d; want 95 both", l[0], g.balance(g.sub.ID))
	}
	if holder := g.rdb.Get(ctx, g.store.Keys.Lease("housekeeping")).Val(); holder == "" {
		t.Error("no instance holds the housekeeping lease")
	}
}
