// Package phone normalises phone numbers typed by people (in an email
// address's local part, a form or an API call) to E.164 digits without the
// leading '+', the form used everywhere else in smsgate ("61412345678").
//
// Contract: Normalize either returns 8 to 15 ASCII digits whose leading 1-3
// digits are an assigned ITU-T calling code and which the numbering plan data
// of github.com/nyaruka/phonenumbers (Google's libphonenumber) says is a
// valid number, or an error wrapping ErrInvalid whose text says what is
// wrong and shows the international form to use, fit to show to the person
// who typed it. The package holds only constant tables and is safe for
// concurrent use.
package phone

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// ErrInvalid is wrapped by every error Normalize returns.
var ErrInvalid = errors.New("invalid phone number")

// E.164 bounds: a number is at most 15 digits (ITU-T E.164 §6.1). The
// shortest numbers in service are 8 digits with their calling code (for
// example +290 for Saint Helena with 5-digit national numbers).
const (
	maxDigits = 15
	minDigits = 8
)

// universalIDD is the ITU-T E.164 recommended international prefix.
const universalIDD = "00"

// callingCodes is the set of assigned calling codes, derived once from the
// constant tables in countries.go and never written afterwards.
var callingCodes = func() map[string]bool {
	m := make(map[string]bool, len(countries)+len(nonGeographic))
	for _, c := range countries {
		m[c.cc] = true
	}
	for _, cc := range nonGeographic {
		m[cc] = true
	}
	return m
}()

// CallingCode returns the E.164 calling code of an ISO 3166-1 alpha-2
// country code (case-insensitive), e.g. "AU" -> "61".
func CallingCode(country string) (string, bool) {
	c, ok := countries[strings.ToUpper(country)]
	return c.cc, ok
}

// ValidCountry reports whether country is an ISO 3166-1 alpha-2 code
// (case-insensitive) that this package can dial.
func ValidCountry(country string) bool {
	_, ok := countries[strings.ToUpper(country)]
	return ok
}

// HasCallingCode reports whether the E.164 digits in number begin with an
// assigned calling code. Calling codes form a prefix code, so at most one of
// the 1, 2 and 3 digit prefixes can match.
func HasCallingCode(number string) bool {
	_, ok := splitCallingCode(number)
	return ok
}

func splitCallingCode(number string) (string, bool) {
	for n := 1; n <= 3 && n <= len(number); n++ {
		if callingCodes[number[:n]] {
			return number[:n], true
		}
	}
	return "", false
}

// IsDigits reports whether s is non-empty and made only of the ASCII digits
// 0-9: no sign, space, punctuation or other Unicode digits. It is the one
// test smsgate uses for "a number rather than a name", such as a numeric
// sender address or an E.164 prefix.
func IsDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Normalize returns raw as E.164 digits without '+', e.g. "61412345678".
// It is Parse without the number's region and type; see Parse for the forms
// it reads and the numbers it refuses.
func Normalize(raw, defaultCountry string) (string, error) {
	n, err := Parse(raw, defaultCountry)
	if err != nil {
		return "", err
	}
	return n.E164, nil
}

// Warm loads the numbering plan data and builds what parsing a number of
// each of regions (ISO 3166-1 alpha-2) needs, which Parse otherwise does on
// its first use (about a millisecond the first time, a fraction of one for
// each region after): a server calls it before it takes requests, so that
// its first ones do not wait for it. Regions it does not know are skipped.
func Warm(regions ...string) {
	regionMetadata()
	for _, r := range regions {
		validatorFor(strings.ToUpper(r))
	}
	// The library's own first parse (its tables and patterns).
	_, _ = Parse("+12015550123", "US")
}

// clean strips the tolerated punctuation from raw and reports whether it
// began with '+'.
func clean(raw string) (digits string, plus bool, err error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", false, fmt.Errorf("%w: empty number", ErrInvalid)
	}
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		plus = true
		// "+44 (0)20 ...": the national trunk digit in parentheses is not dialled
		// internationally.
		s = strings.Replace(rest, "(0)", "", 1)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '-' || r == '.' || r == '(' || r == ')' || unicode.IsSpace(r):
		case unicode.IsLetter(r):
			return "", false, fmt.Errorf("%w: letters are not allowed in a number: %q", ErrInvalid, short(raw))
		default:
			return "", false, fmt.Errorf("%w: unexpected character %q in number %q", ErrInvalid, r, short(raw))
		}
	}
	if b.Len() == 0 {
		return "", false, fmt.Errorf("%w: empty number", ErrInvalid)
	}
	return b.String(), plus, nil
}

// stripIDD removes an international prefix: the longer of the country's own
// and the universal "00" is tried first, so that Australia's "0011" wins over
// "00".
func stripIDD(digits, own string) (string, bool) {
	prefixes := []string{own, universalIDD}
	if len(own) < len(universalIDD) {
		prefixes[0], prefixes[1] = universalIDD, own
	}
	for _, p := range prefixes {
		if p != "" && strings.HasPrefix(digits, p) {
			return digits[len(p):], true
		}
	}
	return "", false
}
