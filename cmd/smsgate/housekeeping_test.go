package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/smpp/smsctest"
	"github.com/smsgate/smsgate/webhook"
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

// TestHousekeepingStatsAndWebhookLogs (issue 12, item 6): the sweep deletes
// statistics days past retention.statistics and webhook attempts past
// retention.webhook_log, counting both; today's statistics and a young
// attempt stay.
func TestHousekeepingStatsAndWebhookLogs(t *testing.T) {
	g := startGateway(t, func(c *config.Config, _ *smsctest.Options) {
		c.Retention.ReceiptIndex = config.Duration(24 * time.Hour)
		c.Retention.Statistics = config.Duration(2 * 24 * time.Hour)
		c.Retention.WebhookLog = config.Duration(24 * time.Hour)
		c.Retention.Every = config.Duration(100 * time.Millisecond)
	})
	ctx := t.Context()
	shard, _ := g.store.ShardFromID(g.sub.ID)
	today := accounts.StatsDay(time.Now())
	old, fresh := g.store.Keys.Stats(shard, g.sub.ID, today-5), g.store.Keys.Stats(shard, g.sub.ID, today)
	for _, k := range []string{old, fresh} {
		if err := g.rdb.HSet(ctx, k, "m:alice@example.com", 3).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// The sweeps since the start have passed those days already (a day
	// is swept once: nothing counts into a past day afterwards); start
	// over, as a deployment that never swept. A sweep under way when the
	// mark is deleted writes it again when it ends (having passed the old
	// day before it was written), so the wait below deletes it until the
	// day is gone.
	startOver := func() {
		if err := g.rdb.Del(ctx, g.store.Keys.StatsSwept()).Err(); err != nil {
			t.Fatal(err)
		}
	}
	startOver()
	hooks := webhook.New(webhook.Options{Redis: g.rdb, Shards: g.cfg.Redis.EffectiveShards()})
	w, _, err := hooks.Create(ctx, g.sub.ID, "https://hooks.example.com/sms", nil)
	if err != nil {
		t.Fatal(err)
	}
	logKey := g.store.Keys.WebhookLog(shard, w.ID)
	for _, age := range []time.Duration{72 * time.Hour, time.Hour} {
		b, _ := json.Marshal(webhook.Attempt{At: time.Now().Add(-age), DeliveryID: "d-" + age.String(), EventType: webhook.TypeMessageStatus, Attempt: 1, Result: "delivered"})
		if err := g.rdb.LPush(ctx, logKey, b).Err(); err != nil {
			t.Fatal(err)
		}
	}
	g.waitFor("the old statistics day and attempt swept", func() bool {
		if g.rdb.Exists(ctx, old).Val() == 1 {
			startOver()
			return false
		}
		return g.rdb.LLen(ctx, logKey).Val() == 1
	})
	if g.rdb.Exists(ctx, fresh).Val() != 1 {
		t.Fatal("today's statistics were swept")
	}
	if got, err := hooks.Deliveries(ctx, g.sub.ID, w.ID, 0); err != nil || len(got) != 1 || got[0].DeliveryID != "d-1h0m0s" {
		t.Fatalf("the log left: %+v, %v", got, err)
	}
	g.waitFor("both counted", func() bool {
		return g.metric(`smsgate_daemon_expired_total{kind="statistics"}`) == `smsgate_daemon_expired_total{kind="statistics"} 1` &&
			g.metric(`smsgate_daemon_expired_total{kind="webhook_attempt"}`) == `smsgate_daemon_expired_total{kind="webhook_attempt"} 1`
	})
}
