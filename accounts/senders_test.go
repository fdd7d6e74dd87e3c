package accounts

import (
	"testing"
)

func TestSplitPlus(t *testing.T) {
	for _, c := range []struct{ in, base, tag string }{
		{"alice+ACME@example.com", "alice@example.com", "ACME"},
		{"alice@example.com", "alice@example.com", ""},
		{"alice+a+b@example.com", "alice@example.com", "a+b"},
		{"+x@example.com", "+x@example.com", ""},
		{"no-at", "no-at", ""},
		{"alice+@example.com", "alice@example.com", ""},
	} {
		if base, tag := SplitPlus(c.in); base != c.base || tag != c.tag {
			t.Errorf("SplitPlus(%q) = %q, %q; want %q, %q", c.in, base, tag, c.base, c.tag)
		}
	}
}
