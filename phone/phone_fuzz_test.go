package phone

import (
	"errors"
	"github.com/nyaruka/phonenumbers"
	"testing"
)

func FuzzNormalize(f *testing.F) {
	f.Add("0412 345 678", "AU")
	f.Add("+61 412 345 678", "")
	f.Add("+44 (0)20 7946 0958", "GB")
	f.Add("011 61 412 345 678", "US")
	f.Add("8 916 123-45-67", "ru")
	f.Add("0011", "AU")
	f.Add("1-800-FLOWERS", "US")
	f.Add("+", "")
	f.Add("(((", "IT")
	f.Add("٠٤١٢", "AU")
	f.Fuzz(func(t *testing.T, raw, country string) {
		got, err := Normalize(raw, country)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if len(got) < minDigits || len(got) > maxDigits {
			t.Fatalf("Normalize(%q, %q) = %q: %d digits", raw, country, got, len(got))
		}
		if !IsDigits(got) {
			t.Fatalf("Normalize(%q, %q) = %q: not all digits", raw, country, got)
		}
		if !HasCallingCode(got) {
			t.Fatalf("Normalize(%q, %q) = %q: no calling code", raw, country, got)
		}
		// The E.164 form is the library's (the fast paths build it by hand).
		if n, err := Parse(raw, country); err != nil || n.parsed == nil ||
			"+"+got != phonenumbers.Format(n.parsed, phonenumbers.E164) {
			t.Fatalf("Normalize(%q, %q) = %q, the library formats %v as %q (%v)", raw, country, got, n.parsed,
				phonenumbers.Format(n.parsed, phonenumbers.E164), err)
		}
		// Normalised output is a fixed point when read back as international.
		if again, err := Normalize("+"+got, ""); err != nil || again != got {
			t.Fatalf("Normalize(+%q) = %q, %v", got, again, err)
		}
	})
}
