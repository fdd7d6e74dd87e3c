// Package storetest holds the helpers that the store packages' tests share:
// A store over a fresh redis-server (internal/redistest), accounts, trees,
// messages and ledger checks. Test code only.
package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
)

// AcctEachShards runs f against a fresh store with 1 and with 4 shards.
func AcctEachShards(t *testing.T, f func(t *testing.T, s *redisstore.Store)) {
	t.Helper()
	for _, n := range []int{1, 4} {
		t.Run(fmt.Sprintf("shards=%d", n), func(t *testing.T) {
			f(t, New(t, redisstore.Options{Shards: n}))
		})
	}
}

// AcctTestCtx bounds every test's Redis calls.
func AcctTestCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func AcctMustCreate(t *testing.T, s *redisstore.Store, a accounts.Account) *accounts.Account {
	t.Helper()
	got, err := s.CreateAccount(AcctTestCtx(t), a)
	if err != nil {
		t.Fatalf("CreateAccount(%+v): %v", a, err)
	}
	return got
}

func AcctNames(as []*accounts.Account) string {
	var n []string
	for _, a := range as {
		n = append(n, a.Name)
	}
	return strings.Join(n, ",")
}
