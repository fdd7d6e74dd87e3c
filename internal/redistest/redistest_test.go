package redistest

import (
	"strings"
	"testing"
)

func TestStart(t *testing.T) {
	c := Start(t)
	if err := c.Set(t.Context(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v := c.Get(t.Context(), "k").Val(); v != "v" {
		t.Fatalf("got %q", v)
	}
}

func TestStartCluster(t *testing.T) {
	c := StartCluster(t, 3)
	cc := c.Client(t)
	ctx := t.Context()
	// Keys of three hash tags land on three different masters, and a
	// multi-key command across them is refused, as on any cluster.
	seen := map[string]bool{}
	for _, tag := range []string{"{s0}", "{s1}", "{s2}", "{s3}", "{s4}", "{s5}"} {
		if err := cc.Set(ctx, tag+":k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		n, err := cc.MasterForKey(ctx, tag+":k")
		if err != nil {
			t.Fatal(err)
		}
		seen[n.Options().Addr] = true
	}
	if len(seen) < 2 {
		t.Errorf("six tags all on one master: %v", seen)
	}
	err := cc.Do(ctx, "mget", "{s0}:k", "{s1}:k").Err()
	if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Errorf("MGET across slots: %v, want CROSSSLOT", err)
	}
}
