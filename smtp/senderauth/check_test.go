package senderauth_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/miekg/dns"

	"github.com/smsgate/smsgate/internal/dnstest"
	"github.com/smsgate/smsgate/smtp/senderauth"
)

func TestCacheRemembersAndBounds(t *testing.T) {
	srv := dnstest.Start(t)
	srv.TXT("example.com", "v=spf1 -all")
	now := time.Unix(1_700_000_000, 0)
	c := senderauth.NewCache(srv.Resolver(), senderauth.CacheOptions{TTL: time.Minute, NegativeTTL: 10 * time.Second, Now: func() time.Time { return now }})
	ctx := context.Background()

	for i := range 3 {
		txt, err := c.LookupTXT(ctx, "example.com")
		if err != nil || len(txt) != 1 || txt[0] != "v=spf1 -all" {
			t.Fatalf("lookup %d: %q, %v", i, txt, err)
		}
	}
	if q := srv.Queries(); q != 1 {
		t.Fatalf("3 lookups asked the server %d times, want 1 (cached)", q)
	}
	// A name that does not exist is remembered too, for the negative TTL.
	for range 2 {
		if _, err := c.LookupTXT(ctx, "nx.example.com"); !senderauth.IsNotFound(err) {
			t.Fatalf("nx: err %v, want not found", err)
		}
	}
	if q := srv.Queries(); q != 2 {
		t.Fatalf("negative answer not cached: %d queries, want 2", q)
	}
	now = now.Add(11 * time.Second) // negative entry expired, positive not
	_, _ = c.LookupTXT(ctx, "nx.example.com")
	_, _ = c.LookupTXT(ctx, "example.com")
	if q := srv.Queries(); q != 3 {
		t.Fatalf("after 11s: %d queries, want 3", q)
	}
	now = now.Add(time.Minute)
	_, _ = c.LookupTXT(ctx, "example.com")
	if q := srv.Queries(); q != 4 {
		t.Fatalf("after the TTL: %d queries, want 4", q)
	}
}

