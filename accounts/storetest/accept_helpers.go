package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
)

// AcceptTestStore returns a store over a fresh redis-server.
func AcceptTestStore(t testing.TB, shards int) *redisstore.Store {
	t.Helper()
	return New(t, redisstore.Options{Shards: shards})
}

// AcceptTestAccount creates an active root account holding balance.
func AcceptTestAccount(t testing.TB, s *redisstore.Store, balance int64) *accounts.Account {
	t.Helper()
	a, err := s.CreateAccount(context.Background(), accounts.Account{Name: "acme", Currency: "AUD", PricePerPart: 5})
	if err != nil {
		t.Fatalf("create account: %v", err)
	}
	if balance > 0 {
		if _, err := s.Credit(context.Background(), a.ID, balance, "test", "test"); err != nil {
			t.Fatalf("credit: %v", err)
		}
	}
	return a
}

// AcceptTestMsg returns a message to accept.
func AcceptTestMsg(to string, parts int, price int64) *accounts.Message {
	return &accounts.Message{To: to, Text: "hello " + to, Parts: parts, Price: price,
		Sender: "jo@acme.example", MailID: "<m1@acme.example>", Source: "61400000000"}
}

// AcceptTestBalance returns an account's balance and checks that its ledger
// sums to it.
func AcceptTestBalance(t testing.TB, s *redisstore.Store, id string) int64 {
	t.Helper()
	ctx := context.Background()
	a, err := s.GetAccount(ctx, id)
	if err != nil {
		t.Fatalf("get account: %v", err)
	}
	ledger, err := s.Ledger(ctx, id, 0)
	if err != nil {
		t.Fatalf("ledger: %v", err)
	}
	var sum int64
	for _, e := range ledger {
		sum += e.Amount
	}
	if sum != a.Balance {
		t.Fatalf("ledger sums to %d, balance is %d", sum, a.Balance)
	}
	if a.Balance < 0 {
		t.Fatalf("negative balance %d", a.Balance)
	}
	return a.Balance
}

// AcceptTestLen returns the messages a queue stream holds (an entry of one
// message, field m, counts one; a grouped entry, field g, its members) or
// the length of a zset.
func AcceptTestLen(t testing.TB, s *redisstore.Store, key string, stream bool) int64 {
	t.Helper()
	ctx := context.Background()
	if !stream {
		return s.RDB.ZCard(ctx, key).Val()
	}
	xs, err := s.RDB.XRange(ctx, key, "-", "+").Result()
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	n := int64(0)
	for _, x := range xs {
		if g, ok := x.Values["g"].(string); ok {
			n += int64(strings.Count(g, ",") + 1)
		} else if _, ok := x.Values["m"]; ok {
			n++
		} else {
			t.Fatalf("queue entry %s holds %v: neither m nor g", x.ID, x.Values)
		}
	}
	return n
}

// AcceptTestTree creates a root (AUD, balance rootBal) and a sub-account
// configured by sub, with balance subBal moved from the root.
func AcceptTestTree(t *testing.T, s *redisstore.Store, rootBal, subBal int64, sub accounts.Account) (root, child *accounts.Account) {
	t.Helper()
	ctx := t.Context()
	root = AcceptTestAccount(t, s, rootBal+subBal)
	sub.Name, sub.ParentID = "sub", root.ID
	child, err := s.CreateAccount(ctx, sub)
	if err != nil {
		t.Fatalf("create sub: %v", err)
	}
	if subBal > 0 {
		if _, _, err := s.Transfer(ctx, root.ID, child.ID, subBal, "seed", "test"); err != nil {
			t.Fatalf("fund sub: %v", err)
		}
	}
	return root, child
}

// LoggedMessages returns how many message ids account acct's message log
// (a stream whose entries each hold one or more, comma-separated) holds.
func LoggedMessages(t testing.TB, s *redisstore.Store, shard int, acct string) int64 {
	t.Helper()
	xs, err := s.RDB.XRange(context.Background(), s.Keys.MessageStream(shard, acct), "-", "+").Result()
	if err != nil {
		t.Fatalf("read the message log: %v", err)
	}
	var n int64
	for _, x := range xs {
		if v, _ := x.Values["i"].(string); v != "" {
			n += int64(strings.Count(v, ",") + 1)
		}
	}
	return n
}
