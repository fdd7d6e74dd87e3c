package phone

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Type is what the numbering plan data says a number is, as far as it can
// tell. Callers may, for example, warn before texting a fixed line.
type Type int

// The types a number can have. FixedLineOrMobile is used where a plan does
// not tell the two apart (the NANP countries, for example).
const (
	TypeUnknown Type = iota
	TypeMobile
	TypeFixedLine
	TypeFixedLineOrMobile
	TypeOther // toll-free, premium rate, shared cost, VoIP, personal, pager, UAN, voicemail
)

// String returns the type's name as used in logs and API bodies.
func (t Type) String() string {
	switch t {
	case TypeMobile:
		return "mobile"
	case TypeFixedLine:
		return "fixed_line"
	case TypeFixedLineOrMobile:
		return "fixed_line_or_mobile"
	case TypeOther:
		return "other"
	default:
		return "unknown"
	}
}

// Number is a valid phone number.
type Number struct {
	// E164 is the number's E.164 digits without '+', e.g. "61412345678".
	E164 string

	parsed *phonenumbers.PhoneNumber
}

// Region returns the ISO 3166-1 alpha-2 code of the country the number
// belongs to ("GG" for a Guernsey mobile under +44), or "" for
// non-geographic numbers such as +870. Like Type it is computed on demand.
func (n Number) Region() string {
	if n.parsed == nil {
		return ""
	}
	region := phonenumbers.GetRegionCodeForNumber(n.parsed)
	if !ValidCountry(region) {
		return ""
	}
	return region
}

// Type reports whether the number is a mobile, a fixed line or another kind
// of number, as far as the numbering plan data says. It is computed on
// demand because it costs as much as parsing.
func (n Number) Type() Type {
	if n.parsed == nil {
		return TypeUnknown
	}
	switch phonenumbers.GetNumberType(n.parsed) {
	case phonenumbers.MOBILE:
		return TypeMobile
	case phonenumbers.FIXED_LINE:
		return TypeFixedLine
	case phonenumbers.FIXED_LINE_OR_MOBILE:
		return TypeFixedLineOrMobile
	case phonenumbers.UNKNOWN:
		return TypeUnknown
	default:
		return TypeOther
	}
}

// Parse reads a number typed by a person and validates it against the
// numbering plan of its country (length and number ranges).
//
// It tolerates spaces, dashes, dots, parentheses and a leading '+' (and the
// "(0)" some write after the calling code, as in "+44 (0)20 7946 0958"); a
// trunk 0 written after the calling code is dropped ("+61 0412 345 678" gives
// 61412345678). Digits that begin with the "00" international prefix or the
// default country's own (such as "011" in NANP countries or "0011" in
// Australia) are international. Other digits are read as a national number
// of defaultCountry, with or without its trunk prefix ("0412 345 678" or
// "412 345 678" with AU give 61412345678); when that is not a valid number
// there but the digits are a valid number with a calling code, they are
// taken as international ("447911123456" with AU gives 447911123456, not
// 61447911123456). A number valid in neither reading is refused with an
// error that says why and shows the international form to use.
func Parse(raw, defaultCountry string) (Number, error) {
	digits, plus, err := clean(raw)
	if err != nil {
		return Number{}, err
	}
	// One digit more than E.164 allows leaves room for a trunk prefix.
	if len(digits) > maxDigits+1 {
		return Number{}, fmt.Errorf("%w: number too long (%d digits, E.164 allows %d)", ErrInvalid, len(digits), maxDigits)
	}
	region := strings.ToUpper(defaultCountry)
	c, known := countries[region]
	if plus {
		return international(raw, digits, region)
	}
	if rest, ok := stripIDD(digits, c.idd); ok {
		return international(raw, rest, region)
	}
	if !known {
		return Number{}, fmt.Errorf("%w: unknown default country %q", ErrInvalid, defaultCountry)
	}
	// Fast path: the national number as typed, or after the trunk prefix.
	nsn := digits
	if c.trunk != "" {
		nsn = strings.TrimPrefix(digits, c.trunk)
	}
	if n, ok := direct(c.cc, nsn); ok {
		return validE164(n, c.cc+nsn)
	}
	if n, ok := ownCallingCode(region, c.cc, digits); ok {
		return validE164(n, digits) // the code and the rest, as typed
	}
	nat, natErr := phonenumbers.Parse(digits, region)
	if natErr == nil && phonenumbers.IsValidNumber(nat) {
		return valid(nat)
	}
	var intl *phonenumbers.PhoneNumber
	if digits[0] != '0' {
		if n, err := phonenumbers.Parse("+"+digits, "ZZ"); err == nil {
			if phonenumbers.IsValidNumber(n) {
				return valid(n)
			}
			intl = n
		}
	}
	reason := fmt.Sprintf("%q is not a valid %s number", short(raw), region)
	if natErr == nil {
		reason += " (" + describe(nat) + ")"
	}
	if intl != nil {
		reason += " nor a valid number with a country code (" + describe(intl) + ")"
	}
	return Number{}, fmt.Errorf("%w: %s; %s", ErrInvalid, reason, hint(region))
}

