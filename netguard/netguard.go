// Package netguard keeps the gateway's outbound requests (webhooks, and any
// later outbound HTTP) off the operator's own network: a tenant who sets a
// webhook URL must not reach loopback, private, link-local, unique-local,
// CGNAT, multicast or unspecified addresses. The check runs on the resolved
// address at dial time (a net.Dialer Control hook), so a name that resolves
// to an internal address, or re-resolves to one later (DNS rebinding),
// cannot pass; literal addresses and localhost names are refused at
// creation too. The operator may allow named internal targets.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrBlocked matches every refused destination.
var ErrBlocked = errors.New("destination not allowed: an internal address")

// Guard decides which destinations outbound requests may reach.
type Guard struct {
	nets  []netip.Prefix  // allowed internal networks
	hosts map[string]bool // allowed internal host names (lower case)
}

// New returns a guard that refuses every internal address except those in
// allow: IP addresses, CIDR networks or host names (an allowed name is
// dialled whatever it resolves to: the operator vouches for it).
func New(allow []string) (*Guard, error) {
	g := &Guard{hosts: map[string]bool{}}
	for i, a := range allow {
		a = strings.TrimSpace(a)
		switch {
		case a == "":
			return nil, fmt.Errorf("allow[%d]: empty", i)
		case strings.Contains(a, "/"):
			p, err := netip.ParsePrefix(a)
			if err != nil {
				return nil, fmt.Errorf("allow[%d]: %q is not a CIDR network", i, a)
			}
			g.nets = append(g.nets, p.Masked())
		default:
			if ip, err := netip.ParseAddr(a); err == nil {
				g.nets = append(g.nets, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
				continue
			}
			g.hosts[strings.ToLower(strings.TrimSuffix(a, "."))] = true
		}
	}
	return g, nil
}

// cgnat is the shared address space of RFC 6598, internal to carriers.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// internal reports whether ip is not a public unicast address.
func internal(ip netip.Addr) bool {
	ip = ip.Unmap()
	return !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() ||
		ip.IsUnspecified() || cgnat.Contains(ip) || (ip.Is4() && ip.As4()[0] == 0)
}

// Allowed reports whether ip may be reached.
func (g *Guard) Allowed(ip netip.Addr) bool {
	if !internal(ip) {
		return true
	}
	for _, p := range g.nets {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

// CheckHost refuses, before any lookup, a host that is a literal internal
// address or a localhost name (RFC 6761), unless allowed; other names are
// checked when dialled.
func (g *Guard) CheckHost(host string) error {
	h := strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if g.hosts[h] {
		return nil
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		if !g.Allowed(ip) {
			return fmt.Errorf("%w: %s", ErrBlocked, ip)
		}
		return nil
	}
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return fmt.Errorf("%w: %s", ErrBlocked, h)
	}
	return nil
}

// DialContext dials addr ("host:port") unless it resolves to an address the
// guard refuses; for http.Transport.DialContext.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if g.hosts[strings.ToLower(strings.TrimSuffix(host, "."))] {
		return d.DialContext(ctx, network, addr)
	}
	// The hook sees each address the name resolved to, just before the
	// connect: nothing can change it after the check.
	d.Control = func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s", ErrBlocked, address)
		}
		if !g.Allowed(ap.Addr()) {
			return fmt.Errorf("%w: %s", ErrBlocked, ap.Addr())
		}
		return nil
	}
	return d.DialContext(ctx, network, addr)
}
