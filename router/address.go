package router

import (
	"strings"

	"github.com/smsgate/smsgate/phone"
)

// Carrier addresses come in every form: "+61412349000", "0061412349000",
// "0412349000" with TON 2 (national), "61412349000" with TON 1. Before any
// lookup (the conversation, a dedicated number) they are brought to the
// form the gateway records: E.164 digits without '+'. National numbers are
// read in the link's country. Alphanumeric addresses (TON 5) and short
// codes that are not numbers stay as they are.

// SMPP type-of-number values (SMPP 3.4 §5.2.5).
const (
	tonUnknown       = 0
	tonInternational = 1
	tonNational      = 2
	tonAlphanumeric  = 5
)

// NormalizeAddr returns addr in E.164 digits when it reads as a number given
// its TON and the link's country, else addr unchanged (trimmed).
func NormalizeAddr(addr string, ton uint8, country string) string {
	a := strings.TrimSpace(addr)
	if a == "" || ton == tonAlphanumeric {
		return a
	}
	digits := strings.TrimPrefix(a, "+")
	if !phone.IsDigits(digits) {
		return a
	}
	var in string
	switch {
	case strings.HasPrefix(a, "+"):
		in = a
	case strings.HasPrefix(digits, "00") && ton != tonNational:
		in = "+" + digits[2:]
	case ton == tonInternational:
		in = "+" + digits
	case ton == tonNational || strings.HasPrefix(digits, "0"):
		if country == "" {
			return digits
		}
		in = digits
	default: // TON 0 without a trunk 0: already international digits
		in = "+" + digits
	}
	n, err := phone.Normalize(in, country)
	if err != nil {
		// Not a number the numbering plan knows (a short code, a test
		// range): the digits as they came.
		if strings.HasPrefix(in, "+") {
			return in[1:]
		}
		return digits
	}
	return n
}
