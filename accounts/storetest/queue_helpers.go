package storetest

import (
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
)

// QueueTestRead reads exactly n entries as consumer, within a bounded time.
func QueueTestRead(t *testing.T, s *redisstore.Store, consumer string, n int) []accounts.Entry {
	t.Helper()
	var out []accounts.Entry
	deadline := time.After(5 * time.Second)
	for len(out) < n {
		es, err := s.Read(t.Context(), consumer, n-len(out), 50*time.Millisecond)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		out = append(out, es...)
		select {
		case <-deadline:
			t.Fatalf("read %d entries, want %d", len(out), n)
		default:
		}
	}
	return out
}
