package store_test

import (
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts/store"
	"github.com/smsgate/smsgate/internal/redistest"
)

// TestKeyGuard runs small scripts under the key guard: declared keys pass,
// an undeclared one fails with an error naming the script, the command and
// the key, and the same scripts run unguarded are left alone.
func TestKeyGuard(t *testing.T) {
	rdb := redistest.Start(t)
	guarded := store.NewDB(rdb, store.Options{KeyGuard: true})
	plain := store.NewDB(rdb, store.Options{})
	cases := []struct {
		name, src string
		keys      []string
		bad       string // "" when the guard lets the script run
	}{
		{"declared", "redis.call('SET', KEYS[1], 1) return redis.call('HSET', KEYS[2], 'f', 'v')",
			[]string{"k1", "k2"}, ""},
		{"undeclared", "redis.call('SET', KEYS[1], 1) return redis.call('SET', 'other', 1)",
			[]string{"k1"}, "SET touches other, which is not in KEYS"},
		{"built from a declared key", "return redis.call('HGET', KEYS[1] .. ':x', 'f')",
			[]string{"k1"}, "HGET touches k1:x"},
		{"pcall", "return redis.pcall('GET', 'other')", nil, "GET touches other"},
		{"lower case", "return redis.call('get', 'other')", nil, "GET touches other"},
		{"every key of DEL", "return redis.call('DEL', KEYS[1], 'other')", []string{"k1"}, "DEL touches other"},
		{"every key of EXISTS", "return redis.call('EXISTS', KEYS[1], KEYS[2])", []string{"k1", "k2"}, ""},
		{"only the first of HSET", "return redis.call('HSET', KEYS[1], 'not-a-key', 'v')", []string{"k1"}, ""},
		{"command without key positions", "return redis.call('KEYS', '*')", nil, "command KEYS has no key positions"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc := store.NewScript("test/"+strings.ReplaceAll(c.name, " ", "_")+".lua", c.src)
			err := guarded.Run(t.Context(), sc, c.keys).Err()
			if c.bad == "" {
				if err != nil && err.Error() != "redis: nil" {
					t.Fatalf("guarded: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), "key guard: "+sc.Name()+": ") ||
				!strings.Contains(err.Error(), c.bad) {
				t.Fatalf("guarded: err = %v, want the guard's %q", err, c.bad)
			}
			if c.name == "command without key positions" {
				return
			}
			if err := plain.Run(t.Context(), sc, c.keys).Err(); err != nil && err.Error() != "redis: nil" {
				t.Fatalf("unguarded: %v", err)
			}
		})
	}
}
