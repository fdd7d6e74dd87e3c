package dnstest

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestLookups(t *testing.T) {
	s := Start(t)
	s.Add(t, `example.com. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"`,
		`example.com. 300 IN A 192.0.2.10`,
		`example.com. 300 IN MX 10 mx.example.com.`)
	long := strings.Repeat("p", 600)
	s.TXT("sel._domainkey.example.com", long)
	r := s.Resolver()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	txt, err := r.LookupTXT(ctx, "EXAMPLE.com")
	if err != nil || len(txt) != 1 || txt[0] != "v=spf1 ip4:192.0.2.0/24 -all" {
		t.Fatalf("TXT = %q, %v", txt, err)
	}
	txt, err = r.LookupTXT(ctx, "sel._domainkey.example.com")
	if err != nil || len(txt) != 1 || txt[0] != long {
		t.Fatalf("long TXT: %d records, %v", len(txt), err)
	}
	ips, err := r.LookupIPAddr(ctx, "example.com")
	if err != nil || len(ips) != 1 || !ips[0].IP.Equal(net.ParseIP("192.0.2.10")) {
		t.Fatalf("A = %v, %v", ips, err)
	}
	mx, err := r.LookupMX(ctx, "example.com")
	if err != nil || len(mx) != 1 || mx[0].Host != "mx.example.com." {
		t.Fatalf("MX = %v, %v", mx, err)
	}
	_, err = r.LookupTXT(ctx, "nothing.example.org")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Fatalf("missing name: %v, want not found", err)
	}
	s.Fail("broken.example.com", dns.RcodeServerFailure)
	_, err = r.LookupTXT(ctx, "broken.example.com")
	if !errors.As(err, &dnsErr) || dnsErr.IsNotFound {
		t.Fatalf("SERVFAIL: %v, want a temporary failure", err)
	}
	if s.Queries() == 0 {
		t.Fatal("no queries counted")
	}
}

func TestDelay(t *testing.T) {
	s := Start(t)
	s.TXT("slow.example.com", "x")
	s.Delay("slow.example.com", time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := s.Resolver().LookupTXT(ctx, "slow.example.com"); err == nil {
		t.Fatal("a slow answer within the deadline")
	}
}
