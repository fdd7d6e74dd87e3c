package accounts

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// SenderPolicy says which unauthenticated mail an account accepts from the
// addresses and domains registered to it. SMTP AUTH with a credential that
// may send for the sender always authorises; the policy adds the other
// ways. A sub-account without its own policy uses its parent's.
type SenderPolicy struct {
	// Networks are source networks whose mail is authorised (an Exchange
	// server, the office's NAT address, a monitoring host).
	Networks []netip.Prefix `json:"networks"`
	// SPF authorises mail when the MAIL FROM domain's SPF record passes
	// for the connecting address (RFC 7208).
	SPF bool `json:"spf"`
	// DKIM authorises mail that carries a valid DKIM signature (RFC 6376)
	// of the From header's organisational domain (DMARC relaxed
	// alignment, RFC 7489 §3.1.1).
	DKIM bool `json:"dkim"`
}

// DefaultSenderPolicy is the policy of an account that never set one (and
// whose parent did not either): nothing is authorised implicitly; SMTP
// AUTH, or SPF pass for the sender's domain.
func DefaultSenderPolicy() SenderPolicy {
	return SenderPolicy{Networks: []netip.Prefix{}, SPF: true}
}

// The broadest networks a policy may allow: wider ones would let most of
// the Internet send as the account.
const (
	MinPrefixV4 = 8
	MinPrefixV6 = 32
	// MaxPolicyNetworks bounds the list (each is checked per mail).
	MaxPolicyNetworks = 256
)

// ParseNetworks reads CIDRs ("192.0.2.0/24", "2001:db8::/48") or single
// addresses ("192.0.2.7", taken as /32 or /128), masks them to their
// network, drops duplicates and sorts them. The error names the entry as
// given (checkNetwork).
func ParseNetworks(in []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(in))
	for i, s := range in {
		s = strings.TrimSpace(s)
		var p netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			p, err = netip.ParsePrefix(s)
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(s)
			if err == nil && a.Zone() != "" {
				return nil, Invalidf("networks[%d]: %q: zones are not allowed", i, s)
			}
			if err == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return nil, Invalidf("networks[%d]: %q is not an address or a CIDR network (e.g. 192.0.2.0/24)", i, s)
		}
		if err := checkNetwork(i, p); err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	if len(out) > MaxPolicyNetworks {
		return nil, Invalidf("networks: %d entries; at most %d", len(out), MaxPolicyNetworks)
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return slices.Compact(out), nil
}

// Validate checks the networks: at most MaxPolicyNetworks, none broader
// than /8 (IPv4) or /32 (IPv6), no zone. The error names the entry.
func (p SenderPolicy) Validate() error {
	if len(p.Networks) > MaxPolicyNetworks {
		return Invalidf("networks: %d entries; at most %d", len(p.Networks), MaxPolicyNetworks)
	}
	for i, n := range p.Networks {
		if err := checkNetwork(i, n); err != nil {
			return err
		}
	}
	return nil
}

// checkNetwork checks entry i of a policy's networks.
func checkNetwork(i int, n netip.Prefix) error {
	a := n.Addr()
	switch {
	case !n.IsValid():
		return Invalidf("networks[%d]: not a network", i)
	case a.Zone() != "":
		return Invalidf("networks[%d]: %s: zones are not allowed", i, n)
	case a.Is4In6():
		return Invalidf("networks[%d]: %s: write IPv4-mapped networks in IPv4 form", i, n)
	case a.Is4() && n.Bits() < MinPrefixV4:
		return Invalidf("networks[%d]: %s is broader than /%d: it would let most of the Internet send as this account", i, n, MinPrefixV4)
	case a.Is6() && n.Bits() < MinPrefixV6:
		return Invalidf("networks[%d]: %s is broader than /%d: it would let most of the Internet send as this account", i, n, MinPrefixV6)
	}
	return nil
}

// AllowsAddr reports whether ip is in one of the policy's networks. An
// IPv4-mapped IPv6 address is matched as IPv4.
func (p SenderPolicy) AllowsAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, n := range p.Networks {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// MarshalPolicy encodes p for storage.
func MarshalPolicy(p SenderPolicy) string {
	b, _ := json.Marshal(p) // netip.Prefix and bools always encode
	return string(b)
}

// UnmarshalPolicy decodes a stored policy; "" is no policy (nil).
func UnmarshalPolicy(s string) (*SenderPolicy, error) {
	if s == "" {
		return nil, nil
	}
	var p SenderPolicy
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, fmt.Errorf("sender policy: %w", err)
	}
	if p.Networks == nil {
		p.Networks = []netip.Prefix{}
	}
	return &p, nil
}

// PolicyView is an account's sender policy as the API shows it: the
// policy in force and where it comes from.
type PolicyView struct {
	SenderPolicy
	// Source is "account" (its own), "parent" (inherited from the parent
	// account) or "default" (neither set one).
	Source string `json:"source"`
	// From is the account whose policy is in force ("" for the default).
	From string `json:"from,omitempty"`
}

// Policy sources.
const (
	PolicyOwn     = "account"
	PolicyParent  = "parent"
	PolicyDefault = "default"
)

// EffectivePolicy picks the policy in force for an account: its own, else
// its parent's, else the default.
func EffectivePolicy(acctID string, own *SenderPolicy, parentID string, parent *SenderPolicy) PolicyView {
	switch {
	case own != nil:
		return PolicyView{SenderPolicy: *own, Source: PolicyOwn, From: acctID}
	case parentID != "" && parent != nil:
		return PolicyView{SenderPolicy: *parent, Source: PolicyParent, From: parentID}
	}
	return PolicyView{SenderPolicy: DefaultSenderPolicy(), Source: PolicyDefault}
}
