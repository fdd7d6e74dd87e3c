package phone

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// validInRegion reports whether nsn, a national significant number (with
// any leading zeros it has), is a valid number of region by the compiled
// plan; false for a region it does not know. Parse validates through
// validForCode; the tests hold the plan to the library region by region.
func validInRegion(region, nsn string) bool {
	v := validatorFor(region)
	return v != nil && v.valid(nsn)
}

// TestValidInRegionMatchesLibrary: the compiled plan gives the answer
// phonenumbers.IsValidNumberForRegion gives, for numbers of every length
// a plan allows and around it, valid and not, with and without leading
// zeros, in regions whose plans differ (Italy's leading zero, the NANP's
// shared fixed and mobile patterns, several regions of one calling code).
func TestValidInRegionMatchesLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	regions := []string{"AU", "GB", "JE", "US", "CA", "DE", "FR", "IT", "IN", "NZ", "SG", "BR", "ZA", "JP", "CC"}
	valid := 0
	for _, region := range regions {
		code := int32(phonenumbers.GetCountryCodeForRegion(region))
		for _, nsn := range planSamples(rng, region, 3000, 4) {
			national, err := strconv.ParseUint(nsn, 10, 64)
			if err != nil || national == 0 {
				continue
			}
			n := &phonenumbers.PhoneNumber{CountryCode: &code, NationalNumber: &national}
			if zeros := int32(len(nsn) - len(strings.TrimLeft(nsn, "0"))); zeros > 0 {
				italian := true
				n.ItalianLeadingZero, n.NumberOfLeadingZeros = &italian, &zeros
			}
			want := phonenumbers.IsValidNumberForRegion(n, region)
			if got := validInRegion(region, nsn); got != want {
				t.Fatalf("%s %s: valid %v, phonenumbers says %v", region, nsn, got, want)
			}
			if want {
				valid++
			}
		}
	}
	if valid < 100 {
		t.Fatalf("only %d valid numbers among the samples: the comparison says little", valid)
	}
	if validInRegion("XX", "412345678") {
		t.Fatal("a region the metadata does not have: valid")
	}
}

// BenchmarkValidInRegion is the check of an Australian mobile number, the
// fast path of RCPT TO.
func BenchmarkValidInRegion(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if !validInRegion("AU", "412345678") {
			b.Fatal("invalid")
		}
	}
}

// TestOwnCallingCodeMatchesLibrary: where ownCallingCode reads digits that
// begin with the region's own calling code (no '+'), phonenumbers.Parse of
// the same digits in that region gives the same valid number; over every
// region's example numbers of each type and random digits after the code,
// in every region. It must answer for most of the examples (the fast path
// is used), and never where the library reads the digits otherwise.
func TestOwnCallingCodeMatchesLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	answered, tried := 0, 0
	for region := range countries {
		code := phonenumbers.GetCountryCodeForRegion(region)
		if code == 0 {
			continue
		}
		cc := strconv.Itoa(code)
		rests := planSamples(rng, region, 200, 5)
		for _, nsn := range planSamples(rng, region, 0, 0) { // after a trunk 0 too
			rests = append(rests, "0"+nsn)
		}
		for _, rest := range rests {
			digits := cc + rest
			tried++
			n, ok := ownCallingCode(region, cc, digits)
			if !ok {
				continue
			}
			answered++
			lib, err := phonenumbers.Parse(digits, region)
			if err != nil || !phonenumbers.IsValidNumber(lib) {
				t.Errorf("%s in %s: read as %s, the library finds no valid number (%v)", digits, region,
					phonenumbers.Format(n, phonenumbers.E164), err)
				continue
			}
			if got, want := phonenumbers.Format(n, phonenumbers.E164), phonenumbers.Format(lib, phonenumbers.E164); got != want {
				t.Errorf("%s in %s: read as %s, the library reads %s", digits, region, got, want)
			}
		}
	}
	t.Logf("answered %d of %d", answered, tried)
	if answered < 300 {
		t.Errorf("answered only %d of %d: the fast path is hardly used", answered, tried)
	}
}

// TestValidForCodeMatchesLibrary: validForCode gives
// phonenumbers.IsValidNumber's answer for numbers of calling codes that
// several regions share (the NANP's +1, +44 with the Crown dependencies,
// +61, +7, +262, +590, +599), their example numbers and random digits.
func TestValidForCodeMatchesLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	valid := 0
	for _, cc := range []int{1, 44, 61, 7, 262, 590, 599, 47, 39} {
		var samples []string
		for i, region := range phonenumbers.GetRegionCodesForCountryCode(cc) {
			random := 0
			if i == 0 {
				random = 3000
			}
			samples = append(samples, planSamples(rng, region, random, 5)...)
		}
		for _, nsn := range samples {
			n, err := phonenumbers.Parse("+"+strconv.Itoa(cc)+nsn, "ZZ")
			if err != nil || phonenumbers.GetNationalSignificantNumber(n) != nsn {
				continue // not read as these digits: nothing to compare
			}
			want := phonenumbers.IsValidNumber(n)
			if got := validForCode(cc, nsn); got != want {
				t.Errorf("+%d %s: validForCode %v, IsValidNumber %v (region %s)", cc, nsn, got, want, phonenumbers.GetRegionCodeForNumber(n))
			}
			if want {
				valid++
			}
		}
	}
	if valid < 100 {
		t.Errorf("only %d valid numbers compared", valid)
	}
}

// planSamples returns national numbers to compare with the library: the
// example numbers of region's types, each also a digit short and a digit
// long, then n random strings of digits (a tenth with a leading zero, from
// minLen digits on).
func planSamples(rng *rand.Rand, region string, n, minLen int) []string {
	var out []string
	for _, typ := range []phonenumbers.PhoneNumberType{phonenumbers.MOBILE, phonenumbers.FIXED_LINE,
		phonenumbers.TOLL_FREE, phonenumbers.PREMIUM_RATE, phonenumbers.VOIP} {
		if ex := phonenumbers.GetExampleNumberForType(region, typ); ex != nil {
			nsn := phonenumbers.GetNationalSignificantNumber(ex)
			out = append(out, nsn, nsn[:len(nsn)-1], nsn+"0")
		}
	}
	for range n {
		var b strings.Builder
		if rng.IntN(10) == 0 {
			b.WriteByte('0')
		}
		for range minLen + rng.IntN(10) {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		out = append(out, b.String())
	}
	return out
}
