package accounts

import (
	"testing"
)

func FuzzRegNormalizeAddress(f *testing.F) {
	for _, s := range []string{"a@b.example", "A@B.EXAMPLE", "x <a@b.example>", "\"q u\"@b.example", "@", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		a, err := NormalizeAddress(in)
		if err != nil {
			return
		}
		again, err := NormalizeAddress(a)
		if err != nil || again != a {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, a, again, err)
		}
	})
}

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
