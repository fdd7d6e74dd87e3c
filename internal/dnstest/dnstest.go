// Package dnstest runs a real DNS server on loopback for tests: SPF, DKIM
// and domain-verification lookups go over UDP (and TCP for truncated
// answers) to it through an ordinary *net.Resolver, so the code under test
// uses the same resolver path as in production.
package dnstest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Server is a loopback authoritative server for whatever names the test
// sets. Names are matched case-insensitively, with or without the trailing
// dot. A name with no records gets NXDOMAIN.
type Server struct {
	Addr string // host:port, UDP and TCP

	mu      sync.Mutex
	records map[string][]dns.RR
	delay   map[string]time.Duration
	fail    map[string]int // rcode to answer instead of records
	queries atomic.Int64
}

// Start starts a server on 127.0.0.1 (a free port) and stops it when the
// test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{records: map[string][]dns.RR{}, delay: map[string]time.Duration{}, fail: map[string]int{}}
	// UDP and TCP on one port: the UDP port the kernel picks may be taken
	// for TCP by another test's connection, so try a few.
	var pc net.PacketConn
	var ln net.Listener
	var err error
	for try := 0; ; try++ {
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("dnstest: listen udp: %v", err)
		}
		s.Addr = pc.LocalAddr().String()
		ln, err = net.Listen("tcp", s.Addr)
		if err == nil {
			break
		}
		pc.Close()
		if try == 50 {
			t.Fatalf("dnstest: listen tcp %s: %v", s.Addr, err)
		}
	}
	udp := &dns.Server{PacketConn: pc, Handler: s}
	tcp := &dns.Server{Listener: ln, Handler: s}
	var wg sync.WaitGroup
	for _, srv := range []*dns.Server{udp, tcp} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = srv.ActivateAndServe()
		}()
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatalf("dnstest: server did not start")
		}
	}
	t.Cleanup(func() {
		_ = udp.Shutdown()
		_ = tcp.Shutdown()
		wg.Wait()
	})
	return s
}

func fqdn(name string) string { return dns.Fqdn(strings.ToLower(name)) }

// Add adds records in zone-file syntax, e.g.
//
//	s.Add(`example.com. 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"`)
//
// A relative name or a missing TTL is an error the test sees at once.
func (s *Server) Add(t testing.TB, records ...string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range records {
		rr, err := dns.NewRR(r)
		if err != nil {
			t.Fatalf("dnstest: record %q: %v", r, err)
		}
		if rr == nil {
			t.Fatalf("dnstest: record %q: empty", r)
		}
		name := fqdn(rr.Header().Name)
		s.records[name] = append(s.records[name], rr)
	}
}

// TXT adds one TXT record for name (a long value is split into 255-byte
// strings, as a DNS server publishes it).
func (s *Server) TXT(name, value string) {
	var parts []string
	for len(value) > 255 {
		parts = append(parts, value[:255])
		value = value[255:]
	}
	parts = append(parts, value)
	rr := &dns.TXT{Hdr: dns.RR_Header{Name: fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 300}, Txt: parts}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[fqdn(name)] = append(s.records[fqdn(name)], rr)
}

// Remove drops every record of name.
func (s *Server) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, fqdn(name))
}

// Delay makes answers for name wait d (a slow authoritative server).
func (s *Server) Delay(name string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay[fqdn(name)] = d
}

// Fail makes queries for name answer rcode (e.g. dns.RcodeServerFailure);
// dns.RcodeSuccess makes them answer the records again.
func (s *Server) Fail(name string, rcode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rcode == dns.RcodeSuccess {
		delete(s.fail, fqdn(name))
		return
	}
	s.fail[fqdn(name)] = rcode
}

// Queries is how many questions the server has answered: a test of a
// cache compares it before and after.
func (s *Server) Queries() int64 { return s.queries.Load() }

// Resolver returns a resolver that asks only this server.
func (s *Server) Resolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, s.Addr)
		},
	}
}

// ServeDNS implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	s.queries.Add(1)
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := fqdn(q.Name)
	s.mu.Lock()
	delay := s.delay[name]
	rcode, failing := s.fail[name]
	rrs := s.records[name]
	var exists bool
	for n := range s.records {
		if n == name || strings.HasSuffix(n, "."+name) {
			exists = true // an empty non-terminal is NOERROR, not NXDOMAIN
			break
		}
	}
	s.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	switch {
	case failing:
		m.Rcode = rcode
	case !exists:
		m.Rcode = dns.RcodeNameError
	default:
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype || rr.Header().Rrtype == dns.TypeCNAME {
				c := dns.Copy(rr)
				c.Header().Name = q.Name
				m.Answer = append(m.Answer, c)
			}
		}
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		m.Truncate(dns.MinMsgSize)
		if opt := req.IsEdns0(); opt != nil {
			m.Truncate(int(opt.UDPSize()))
		}
	}
	_ = w.WriteMsg(m)
}

// DKIMKey makes an RSA key and publishes its public half as the DKIM key
// record of selector at domain (selector._domainkey.domain, RFC 6376
// §3.6.1); tests sign mails with the returned key.
func (s *Server) DKIMKey(t testing.TB, domain, selector string) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("dnstest: dkim key: %v", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatalf("dnstest: dkim key: %v", err)
	}
	s.TXT(selector+"._domainkey."+domain, "v=DKIM1; k=rsa; p="+base64.StdEncoding.EncodeToString(pub))
	return key
}
