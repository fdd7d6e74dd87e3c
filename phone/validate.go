package phone

import (
	"regexp"
	"slices"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// planValidators holds, per region, the numbering plan's patterns compiled
// once (derived from the library's embedded metadata, which never changes):
// phonenumbers builds each pattern's string and looks it up in its regexp
// cache twice per number type on every validation, a dozen types a number.
var planValidators sync.Map // region -> *planValidator

// planValidator tells whether a national significant number is valid in
// one region: it matches the general description and one of the types', as
// phonenumbers.IsValidNumberForRegion decides.
type planValidator struct {
	general *descMatcher
	types   []*descMatcher
	// nationalPrefix matches at the start of a national number the prefix
	// phonenumbers.Parse would strip from it (the region's national prefix
	// for parsing, or its national prefix); nil: none.
	nationalPrefix *regexp.Regexp
	maxLength      int32 // the longest possible national number; 0: unknown
	// leadingDigits matches at the start of a national number of the
	// calling code the digits that make it this region's (regions that
	// share a code with others, e.g. JE for +44); nil: none given.
	leadingDigits *regexp.Regexp
}

// descMatcher is one number description: its possible lengths (none: any)
// and its pattern, matched whole (nil: matches nothing).
type descMatcher struct {
	lengths []int32
	re      *regexp.Regexp
}

func newDescMatcher(d *phonenumbers.PhoneNumberDesc) *descMatcher {
	m := &descMatcher{}
	if d == nil {
		return m
	}
	m.lengths = d.PossibleLength
	if p := d.GetNationalNumberPattern(); p != "" {
		m.re = regexp.MustCompile("^(?:" + p + ")$")
	}
	return m
}

func (m *descMatcher) match(nsn string) bool {
	if len(m.lengths) > 0 && !slices.Contains(m.lengths, int32(len(nsn))) {
		return false
	}
	return m.re != nil && m.re.MatchString(nsn)
}

// regionMetadata indexes the library's embedded metadata by region, once.
var regionMetadata = sync.OnceValue(func() map[string]*phonenumbers.PhoneMetadata {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return nil
	}
	out := make(map[string]*phonenumbers.PhoneMetadata, len(coll.GetMetadata()))
	for _, md := range coll.GetMetadata() {
		out[md.GetId()] = md
	}
	return out
})

// validatorFor returns region's validator, nil when the metadata has no
// such region.
func validatorFor(region string) *planValidator {
	if v, ok := planValidators.Load(region); ok {
		return v.(*planValidator)
	}
	md := regionMetadata()[region]
	if md == nil {
		return nil
	}
	v := &planValidator{general: newDescMatcher(md.GetGeneralDesc())}
	if p := md.GetNationalPrefixForParsing(); p != "" {
		v.nationalPrefix = regexp.MustCompile("^(?:" + p + ")")
	} else if p := md.GetNationalPrefix(); p != "" {
		v.nationalPrefix = regexp.MustCompile("^" + regexp.QuoteMeta(p))
	}
	if ls := v.general.lengths; len(ls) > 0 {
		v.maxLength = slices.Max(ls)
	}
	if p := md.GetLeadingDigits(); p != "" {
		v.leadingDigits = regexp.MustCompile("^(?:" + p + ")")
	}
	for _, d := range []*phonenumbers.PhoneNumberDesc{md.GetPremiumRate(), md.GetTollFree(), md.GetSharedCost(),
		md.GetVoip(), md.GetPersonalNumber(), md.GetPager(), md.GetUan(), md.GetVoicemail(),
		md.GetFixedLine(), md.GetMobile()} {
		v.types = append(v.types, newDescMatcher(d))
	}
	actual, _ := planValidators.LoadOrStore(region, v)
	return actual.(*planValidator)
}

// valid reports whether nsn is a valid national significant number of v's
// region: it matches the general description and one of the types.
func (v *planValidator) valid(nsn string) bool {
	if !v.general.match(nsn) {
		return false
	}
	for _, t := range v.types {
		if t.match(nsn) {
			return true
		}
	}
	return false
}

// validForCode reports whether nsn is a valid national significant number
// of calling code cc: the same answer as phonenumbers.IsValidNumber, which
// first picks the region among the code's (the first whose leading digits
// start nsn, or, for one without leading digits, the first where nsn is a
// number) and then validates it there; without its allocations.
func validForCode(cc int, nsn string) bool {
	for _, region := range phonenumbers.GetRegionCodesForCountryCode(cc) {
		v := validatorFor(region)
		if v == nil {
			continue
		}
		if v.leadingDigits != nil {
			if v.leadingDigits.MatchString(nsn) {
				return v.valid(nsn)
			}
			continue
		}
		if v.valid(nsn) {
			return true
		}
	}
	return false
}