// international validates digits that follow a '+' or an international
// prefix.
func international(raw, digits, defaultRegion string) (Number, error) {
	if digits == "" {
		return Number{}, fmt.Errorf("%w: empty number", ErrInvalid)
	}
	// Fast path: the calling code and the rest, without a trunk 0 first
	// (as phonenumbers.Parse prefers) where the country dials one.
	if cc, ok := splitCallingCode(digits); ok {
		rest := digits[len(cc):]
		if home := countries[phonenumbers.GetRegionCodeForCountryCode(atoi(cc))]; home.trunk == "0" && strings.HasPrefix(rest, "0") {
			if n, ok := direct(cc, rest[1:]); ok {
				return validE164(n, cc+rest[1:])
			}
		}
		if n, ok := direct(cc, rest); ok {
			return validE164(n, cc+rest)
		}
	}
	n, err := phonenumbers.Parse("+"+digits, "ZZ")
	if err != nil {
		if _, ok := splitCallingCode(digits); !ok {
			return Number{}, fmt.Errorf("%w: unknown country calling code in %q; %s", ErrInvalid, short(raw), hint(defaultRegion))
		}
		return Number{}, fmt.Errorf("%w: %q is not a number: %s; %s", ErrInvalid, short(raw), strings.ToLower(err.Error()), hint(defaultRegion))
	}
	if phonenumbers.IsValidNumber(n) {
		return valid(n)
	}
	if phonenumbers.IsPossibleNumberWithReason(n) == phonenumbers.INVALID_COUNTRY_CODE {
		return Number{}, fmt.Errorf("%w: unknown country calling code in %q; %s", ErrInvalid, short(raw), hint(defaultRegion))
	}
	region := phonenumbers.GetRegionCodeForCountryCode(int(n.GetCountryCode()))
	if !ValidCountry(region) {
		region = defaultRegion
	}
	return Number{}, fmt.Errorf("%w: %q is not a valid number (%s); %s", ErrInvalid, short(raw), describe(n), hint(region))
}

// valid returns a number that phonenumbers validated, checked against the
// package contract.
func valid(n *phonenumbers.PhoneNumber) (Number, error) {
	return validE164(n, strings.TrimPrefix(phonenumbers.Format(n, phonenumbers.E164), "+"))
}

// validE164 is valid for a number whose E.164 digits the caller has (direct:
// the calling code and the national number as typed, which is what
// phonenumbers.Format gives, without its allocations).
func validE164(n *phonenumbers.PhoneNumber, e164 string) (Number, error) {
	if len(e164) < minDigits || len(e164) > maxDigits || !IsDigits(e164) || !HasCallingCode(e164) {
		return Number{}, fmt.Errorf("%w: +%s is outside the E.164 numbers smsgate can send to", ErrInvalid, e164)
	}
	return Number{E164: e164, parsed: n}, nil
}

