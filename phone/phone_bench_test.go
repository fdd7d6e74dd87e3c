package phone

import "testing"

// BenchmarkNormalize measures the hot path of RCPT TO: one national and one
// international number.
func BenchmarkNormalize(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Normalize("0412 345 678", "AU"); err != nil {
			b.Fatal(err)
		}
		if _, err := Normalize("+44 7911 123456", "AU"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNormalizeForeignDigits is the worst valid case: digits that are
// not a national number of the default country are read twice.
func BenchmarkNormalizeForeignDigits(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Normalize("447911123456", "AU"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNormalizeOwnCode: the number with the default country's own
// calling code and no '+' ("61412345678" in AU), the form of an SMS
// address (61412345678@sms.example.com).
func BenchmarkNormalizeOwnCode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Normalize("61412345678", "AU"); err != nil {
			b.Fatal(err)
		}
	}
}
