package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestAllowed(t *testing.T) {
	g, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{
		"127.0.0.1": false, "10.1.2.3": false, "192.168.0.1": false, "172.16.5.4": false, "169.254.169.254": false,
		"100.64.0.1": false, "0.0.0.0": false, "0.1.2.3": false, "224.0.0.1": false, "::1": false, "::": false,
		"fe80::1": false, "fd00::1": false, "ff02::1": false, "::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false,
		"203.0.113.9": true, "8.8.8.8": true, "2001:4860:4860::8888": true,
	} {
		if got := g.Allowed(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Allowed(%s) = %v, want %v", addr, got, want)
		}
	}
	for _, h := range []string{"127.0.0.1", "[::1]", "localhost", "LocalHost.", "api.localhost", "169.254.169.254", "10.0.0.1"} {
		if err := g.CheckHost(h); !errors.Is(err, ErrBlocked) {
			t.Errorf("CheckHost(%s) = %v, want ErrBlocked", h, err)
		}
	}
	if err := g.CheckHost("hooks.example.com"); err != nil {
		t.Errorf("a name is checked when dialled: %v", err)
	}
	a, err := New([]string{"10.9.0.0/16", "127.0.0.1", "crm.internal"})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Allowed(netip.MustParseAddr("10.9.1.1")) || a.Allowed(netip.MustParseAddr("10.8.1.1")) || a.CheckHost("crm.internal") != nil || a.CheckHost("127.0.0.1") != nil {
		t.Error("allow list not honoured")
	}
	if _, err := New([]string{"10.0.0.0/33"}); err == nil {
		t.Error("bad CIDR accepted")
	}
}

// TestDialRefusesInternal: the dial-time hook refuses a loopback listener,
// by address and by a name that resolves to it (what DNS rebinding would
// do), and lets it through once allowed.
func TestDialRefusesInternal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	g, _ := New(nil)
	for _, addr := range []string{ln.Addr().String(), net.JoinHostPort("localhost", port)} {
		if c, err := g.DialContext(ctx, "tcp", addr); !errors.Is(err, ErrBlocked) {
			if c != nil {
				c.Close()
			}
			t.Errorf("dial %s: %v, want ErrBlocked", addr, err)
		}
	}
	allow, _ := New([]string{"127.0.0.1"})
	c, err := allow.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("allowed dial: %v", err)
	}
	c.Close()
}
