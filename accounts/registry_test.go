package accounts

import (
	"testing"
)

func FuzzRegNormalizeAddress(f *testing.F) {
	for _, s := range []string{"a@b.example", "A@B.EXAMPLE", "x <a@b.example>", "\"q u\"@b.example", "@", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		a, err := RegNormalizeAddress(in)
		if err != nil {
			return
		}
		again, err := RegNormalizeAddress(a)
		if err != nil || again != a {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, a, again, err)
		}
	})
}
