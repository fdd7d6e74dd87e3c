package redistest

import "testing"

func TestStart(t *testing.T) {
	c := Start(t)
	if err := c.Set(t.Context(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v := c.Get(t.Context(), "k").Val(); v != "v" {
		t.Fatalf("got %q", v)
	}
}
