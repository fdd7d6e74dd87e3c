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
		{"international network", "+882 1234 5678", "", "88212345678"},
		{"tabs and nbsp", "\t0412\u00a0345 678 ", "AU", "61412345678"},
		{"shortest", "+290 12345", "", "29012345"},
		{"longest", "+49 1234 5678 90123", "", "491234567890123"},
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
		{"too short", "0412", "AU", "number too short (5 digits)"},
		{"too short plus", "+61 41", "", "number too short (4 digits)"},
		{"too long", "+61 4123 4567 8901 234", "", "number too long (17 digits, E.164 allows 15)"},
		{"too long national", "0412 345 678 901 234", "AU", "number too long (17 digits, E.164 allows 15)"},
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
