package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/storetest"
	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/internal/redistest"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// TestClusterReshardUnderLoad (issue 12, item 1): the hash slot holding the
// sending account's shard (its account, ledger, message log, queue) moves to
// another master while mail streams in, a few keys at a time, so that
// commands meet it half-moved (ASK, TRYAGAIN). Mail deferred meanwhile is
// sent again by its client; every mail is sent once, every receipt is
// recorded, and the ledger still sums to the balance.
func TestClusterReshardUnderLoad(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	g := startGateway(t, func(cfg *config.Config, _ *smsctest.Options) { cfg.Redis.Cluster.Addrs = c.Addrs })
	ctx := t.Context()
	if _, _, err := g.store.Transfer(ctx, g.parent.ID, g.sub.ID, 900, "test", "operator"); err != nil {
		t.Fatal(err)
	}
	shard, _ := g.store.ShardFromID(g.sub.ID)
	acctKey := g.store.Keys.Account(shard, g.sub.ID)
	from := c.MasterOf(t, acctKey)
	to := (from + 1) % len(c.Servers)
	slot, err := g.rdb.ClusterKeySlot(ctx, acctKey).Result()
	if err != nil {
		t.Fatal(err)
	}

	const clients, perClient = 2, 40
	rcpt := "0412345678@" + smsDomain
	load := startMTALoad(g, rcpt, clients, perClient, 100, 50*time.Millisecond, func(cl, i int) string {
		return fmt.Sprintf("From: alice@example.com\r\nTo: %s\r\nMessage-ID: <r%d.%d@example.com>\r\nSubject: x\r\n\r\nmail %d of client %d\r\n",
			rcpt, cl, i, i, cl)
	})
	load.waitQuarter(t)
	c.MoveSlot(t, int(slot), from, to, 3, 30*time.Millisecond)
	load.wait(t)
	nFrom := c.Servers[from].Client(t).ClusterCountKeysInSlot(ctx, int(slot)).Val()
	nTo := c.Servers[to].Client(t).ClusterCountKeysInSlot(ctx, int(slot)).Val()
	if nFrom != 0 || nTo == 0 {
		t.Fatalf("slot %d holds %d keys on master %d and %d on master %d: not moved", slot, nFrom, from, nTo, to)
	}

	const n = clients * perClient
	g.waitSentOnce(n)
	g.waitFor("every receipt recorded", func() bool {
		msgs, err := g.store.ListMessages(ctx, g.sub.ID, 200)
		if err != nil || len(msgs) != n {
			return false
		}
		for _, m := range msgs {
			if m.Status != accounts.MsgDelivered {
				return false
			}
		}
		return true
	})
	if b := storetest.CheckLedger(t, g.store, g.sub.ID, true); b != 1000-5*n {
		t.Errorf("balance %d, want %d", b, 1000-5*n)
	}
	t.Logf("slot %d moved from master %d to %d under load: %d mails, %d refusals retried", slot, from, to, n, load.refusals.Load())
}
