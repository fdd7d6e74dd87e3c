package senderauth

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"slices"
	"strings"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/dkim"
	"golang.org/x/net/publicsuffix"
)

// Checker runs SPF and DKIM checks through one DNS resolver (normally a
// Cache).
type Checker struct {
	dns Resolver
}

// New returns a Checker that resolves through dns.
func New(dns Resolver) *Checker { return &Checker{dns: dns} }

// SPF results (RFC 7208 §2.6), the spf package's values.
const (
	SPFPass      = string(spf.Pass)
	SPFFail      = string(spf.Fail)
	SPFSoftFail  = string(spf.SoftFail)
	SPFNeutral   = string(spf.Neutral)
	SPFNone      = string(spf.None)
	SPFTempError = string(spf.TempError)
	SPFPermError = string(spf.PermError)
)

// SPF checks whether the MAIL FROM domain of from (or helo for the null
// sender) authorises ip. It returns the RFC 7208 result and, for the error
// results, why.
func (c *Checker) SPF(ctx context.Context, ip netip.Addr, helo, from string) (string, error) {
	res, err := spf.CheckHostWithSender(addrOf(ip), helo, from, spf.WithResolver(c.dns), spf.WithContext(ctx))
	return string(res), err
}

// DKIM results: pass (a valid signature aligned with the From domain),
// fail (signatures, none of them valid), unaligned (valid, but of another
// organisational domain), none (no signature), temperror (a key could not
// be fetched and nothing passed).
const (
	DKIMPass      = "pass"
	DKIMFail      = "fail"
	DKIMUnaligned = "unaligned"
	DKIMNone      = "none"
	DKIMTempError = "temperror"
)

// DKIMResult is the outcome of DKIM.
type DKIMResult struct {
	Result string
	// Domain is the signing domain (d=) of the passing signature, or of
	// the first one that did not pass.
	Domain string
	// Reason says why it did not pass ("" on pass).
	Reason string
}

// maxSignatures bounds the signatures verified per mail (each may cost a
// DNS lookup and an RSA verification).
const maxSignatures = 5

// DKIM verifies msg's signatures (RFC 6376) and reports whether one is
// valid, signs the From header, and is aligned with fromDomain: the same
// organisational domain (DMARC relaxed alignment, RFC 7489 §3.1.1).
func (c *Checker) DKIM(ctx context.Context, msg io.Reader, fromDomain string) DKIMResult {
	lookup := func(name string) ([]string, error) { return c.dns.LookupTXT(ctx, name) }
	vs, err := dkim.VerifyWithOptions(msg, &dkim.VerifyOptions{LookupTXT: lookup, MaxVerifications: maxSignatures})
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		return DKIMResult{Result: DKIMFail, Reason: "cannot read the message: " + err.Error()}
	}
	if len(vs) == 0 {
		return DKIMResult{Result: DKIMNone, Reason: "no DKIM signature"}
	}
	want := OrgDomain(fromDomain)
	var first *DKIMResult
	note := func(r DKIMResult) {
		if first == nil || first.Result == DKIMFail && r.Result != DKIMFail {
			first = &r
		}
	}
	for _, v := range vs {
		d := strings.ToLower(strings.TrimSuffix(v.Domain, "."))
		switch {
		case v.Err != nil && dkim.IsTempFail(v.Err):
			note(DKIMResult{Result: DKIMTempError, Domain: d, Reason: v.Err.Error()})
		case v.Err != nil:
			note(DKIMResult{Result: DKIMFail, Domain: d, Reason: v.Err.Error()})
		case !slices.ContainsFunc(v.HeaderKeys, func(h string) bool { return strings.EqualFold(strings.TrimSpace(h), "from") }):
			note(DKIMResult{Result: DKIMFail, Domain: d, Reason: "the signature does not cover the From header"})
		case want == "" || OrgDomain(d) != want:
			note(DKIMResult{Result: DKIMUnaligned, Domain: d, Reason: "signed by " + d + ", not by the From domain " + fromDomain})
		default:
			return DKIMResult{Result: DKIMPass, Domain: d}
		}
	}
	return *first
}

// OrgDomain is d's organisational domain (RFC 7489 §3.2): the public
// suffix and one label more; "" if d is itself a public suffix.
func OrgDomain(d string) string {
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	o, err := publicsuffix.EffectiveTLDPlusOne(d)
	if err != nil {
		return ""
	}
	return o
}
