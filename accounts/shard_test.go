package accounts

import (
	"errors"
	"testing"
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
			got, err := ShardOf(c.id)
			if c.ok && (err != nil || got != c.want) {
				t.Fatalf("ShardOf(%q) = %d, %v; want %d", c.id, got, err, c.want)
			}
			if !c.ok && !errors.Is(err, ErrNotFound) {
				t.Fatalf("ShardOf(%q) = %d, %v; want ErrNotFound", c.id, got, err)
			}
		})
	}
	// It agrees with the store's own parser.
	s := NewStore(nil, StoreOptions{Shards: 16})
	for shard := range 16 {
		id := newShardedID("a", shard)
		a, errA := ShardOf(id)
		b, errB := s.shardFromID(id)
		if a != b || errA != nil || errB != nil {
			t.Fatalf("%s: ShardOf %d %v, shardFromID %d %v", id, a, errA, b, errB)
		}
	}
	if ShardTag(3) != "{s3}" || ShardTag(3) != s.tag(3) {
		t.Fatalf("ShardTag(3) = %q", ShardTag(3))
	}
}
