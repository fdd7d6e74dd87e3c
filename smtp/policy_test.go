package smtp

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
	"github.com/miekg/dns"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/internal/dnstest"
	"github.com/smsgate/smsgate/smtp/senderauth"
)

// policyWorld is the harness with a real DNS server on loopback and
// accounts under several policies; every client connects from 127.0.0.1.
func policyWorld(t *testing.T) (*harness, *dnstest.Server) {
	t.Helper()
	srv := dnstest.Start(t)
	h := start(t, func(o *Options) {
		o.SenderAuth = senderauth.New(senderauth.NewCache(srv.Resolver(), senderauth.CacheOptions{Timeout: time.Second}))
	})
	def := accounts.DefaultSenderPolicy()
	for domain, p := range map[string]*accounts.SenderPolicy{
		"spf-pass.example": nil, // no policy of its own: the default (SPF)
		"spf-fail.example": nil,
		"spf-soft.example": nil,
		"no-spf.example":   nil,
		"dns-down.example": nil,
		"strict.example":   {Networks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}},
		"dkim.example":     {DKIM: true},
		"dkim2.example":    {DKIM: true},
	} {
		a := &accounts.Account{ID: "p-" + domain, Status: accounts.StatusActive, DefaultCountry: "AU", SenderPolicy: p}
		h.resolver.byAddr["@"+domain] = a
	}
	// dkim2.example's From header names an address of dkim.example's
	// account (a second account): not the same account.
	_ = def
	srv.TXT("spf-pass.example", "v=spf1 ip4:127.0.0.1 -all")
	srv.TXT("spf-fail.example", "v=spf1 ip4:192.0.2.1 -all")
	srv.TXT("spf-soft.example", "v=spf1 ~all")
	srv.TXT("dns-down.example", "v=spf1 ip4:127.0.0.1 -all")
	srv.Fail("dns-down.example", dns.RcodeServerFailure)
	return h, srv
}

func TestSenderPolicyAtMail(t *testing.T) {
	h, _ := policyWorld(t)
	bal := &accounts.BalanceError{}
	h.pipeline.RcptErr = map[string]error{"61412345678": bal} // a zero balance must never show
	for _, tc := range []struct {
		name, from string
		code       int
		enh        gosmtp.EnhancedCode
		text       string
	}{
		{"spf pass", "ops@spf-pass.example", 0, gosmtp.EnhancedCode{}, ""},
		{"spf fail", "ops@spf-fail.example", 550, gosmtp.EnhancedCode{5, 7, 1},
			"sender domain spf-fail.example does not authorise 127.0.0.1 (SPF fail); use SMTP AUTH or ask the account administrator to allow this network (127.0.0.1)"},
		{"spf softfail", "ops@spf-soft.example", 550, gosmtp.EnhancedCode{5, 7, 1}, "(SPF softfail)"},
		{"no spf record", "ops@no-spf.example", 550, gosmtp.EnhancedCode{5, 7, 1}, "sender domain no-spf.example publishes no SPF record, so it does not authorise 127.0.0.1 (SPF none)"},
		{"dns failure defers", "ops@dns-down.example", 451, gosmtp.EnhancedCode{4, 4, 3}, "could not be checked (SPF temperror"},
		{"network policy without spf", "ops@strict.example", 550, gosmtp.EnhancedCode{5, 7, 1}, "127.0.0.1 is not in the networks allowed to send for strict.example; use SMTP AUTH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := h.dial(t, nil)
			if err := c.Mail(tc.from, nil); err != nil {
				t.Fatalf("MAIL: %v (a policy refusal is given at RCPT)", err)
			}
			err := c.Rcpt("0412345679@sms.test", nil)
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("RCPT: %v, want 250", err)
				}
				return
			}
			wantReply(t, err, tc.code, tc.enh, tc.text)
			// The number with a balance refusal gets the policy refusal too:
			// nothing about the account is revealed to an unauthorised sender.
			err = c.Rcpt("0412345678@sms.test", nil)
			wantReply(t, err, tc.code, tc.enh, tc.text)
			if strings.Contains(err.Error(), "balance") {
				t.Fatalf("unauthorised sender saw the balance: %v", err)
			}
			// The postmaster is still reachable.
			if err := c.Rcpt("postmaster@sms.test", nil); err != nil {
				t.Fatalf("RCPT postmaster: %v", err)
			}
		})
	}
	if n := testutilCount(t, h, "smsgate_smtp_sender_authorised_total", map[string]string{"method": "spf"}); n != 1 {
		t.Errorf("authorised{spf} = %v, want 1", n)
	}
	if n := testutilCount(t, h, "smsgate_smtp_spf_total", map[string]string{"result": "fail"}); n != 1 {
		t.Errorf("spf{fail} = %v, want 1", n)
	}
	if n := testutilCount(t, h, "smsgate_smtp_messages_total", map[string]string{"result": "rejected", "reason": "policy_spf_fail"}); n != 2 {
		t.Errorf("messages{rejected,policy_spf_fail} = %v, want 2 (fail, softfail)", n)
	}
}

