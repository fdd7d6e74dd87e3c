package store_test

import (
	"errors"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/store"
)

func TestShardOf(t *testing.T) {
	cases := []struct {
		name string
		id   string
		want int
		ok   bool
	}{
		{"shard 0", "a0-3k9v8x", 0, true},
		{"shard 12", "m12-xyz", 12, true},
		{"no dash", "a0", 0, false},
		{"no number", "a-xyz", 0, false},
		{"sign", "a+1-xyz", 0, false},
		{"negative", "a-1-xyz", 0, false},
		{"letters", "ab-xyz", 0, false},
		{"empty", "", 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := accounts.ShardOf(c.id)
			if c.ok && (err != nil || got != c.want) {
				t.Fatalf("ShardOf(%q) = %d, %v; want %d", c.id, got, err, c.want)
			}
			if !c.ok && !errors.Is(err, accounts.ErrNotFound) {
				t.Fatalf("ShardOf(%q) = %d, %v; want ErrNotFound", c.id, got, err)
			}
		})
	}
	// It agrees with the store's own parser.
	s := redisstore.New(nil, redisstore.Options{Shards: 16})
	for shard := range 16 {
		id := store.NewShardedID("a", shard)
		a, errA := accounts.ShardOf(id)
		b, errB := s.ShardFromID(id)
		if a != b || errA != nil || errB != nil {
			t.Fatalf("%s: ShardOf %d %v, shardFromID %d %v", id, a, errA, b, errB)
		}
	}
	if accounts.ShardTag(3) != "{s3}" || accounts.ShardTag(3) != s.Tag(3) {
		t.Fatalf("ShardTag(3) = %q", accounts.ShardTag(3))
	}
}