func TestCacheTimeoutNotRemembered(t *testing.T) {
	srv := dnstest.Start(t)
	srv.TXT("slow.example.com", "v=spf1 -all")
	srv.Delay("slow.example.com", 2*time.Second)
	c := senderauth.NewCache(srv.Resolver(), senderauth.CacheOptions{Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err := c.LookupTXT(context.Background(), "slow.example.com")
	if err == nil || !senderauth.IsTemporary(err) {
		t.Fatalf("slow lookup: err %v, want a temporary error", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("lookup took %v, the timeout is 200ms", d)
	}
	srv.Delay("slow.example.com", 0)
	if _, err := c.LookupTXT(context.Background(), "slow.example.com"); err != nil {
		t.Fatalf("after the server recovered: %v (a timeout must not be cached)", err)
	}
}

func TestSPF(t *testing.T) {
	srv := dnstest.Start(t)
	srv.TXT("good.example", "v=spf1 ip4:192.0.2.0/24 include:_spf.good.example -all")
	srv.TXT("_spf.good.example", "v=spf1 ip6:2001:db8::/32 ~all")
	srv.TXT("soft.example", "v=spf1 ~all")
	srv.TXT("broken.example", "v=spf1 ip4:not-an-ip -all")
	srv.TXT("down.example", "v=spf1 -all")
	srv.Fail("down.example", dns.RcodeServerFailure)
	srv.Add(t, "mx.example. 300 IN A 198.51.100.7", `mxuser.example. 300 IN TXT "v=spf1 a:mx.example -all"`)
	c := senderauth.New(senderauth.NewCache(srv.Resolver(), senderauth.CacheOptions{Timeout: time.Second}))
	ctx := context.Background()
	for _, tc := range []struct {
		ip, from, want string
	}{
		{"192.0.2.9", "alice@good.example", senderauth.SPFPass},
		{"2001:db8::5", "alice@good.example", senderauth.SPFPass},      // through the include
		{"::ffff:192.0.2.9", "alice@good.example", senderauth.SPFPass}, // IPv4-mapped
		{"203.0.113.9", "alice@good.example", senderauth.SPFFail},
		{"203.0.113.9", "alice@soft.example", senderauth.SPFSoftFail},
		{"203.0.113.9", "alice@nothing.example", senderauth.SPFNone},
		{"203.0.113.9", "alice@broken.example", senderauth.SPFPermError},
		{"203.0.113.9", "alice@down.example", senderauth.SPFTempError},
		{"198.51.100.7", "bob@mxuser.example", senderauth.SPFPass},
	} {
		got, _ := c.SPF(ctx, netip.MustParseAddr(tc.ip), "client.example", tc.from)
		if got != tc.want {
			t.Errorf("SPF(%s, %s) = %s, want %s", tc.ip, tc.from, got, tc.want)
		}
	}
}

// signed returns msg signed by domain with selector, and publishes the key.
func signed(t *testing.T, srv *dnstest.Server, domain, selector, msg string, headers []string) []byte {
	t.Helper()
	key := srv.DKIMKey(t, domain, selector)
	var out bytes.Buffer
	if err := dkim.Sign(&out, strings.NewReader(msg), &dkim.SignOptions{Domain: domain, Selector: selector, Signer: key, HeaderKeys: headers}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestDKIM(t *testing.T) {
	srv := dnstest.Start(t)
	c := senderauth.New(senderauth.NewCache(srv.Resolver(), senderauth.CacheOptions{Timeout: time.Second}))
	ctx := context.Background()
	msg := "From: Alice <alice@corp.example>\r\nTo: 0412345678@sms.example\r\nSubject: hi\r\n\r\nRunning late\r\n"

	good := signed(t, srv, "mail.corp.example", "s1", msg, []string{"From", "To", "Subject"})
	if r := c.DKIM(ctx, bytes.NewReader(good), "corp.example"); r.Result != senderauth.DKIMPass || r.Domain != "mail.corp.example" {
		t.Fatalf("aligned (subdomain) signature: %+v, want pass", r)
	}
	tampered := bytes.Replace(good, []byte("Running late"), []byte("Running LATE"), 1)
	if r := c.DKIM(ctx, bytes.NewReader(tampered), "corp.example"); r.Result != senderauth.DKIMFail {
		t.Fatalf("tampered body: %+v, want fail", r)
	}
	other := signed(t, srv, "mailer.example", "s1", msg, []string{"From", "To", "Subject"})
	if r := c.DKIM(ctx, bytes.NewReader(other), "corp.example"); r.Result != senderauth.DKIMUnaligned {
		t.Fatalf("signature of another domain: %+v, want unaligned", r)
	}
	if r := c.DKIM(ctx, strings.NewReader(msg), "corp.example"); r.Result != senderauth.DKIMNone {
		t.Fatalf("unsigned: %+v, want none", r)
	}
	// A key that cannot be fetched now is a temporary error, not a fail.
	down := signed(t, srv, "down.example", "s1", strings.Replace(msg, "corp.example", "down.example", 1), []string{"From"})
	srv.Fail("s1._domainkey.down.example", dns.RcodeServerFailure)
	if r := c.DKIM(ctx, bytes.NewReader(down), "down.example"); r.Result != senderauth.DKIMTempError {
		t.Fatalf("key lookup SERVFAIL: %+v, want temperror", r)
	}
	// Ed25519 (RFC 8463) verifies too.
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	srv.TXT("ed._domainkey.corp.example", "v=DKIM1; k=ed25519; p="+base64.StdEncoding.EncodeToString(edKey.Public().(ed25519.PublicKey)))
	var ed bytes.Buffer
	if err := dkim.Sign(&ed, strings.NewReader(msg), &dkim.SignOptions{Domain: "corp.example", Selector: "ed", Signer: edKey}); err != nil {
		t.Fatal(err)
	}
	if r := c.DKIM(ctx, bytes.NewReader(ed.Bytes()), "corp.example"); r.Result != senderauth.DKIMPass {
		t.Fatalf("ed25519: %+v, want pass", r)
	}
}

func TestOrgDomain(t *testing.T) {
	for in, want := range map[string]string{
		"mail.corp.example.com": "example.com", "corp.co.uk": "corp.co.uk", "a.b.corp.co.uk.": "corp.co.uk", "co.uk": "",
	} {
		if got := senderauth.OrgDomain(in); got != want {
			t.Errorf("OrgDomain(%q) = %q, want %q", in, got, want)
		}
	}
}
