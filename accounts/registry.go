package accounts

import (
	_ "embed"
	"fmt"
	"net/mail"
	"strings"
)

func RegValidDomain(d string) bool {
	if len(d) == 0 || len(d) > 253 {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := range len(l) {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	return strings.Trim(tld, "0123456789") != "" // not an IP address
}

// regNormalizeAddress parses a bare address (net/mail), lower-cases it and
// checks its domain.
func RegNormalizeAddress(email string) (string, error) {
	email = strings.TrimSpace(email)
	pa, err := mail.ParseAddress(email)
	if err != nil || pa.Name != "" || strings.ContainsAny(email, "<>") {
		return "", fmt.Errorf("%w: address: %q is not an email address", ErrInvalid, email)
	}
	a := strings.ToLower(pa.Address)
	at := strings.LastIndexByte(a, '@')
	if !regValidLocal(a[:at]) {
		return "", fmt.Errorf("%w: address: %q: quoted or unusual local parts are not supported", ErrInvalid, email)
	}
	if !RegValidDomain(a[at+1:]) {
		return "", fmt.Errorf("%w: address: %q has no valid domain", ErrInvalid, email)
	}
	return a, nil
}

// regValidLocal accepts an RFC 5322 dot-atom local part (§3.2.3), with
// UTF-8 allowed as in RFC 6532.
func regValidLocal(l string) bool {
	if l == "" || l[0] == '.' || l[len(l)-1] == '.' || strings.Contains(l, "..") {
		return false
	}
	for i := range len(l) {
		c := l[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80 ||
			strings.IndexByte(".!#$%&'*+-/=?^_`{|}~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}