// describe says what is wrong with a number that is not valid, in its
// international form: "+61 447700900123 is too long for AU".
func describe(n *phonenumbers.PhoneNumber) string {
	form := phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
	region := phonenumbers.GetRegionCodeForCountryCode(int(n.GetCountryCode()))
	where := ""
	if ValidCountry(region) {
		where = " for " + region
	}
	switch phonenumbers.IsPossibleNumberWithReason(n) {
	case phonenumbers.TOO_SHORT:
		return form + " is too short" + where
	case phonenumbers.TOO_LONG:
		return form + " is too long" + where
	case phonenumbers.INVALID_COUNTRY_CODE:
		return form + " has no known country calling code"
	default:
		return form + " is not a number in use" + where
	}
}

// hint shows the international form to use, with an example number of
// region (or Australia's when region has none).
func hint(region string) string {
	ex := phonenumbers.GetExampleNumberForType(region, phonenumbers.MOBILE)
	if ex == nil {
		region = "AU"
		ex = phonenumbers.GetExampleNumberForType(region, phonenumbers.MOBILE)
	}
	return fmt.Sprintf("write it in international form: + then the country code and the number without its trunk 0, such as %s (%s mobile)",
		phonenumbers.Format(ex, phonenumbers.INTERNATIONAL), region)
}

// direct builds the number +cc nsn without phonenumbers.Parse, which runs a
// dozen regular expressions over its input, and reports whether it is
// valid. Parse and its error messages are the slow path for the rest.
func direct(cc, nsn string) (*phonenumbers.PhoneNumber, bool) {
	if nsn == "" || len(cc)+len(nsn) > maxDigits {
		return nil, false
	}
	national, err := strconv.ParseUint(nsn, 10, 64)
	if err != nil || national == 0 {
		return nil, false
	}
	code := int32(atoi(cc))
	n := &phonenumbers.PhoneNumber{CountryCode: &code, NationalNumber: &national}
	if zeros := int32(len(nsn) - len(strings.TrimLeft(nsn, "0"))); zeros > 0 {
		italian := true
		n.ItalianLeadingZero, n.NumberOfLeadingZeros = &italian, &zeros
	}
	// IsValidNumber's answer, without its allocations: it tries every
	// region that shares the code (AU, CC, CX for 61; US, CA and the rest
	// of the NANP for 1), each with a dozen patterns.
	return n, validForCode(int(code), nsn)
}

// ownCallingCode reads digits that begin with region's own calling code
// typed without '+' ("61412345678" in AU, the form of an SMS address) as
// phonenumbers.Parse(digits, region) does, without its dozen regular
// expressions and hundred allocations: it takes the code off when the
// whole is not a national number of the region and the rest could be one
// (the region's pattern), or when the whole is too long for one, and then
// validates the rest as IsValidNumber does (direct). It answers only when
// that is certain, and false otherwise, for Parse's slow path: a rest that
// begins with a national prefix Parse would strip.
func ownCallingCode(region, cc, digits string) (*phonenumbers.PhoneNumber, bool) {
	rest, ok := strings.CutPrefix(digits, cc)
	if !ok || rest == "" {
		return nil, false
	}
	v := validatorFor(region)
	if v == nil || v.general.re == nil || (v.nationalPrefix != nil && v.nationalPrefix.MatchString(rest)) {
		return nil, false
	}
	tooLong := v.maxLength > 0 && int32(len(digits)) > v.maxLength
	if !tooLong && (v.general.re.MatchString(digits) || !v.general.re.MatchString(rest)) {
		return nil, false // Parse keeps the digits whole
	}
	return direct(cc, rest)
}

// atoi reads a calling code (1-3 ASCII digits).
func atoi(cc string) int {
	v := 0
	for i := range len(cc) {
		v = v*10 + int(cc[i]-'0')
	}
	return v
}

// short bounds what an error quotes of the input, so that a reply built
// from it stays within an SMTP reply line (RFC 5321 §4.5.3.1.5).
func short(raw string) string {
	const max = 40
	if r := []rune(raw); len(r) > max {
		return string(r[:max]) + "..."
	}
	return raw
}
