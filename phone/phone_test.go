package phone

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, raw, country, want string
	}{
		{"au national mobile", "0412 345 678", "AU", "61412345678"},
		{"au national with dashes", "0412-345-678", "au", "61412345678"},
		{"au plus", "+61 412 345 678", "AU", "61412345678"},
		{"au plus ignores default country", "+61412345678", "", "61412345678"},
		{"au digits with calling code", "61412345678", "AU", "61412345678"},
		{"au without trunk", "412345678", "AU", "61412345678"},
		{"au idd 0011", "0011 44 7911 123456", "AU", "447911123456"},
		{"au universal 00", "0061412345678", "AU", "61412345678"},
		{"au landline parentheses", "(02) 9876 5432", "AU", "61298765432"},
		{"uk plus (0)", "+44 (0)20 7946 0958", "GB", "442079460958"},
		{"uk national", "07911 123456", "GB", "447911123456"},
		{"us ten digits", "(415) 555-0100", "US", "14155550100"},
		{"us trunk 1", "1-415-555-0100", "US", "14155550100"},
		{"us dots", "415.555.0100", "us", "14155550100"},
		{"us idd 011", "011 61 412 345 678", "US", "61412345678"},
		{"canada nanp", "604 555 0100", "CA", "16045550100"},
		{"ru trunk 8", "8 916 123-45-67", "RU", "79161234567"},
		{"ru with calling code", "79161234567", "RU", "79161234567"},
		{"ru idd 810", "810 49 151 12345678", "RU", "4915112345678"},
		{"it no trunk mobile", "312 345 6789", "IT", "393123456789"},
		{"it mobile beginning with 39", "391 234 5678", "IT", "393912345678"},
		{"it international", "393912345678", "IT", "393912345678"},
		{"it landline keeps 0", "06 1234 5678", "IT", "390612345678"},
		{"es no trunk", "612 345 678", "ES", "34612345678"},
		{"de national", "0151 12345678", "DE", "4915112345678"},
		{"hu trunk 06", "06 30 123 4567", "HU", "36301234567"},
		{"nz", "021 123 4567", "NZ", "64211234567"},
		{"jp idd 010", "010 1 415 555 0100", "JP", "14155550100"},
		{"international network", "+870 301 234 567", "", "870301234567"},
		{"tabs and nbsp", "\t0412\u00a0345 678 ", "AU", "61412345678"},
		{"shortest", "+290 51234", "", "29051234"},
		{"long", "+49 1512 3456789", "", "4915123456789"},
		// Issue 9: the forms people and carriers write.
		{"au trunk 0 after calling code", "+61 0412 345 678", "", "61412345678"},
		{"au trunk 0 after calling code no plus", "610412345678", "AU", "61412345678"},
		{"au trunk 0 after 00", "00 61 0412 345 678", "GB", "61412345678"},
		{"au parentheses and dashes", "(04) 1234-5678", "AU", "61412345678"},
		{"uk digits under au account", "447911123456", "AU", "447911123456"},
		{"uk plus under au account", "+44 7911 123456", "AU", "447911123456"},
		{"uk 00 under au account", "0044 7911 123456", "AU", "447911123456"},
		{"uk trunk 0 after calling code", "+44 07911 123456", "AU", "447911123456"},
		{"uk landline dashes", "020-7946-0958", "GB", "442079460958"},
		{"us digits under au account", "14155550100", "AU", "14155550100"},
		{"us plus with parentheses", "+1 (415) 555-0100", "AU", "14155550100"},
		{"nz digits under au account", "64211234567", "AU", "64211234567"},
		{"nz plus trunk 0", "+64 021 123 4567", "", "64211234567"},
		{"nz dashes", "021-123-4567", "NZ", "64211234567"},
		{"au digits under nz account", "61412345678", "NZ", "61412345678"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.raw, tt.country)
			if err != nil {
				t.Fatalf("Normalize(%q, %q): %v", tt.raw, tt.country, err)
			}
			if got != tt.want {
				t.Fatalf("Normalize(%q, %q) = %q, want %q", tt.raw, tt.country, got, tt.want)
			}
		})
	}
}