func TestSenderPolicyAuthAuthorises(t *testing.T) {
	h, _ := policyWorld(t)
	h.keys.keys["secret-strict"] = &accounts.APIKey{ID: "ks", AccountID: "p-strict.example", Role: accounts.RoleBasic}
	c := h.dial(t, nil)
	if err := c.Auth(plainAuth("secret-strict")); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("ops@strict.example", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("0412345679@sms.test", nil); err != nil {
		t.Fatalf("AUTH with the account's key must authorise: %v", err)
	}
	if _, err := send(c, plainMail); err != nil {
		t.Fatal(err)
	}
	// The key authorises its own account only: the SPF-failing domain of
	// another account stays refused in the same session.
	if err := c.Mail("ops@spf-fail.example", nil); err != nil {
		t.Fatal(err)
	}
	wantReply(t, c.Rcpt("0412345679@sms.test", nil), 550, gosmtp.EnhancedCode{5, 7, 1}, "does not belong to the account")
}

func TestSenderPolicyFailedAuthThenUnauthenticated(t *testing.T) {
	h, _ := policyWorld(t)
	c := h.dial(t, nil)
	if err := c.Auth(plainAuth("wrong")); err == nil {
		t.Fatal("AUTH with a bad key succeeded")
	}
	// Even a sender the network policy allows (a.example: loopback).
	wantReply(t, c.Mail("ops@a.example", nil), 530, gosmtp.EnhancedCode{5, 7, 0}, "authentication failed earlier in this session")
}

// dkimKey publishes an RSA key for selector._domainkey.domain and returns
// a signer of mails.
func dkimKey(t *testing.T, srv *dnstest.Server, domain, selector string) func(msg string) string {
	t.Helper()
	key := srv.DKIMKey(t, domain, selector)
	return func(msg string) string {
		var out bytes.Buffer
		msg = strings.ReplaceAll(msg, "\n", "\r\n")
		if err := dkim.Sign(&out, strings.NewReader(msg), &dkim.SignOptions{Domain: domain, Selector: selector, Signer: key}); err != nil {
			t.Fatal(err)
		}
		return strings.ReplaceAll(out.String(), "\r\n", "\n") // send() writes CRLF again
	}
}

func TestSenderPolicyDKIM(t *testing.T) {
	h, srv := policyWorld(t)
	sign := dkimKey(t, srv, "dkim.example", "s1")
	signOther := dkimKey(t, srv, "mailer.example", "s1")
	h.resolver.byAddr["ceo@dkim2.example"] = h.resolver.byAddr["@dkim2.example"]
	bal := &accounts.BalanceError{}
	h.pipeline.RcptErr = map[string]error{"61412345678": bal}
	mail := func(from string) string {
		return "From: Ops <" + from + ">\nTo: 0412345679@sms.test\nSubject: x\nMessage-ID: <d1@dkim.example>\n\nServer room door open\n"
	}
	try := func(t *testing.T, envFrom, body string, rcpts ...string) error {
		c := h.dial(t, nil)
		if err := c.Mail(envFrom, nil); err != nil {
			t.Fatalf("MAIL: %v", err)
		}
		for _, r := range rcpts {
			if err := c.Rcpt(r, nil); err != nil {
				t.Fatalf("RCPT %s: %v (recipients wait for DATA under DKIM)", r, err)
			}
		}
		_, err := send(c, body)
		return err
	}
	before := len(h.pipeline.mails())
	t.Run("aligned signature accepted", func(t *testing.T) {
		if err := try(t, "ops@dkim.example", sign(mail("ops@dkim.example")), "0412345679@sms.test"); err != nil {
			t.Fatalf("DATA: %v", err)
		}
		got := h.pipeline.mails()
		if len(got) != before+1 || got[len(got)-1].Text != "Server room door open" || len(got[len(got)-1].Recipients) != 1 {
			t.Fatalf("mails %d (before %d), last %+v", len(got), before, got[len(got)-1])
		}
	})
	t.Run("tampered body refused", func(t *testing.T) {
		body := strings.Replace(sign(mail("ops@dkim.example")), "door open", "door OPEN", 1)
		wantReply(t, try(t, "ops@dkim.example", body, "0412345679@sms.test"), 550, gosmtp.EnhancedCode{5, 7, 1}, "its DKIM signature does not verify (DKIM fail")
	})
	t.Run("unsigned refused", func(t *testing.T) {
		wantReply(t, try(t, "ops@dkim.example", mail("ops@dkim.example"), "0412345679@sms.test"), 550, gosmtp.EnhancedCode{5, 7, 1}, "the mail has no DKIM signature (DKIM none)")
	})
	t.Run("unaligned refused", func(t *testing.T) {
		wantReply(t, try(t, "ops@dkim.example", signOther(mail("ops@dkim.example")), "0412345679@sms.test"), 550, gosmtp.EnhancedCode{5, 7, 1}, "by mailer.example, not by the From domain dkim.example (DKIM unaligned)")
	})
	t.Run("From of another account refused", func(t *testing.T) {
		// A valid, aligned signature of dkim.example authorises mail of
		// dkim.example's account only, not an envelope of dkim2.example.
		wantReply(t, try(t, "ceo@dkim2.example", sign(mail("ops@dkim.example")), "0412345679@sms.test"), 550, gosmtp.EnhancedCode{5, 7, 1}, "is not registered to the same account as the envelope sender")
	})
	t.Run("balance revealed only after DKIM passed", func(t *testing.T) {
		// The zero-balance number is accepted at RCPT (nothing checked yet)
		// and refused with its real reason once the signature passed.
		err := try(t, "ops@dkim.example", sign(mail("ops@dkim.example")), "0412345678@sms.test")
		wantReply(t, err, 554, gosmtp.EnhancedCode{5, 7, 0}, "insufficient balance")
		err = try(t, "ops@dkim.example", mail("ops@dkim.example"), "0412345678@sms.test")
		if strings.Contains(err.Error(), "balance") {
			t.Fatalf("unsigned mail saw the balance: %v", err)
		}
	})
	if n := len(h.pipeline.mails()); n != before+1 {
		t.Fatalf("%d mails committed, want exactly the aligned one", n-before)
	}
	if n := testutilCount(t, h, "smsgate_smtp_dkim_total", map[string]string{"result": "pass"}); n != 3 { // aligned, balance, and the From of another account
		t.Errorf("dkim{pass} = %v, want 3", n)
	}
	if n := testutilCount(t, h, "smsgate_smtp_sender_authorised_total", map[string]string{"method": "dkim"}); n != 2 {
		t.Errorf("authorised{dkim} = %v, want 2", n)
	}
}

func plainAuth(secret string) sasl.Client { return sasl.NewPlainClient("", "anyone", secret) }

// testutilCount reads one counter of the harness's registry.
func testutilCount(t *testing.T, h *harness, name string, labels map[string]string) float64 {
	t.Helper()
	fams, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
