package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// TestSenderPolicyE2E drives the sender policy through the running daemon
// with a real SMTP client, the policy set through the API and a real DNS
// server on loopback as the gateway's resolver: a spoofed sender is
// refused with the reason, and each authorising method (SPF, DKIM, AUTH,
// allowed network) is accepted; a failed AUTH blocks unauthenticated mail;
// only accepted mail is charged.
func TestSenderPolicyE2E(t *testing.T) {
	g := startGateway(t)
	sub := g.sub.ID
	// Registered through the API: pending until the TXT token is verified.
	challenges := map[string]struct {
		Name  string `json:"txt_name"`
		Value string `json:"txt_value"`
	}{}
	for _, d := range []string{"spf.example.org", "signed.example.org"} {
		code, body := g.do("POST", "/v1/accounts/"+sub+"/domains", `{"domain":"`+d+`"}`)
		if code != http.StatusCreated {
			t.Fatalf("add domain %s: %d %s", d, code, body)
		}
		c := challenges[d]
		if err := json.Unmarshal([]byte(body), &c); err != nil || c.Value == "" {
			t.Fatalf("challenge of %s: %s", d, body)
		}
		challenges[d] = c
	}
	g.dns.TXT("spf.example.org", "v=spf1 ip4:127.0.0.1 -all")
	t.Run("pending domain refused", func(t *testing.T) {
		code, enh, text := smtpCode(t, g.sendMail("ops@spf.example.org", []string{"0412345678@" + smsDomain},
			plainMail("ops@spf.example.org", "0412345678@"+smsDomain, "pend1@x", "Too early")))
		if code != 550 || enh != [3]int{5, 7, 1} || !strings.Contains(text, "sender domain spf.example.org is registered but not verified yet") {
			t.Fatalf("pending: %d %v %q", code, enh, text)
		}
	})
	for d, c := range challenges {
		g.dns.TXT(c.Name, c.Value)
		if code, body := g.do("POST", "/v1/accounts/"+sub+"/domains/"+d+"/verify", ""); code != http.StatusOK {
			t.Fatalf("verify %s: %d %s", d, code, body)
		}
	}
	// The sub-account trusts SPF and DKIM, not the parent's network.
	if code, body := g.do("PUT", "/v1/accounts/"+sub+"/sender-policy", `{"networks":[],"spf":true,"dkim":true}`); code != http.StatusOK || !strings.Contains(strings.ReplaceAll(body, " ", ""), `"source":"account"`) {
		t.Fatalf("set policy: %d %s", code, body)
	}
	g.dns.TXT("signed.example.org", "v=spf1 ip4:192.0.2.1 -all")
	sign := publishDKIM(t, g, "signed.example.org", "sel1")
	balance0 := g.balance(sub)
	to := []string{"0412345678@" + smsDomain}
	mail := func(from, id, text string) string { return plainMail(from, to[0], id, text) }

	t.Run("spoofed sender refused", func(t *testing.T) {
		err := g.sendMail("alice@example.com", to, mail("alice@example.com", "spoof1@x", "Pay the invoice today"))
		code, enh, text := smtpCode(t, err)
		if code != 550 || enh != [3]int{5, 7, 1} ||
			!strings.Contains(text, "sender domain example.com publishes no SPF record, so it does not authorise 127.0.0.1 (SPF none)") ||
			!strings.Contains(text, "the mail has no DKIM signature (DKIM none)") || !strings.Contains(text, "use SMTP AUTH") {
			t.Fatalf("spoofed: %d %v %q", code, enh, text)
		}
		if strings.Contains(text, "balance") || strings.Contains(text, "AUD") {
			t.Fatalf("refusal reveals money: %q", text)
		}
	})
	t.Run("spf pass", func(t *testing.T) {
		// The refusal of the pending domain may still be cached for
		// smtp.sender_cache: the client retries, as an MTA would.
		g.waitFor("the verified domain", func() bool {
			return g.sendMail("ops@spf.example.org", to, mail("ops@spf.example.org", "spf1@x", "SPF says hello")) == nil
		})
	})
	t.Run("dkim aligned", func(t *testing.T) {
		if err := g.sendMail("ops@signed.example.org", to, sign(mail("ops@signed.example.org", "dkim1@x", "DKIM says hello"))); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("dkim tampered", func(t *testing.T) {
		body := strings.Replace(sign(mail("ops@signed.example.org", "dkim2@x", "DKIM says hello")), "hello", "HELLO", 1)
		code, _, text := smtpCode(t, g.sendMail("ops@signed.example.org", to, body))
		if code != 550 || !strings.Contains(text, "(SPF fail)") || !strings.Contains(text, "(DKIM fail") {
			t.Fatalf("tampered: %d %q", code, text)
		}
	})
	t.Run("auth with the account's key", func(t *testing.T) {
		code, body := g.do("POST", "/v1/accounts/"+sub+"/keys", `{"role":"advanced","name":"outlook"}`)
		if code != http.StatusCreated {
			t.Fatalf("create key: %d %s", code, body)
		}
		var k struct {
			Secret string `json:"secret"`
		}
		if err := json.Unmarshal([]byte(body), &k); err != nil || k.Secret == "" {
			t.Fatalf("key: %s", body)
		}
		c, err := gosmtp.Dial(g.smtpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Hello("client.example.com"); err != nil {
			t.Fatal(err)
		}
		if err := c.Auth(sasl.NewPlainClient("", "alice@example.com", k.Secret)); err != nil {
			t.Fatal(err)
		}
		if err := c.SendMail("alice@example.com", to, strings.NewReader(mail("alice@example.com", "auth1@x", "AUTH says hello"))); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("auth with a user's password sends as the user", func(t *testing.T) {
		carol, err := g.store.CreateUser(t.Context(), "carol@example.com", "Carol", "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.store.AddMember(t.Context(), sub, carol.ID, "basic"); err != nil {
			t.Fatal(err)
		}
		c, err := gosmtp.Dial(g.smtpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Hello("client.example.com"); err != nil {
			t.Fatal(err)
		}
		if err := c.Auth(sasl.NewPlainClient("", "carol@example.com", "correct horse battery")); err != nil {
			t.Fatal(err)
		}
		// A shared mailbox of the account: the message is still Carol's.
		if err := c.SendMail("frontdesk@example.com", to, strings.NewReader(mail("frontdesk@example.com", "user1@x", "Carol says hello"))); err != nil {
			t.Fatal(err)
		}
		msgs, err := g.store.ListMessages(t.Context(), sub, 20)
		if err != nil {
			t.Fatal(err)
		}
		var sender string
		for _, m := range msgs {
			if m.Text == "Carol says hello" {
				sender = m.Sender
			}
		}
		if sender != "carol@example.com" {
			t.Fatalf("message recorded as sent by %q, want carol@example.com", sender)
		}
		code, body := g.get("/v1/accounts/" + sub + "/stats?by=sender&sender=carol@example.com")
		if code != http.StatusOK || !strings.Contains(body, "carol@example.com") {
			t.Fatalf("per-user statistics: %d %s", code, body)
		}
	})
	t.Run("failed auth then unauthenticated", func(t *testing.T) {
		c, err := gosmtp.Dial(g.smtpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Hello("client.example.com"); err != nil {
			t.Fatal(err)
		}
		if err := c.Auth(sasl.NewPlainClient("", "alice@example.com", "guessed")); err == nil {
			t.Fatal("a guessed key authenticated")
		}
		// spf.example.org would pass SPF: a failed AUTH still blocks it.
		code, _, text := smtpCode(t, c.Mail("ops@spf.example.org", nil))
		if code != 530 || !strings.Contains(text, "authentication failed earlier") {
			t.Fatalf("after a failed AUTH: %d %q", code, text)
		}
	})
	t.Run("inherited network", func(t *testing.T) {
		if code, body := g.do("PUT", "/v1/accounts/"+sub+"/sender-policy", `{"inherit":true}`); code != http.StatusOK || !strings.Contains(strings.ReplaceAll(body, " ", ""), `"source":"parent"`) {
			t.Fatalf("inherit: %d %s", code, body)
		}
		// The sender cache (smtp.sender_cache) may hold the old policy
		// briefly: the client retries as an MTA would.
		g.waitFor("the parent's network policy", func() bool {
			return g.sendMail("alice@example.com", to, mail("alice@example.com", "net1@x", "Network says hello")) == nil
		})
	})
	g.waitFor("five SMS at the carrier", func() bool { return len(g.sim.Messages()) >= 5 })
	var texts []string
	for _, m := range g.sim.Messages() {
		texts = append(texts, m.Text)
	}
	if len(texts) != 5 || strings.Contains(strings.Join(texts, "|"), "invoice") || strings.Contains(strings.Join(texts, "|"), "HELLO") {
		t.Fatalf("SMS at the carrier: %q", texts)
	}
	if got := g.balance(sub); got != balance0-5*5 {
		t.Fatalf("balance %d, want %d: only the five accepted mails are charged", got, balance0-5*5)
	}
	_, metrics := g.get("/metrics")
	for _, want := range []string{
		`smsgate_smtp_sender_authorised_total{method="spf"} 1`,
		`smsgate_smtp_sender_authorised_total{method="dkim"} 1`,
		`smsgate_smtp_sender_authorised_total{method="auth"} 2`,
		`smsgate_smtp_auth_total{kind="user_password",result="success"} 1`,
		`smsgate_smtp_auth_total{kind="account_key",result="success"} 1`,
		`smsgate_smtp_auth_total{kind="user_password",result="failure"} 1`,
		`smsgate_smtp_sender_authorised_total{method="network"} 1`,
		`smsgate_smtp_dkim_total{result="fail"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Two refusals at least (spoofed, tampered; the cache may add retries).
	if strings.Contains(metrics, `smsgate_smtp_messages_total{reason="policy_dkim",result="rejected"} 0`) ||
		strings.Contains(metrics, `smsgate_smtp_messages_total{reason="policy_dkim",result="rejected"} 1`+"\n") {
		t.Errorf("policy refusals not counted")
	}
}

// publishDKIM publishes an RSA key for selector._domainkey.domain on the
// gateway's DNS and returns a signer of CRLF mails.
func publishDKIM(t *testing.T, g *gateway, domain, selector string) func(string) string {
	t.Helper()
	key := g.dns.DKIMKey(t, domain, selector)
	return func(msg string) string {
		var out bytes.Buffer
		if err := dkim.Sign(&out, strings.NewReader(msg), &dkim.SignOptions{Domain: domain, Selector: selector, Signer: key}); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
}