func TestNormalizeErrors(t *testing.T) {
	tests := []struct {
		name, raw, country, want string
	}{
		{"empty", "", "AU", "empty number"},
		{"only punctuation", " - ( ) ", "AU", "empty number"},
		{"letters", "0412 ABC 678", "AU", `letters are not allowed in a number: "0412 ABC 678"`},
		{"vanity", "1-800-FLOWERS", "US", "letters are not allowed"},
		{"other character", "0412#345", "AU", `unexpected character '#'`},
		{"plus in middle", "61+412345678", "AU", "unexpected character '+'"},
		{"too short", "0412", "AU", `"0412" is not a valid AU number`},
		{"too short plus", "+61 41", "", "+61 41 is too short for AU"},
		{"too long", "+61 4123 4567 8901 234", "", "number too long (17 digits, E.164 allows 15)"},
		{"too long national", "0412 345 678 901 234", "AU", "+61 412345678901234 is too long for AU"},
		// Issue 9: a UK number typed without '+' under an AU account used to
		// become +61447700900123. 07700 900xxx is Ofcom's drama range: valid
		// nowhere, so it is refused with the form to use.
		{"valid in neither", "447700900123", "AU", `"447700900123" is not a valid AU number (+61 447700900123 is not a number in use for AU) nor a valid number with a country code (+44 7700 900123 is not a number in use for GB); write it in international form: + then the country code and the number without its trunk 0, such as +61 412 345 678 (AU mobile)`},
		{"plus invalid shows its country's form", "+44 7700 900123", "AU", "such as +44 7400 123456 (GB mobile)"},
		{"us invalid area code", "+1 555 555 0100", "", "+1 555-555-0100 is not a number in use for US"},
		{"national too long under nz", "021 123 4567 890", "NZ", `not a valid NZ number`},
		{"international network unassigned", "+882 1234 5678", "", "not a valid number"},
		{"unknown calling code", "+999 123 456 789", "", `unknown country calling code in "+999 123 456 789"`},
		{"unknown calling code after 00", "00 0 123 456 789", "AU", "unknown country calling code"},
		{"unknown default country", "0412 345 678", "ZZ", `unknown default country "ZZ"`},
		{"no default country", "0412 345 678", "", `unknown default country ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.raw, tt.country)
			if err == nil {
				t.Fatalf("Normalize(%q, %q) = %q, want error containing %q", tt.raw, tt.country, got, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestCallingCode(t *testing.T) {
	tests := []struct {
		country, want string
		ok            bool
	}{
		{"AU", "61", true},
		{"au", "61", true},
		{"US", "1", true},
		{"JM", "1", true},
		{"KZ", "7", true},
		{"GB", "44", true},
		{"XK", "383", true},
		{"VA", "39", true},
		{"ZZ", "", false},
		{"", "", false},
		{"AUS", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.country, func(t *testing.T) {
			got, ok := CallingCode(tt.country)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("CallingCode(%q) = %q, %v; want %q, %v", tt.country, got, ok, tt.want, tt.ok)
			}
			if ValidCountry(tt.country) != tt.ok {
				t.Fatalf("ValidCountry(%q) = %v", tt.country, !tt.ok)
			}
		})
	}
}

// TestCountryTable checks the table's invariants: every ISO code is two
// upper-case letters, calling codes are 1-3 digits and prefix-free, and
// every country's national numbers fit E.164.
func TestCountryTable(t *testing.T) {
	if len(countries) < 249 {
		t.Errorf("table has %d countries, ISO 3166-1 has 249", len(countries))
	}
	for iso, c := range countries {
		if len(iso) != 2 || strings.ToUpper(iso) != iso {
			t.Errorf("%q: not an alpha-2 code", iso)
		}
		if len(c.cc) < 1 || len(c.cc) > 3 || strings.Trim(c.cc, "0123456789") != "" || c.cc[0] == '0' {
			t.Errorf("%s: bad calling code %q", iso, c.cc)
		}
		if len(c.cc)+c.nsnMax > maxDigits {
			t.Errorf("%s: national numbers of %d digits overflow E.164", iso, c.nsnMax)
		}
	}
	for a := range callingCodes {
		for b := range callingCodes {
			if a != b && strings.HasPrefix(a, b) {
				t.Errorf("calling code %q has %q as prefix", a, b)
			}
		}
	}
}

func TestHasCallingCode(t *testing.T) {
	tests := []struct {
		name, number string
		want         bool
	}{
		{"one digit", "14155550100", true},
		{"two digits", "61412345678", true},
		{"three digits", "3531234567", true},
		{"network", "88212345678", true},
		{"unassigned", "999123456", false},
		{"zero", "0412345678", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HasCallingCode(tt.number); got != tt.want {
				t.Fatalf("HasCallingCode(%q) = %v", tt.number, got)
			}
		})
	}
}

func TestIsDigits(t *testing.T) {
	tests := []struct {
		name, s string
		want    bool
	}{
		{"digits", "61412345678", true},
		{"one digit", "0", true},
		{"empty", "", false},
		{"plus", "+61412345678", false},
		{"space", "0412 345 678", false},
		{"letters", "Acme", false},
		{"mixed", "123abc", false},
		{"arabic-indic digit", "٣", false},
		{"fullwidth digit", "１２", false},
		{"minus", "-1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsDigits(tt.s); got != tt.want {
				t.Fatalf("IsDigits(%q) = %v, want %v", tt.s, got, tt.want)
			}
		})
	}
}

func TestParseRegionAndType(t *testing.T) {
	tests := []struct {
		raw, country, region string
		typ                  Type
	}{
		{"0412 345 678", "AU", "AU", TypeMobile},
		{"(02) 9876 5432", "AU", "AU", TypeFixedLine},
		{"+44 20 7946 0958", "", "GB", TypeFixedLine},
		{"447911123456", "AU", "GG", TypeMobile},
		{"(415) 555-0100", "US", "US", TypeFixedLineOrMobile},
		{"021 123 4567", "NZ", "NZ", TypeMobile},
		{"1800 123 456", "AU", "AU", TypeOther},
		{"+870 301 234 567", "", "", TypeMobile},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			n, err := Parse(tt.raw, tt.country)
			if err != nil {
				t.Fatal(err)
			}
			if n.Region() != tt.region || n.Type() != tt.typ {
				t.Fatalf("Parse(%q, %q) = region %q type %v; want %q %v", tt.raw, tt.country, n.Region(), n.Type(), tt.region, tt.typ)
			}
		})
	}
	if (Number{}).Type() != TypeUnknown || (Number{}).Region() != "" {
		t.Fatal("zero Number has a type")
	}
}

// TestNormalizeErrorBounded: a long input is not echoed whole into the
// error, which becomes an SMTP reply line.
func TestNormalizeErrorBounded(t *testing.T) {
	for _, raw := range []string{"0412 " + strings.Repeat(" ", 600) + "345", "0412x" + strings.Repeat("y", 600)} {
		_, err := Normalize(raw, "AU")
		if err == nil || len(err.Error()) > 400 {
			t.Fatalf("Normalize(long) error of %d bytes: %v", len(err.Error()), err)
		}
	}
}

// TestWarm: Warm builds the validators of the regions named (whatever their
// case), skips unknown ones, and parsing works the same after it.
func TestWarm(t *testing.T) {
	Warm("nz", "XX")
	if _, ok := planValidators.Load("NZ"); !ok {
		t.Error("no validator for NZ after Warm(\"nz\")")
	}
	if _, ok := planValidators.Load("XX"); ok {
		t.Error("a validator for the unknown region XX")
	}
	if got, err := Normalize("021 123 4567", "NZ"); err != nil || got != "64211234567" {
		t.Errorf("Normalize after Warm: %q, %v", got, err)
	}
}
