package smtp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/router"
	"github.com/smsgate/smsgate/smtp/exterr"
)

func TestSendAccepted(t *testing.T) {
	h := start(t, nil)
	c := h.dial(t, nil)
	if err := c.Mail("Someone@A.example", nil); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"0412345678@sms.test", "+447911123456@SMS.TEST"} {
		if err := c.Rcpt(to, nil); err != nil {
			t.Fatalf("RCPT %s: %v", to, err)
		}
	}
	text, err := send(c, plainMail)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^(2\.0\.0 )?queued as m1,m2 \(session [0-9a-f]{12}\)$`).MatchString(text) {
		t.Fatalf("reply text %q", text)
	}
	got := h.pipeline.mails()
	if len(got) != 1 {
		t.Fatalf("Accept called %d times", len(got))
	}
	m := got[0]
	if m.Sender.Account != acctA || m.Sender.Address != "someone@a.example" || m.Sender.Match != "domain" {
		t.Errorf("sender %+v", m.Sender)
	}
	if want := []string{"61412345678", "447911123456"}; !slices.Equal(m.Recipients, want) {
		t.Errorf("recipients %v, want %v", m.Recipients, want)
	}
	if m.MailID != "abc@a.example" || m.Subject != "Hello" || m.Text != "Meeting moved to 3pm." {
		t.Errorf("mail %+v", m)
	}
	// The session goes on: a second transaction on the same connection.
	if err := c.Mail("someone@a.example", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("0412345678@sms.test", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := send(c, plainMail); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

func TestRecipients(t *testing.T) {
	h := start(t, nil)
	c := h.dial(t, nil)
	if err := c.Mail("boss@b.example", nil); err != nil { // GB account
		t.Fatal(err)
	}
	steps := []struct {
		to   string
		code int // 0: accepted
		enh  gosmtp.EnhancedCode
		text string
	}{
		{to: "07911123456@sms.test"},
		{to: "+44.7911.123.456@sms.test"}, // duplicate: collapsed
		{to: `"+44 (0)7911 123-456"@sms.test`},
		{to: "0412345678@example.org", code: 550, enh: gosmtp.EnhancedCode{5, 1, 2}, text: "example.org is not an SMS domain of this gateway"},
		{to: "call-me@sms.test", code: 550, enh: gosmtp.EnhancedCode{5, 1, 3}, text: `letters are not allowed in a number: "call-me"`},
		{to: "0791@sms.test", code: 550, enh: gosmtp.EnhancedCode{5, 1, 3}, text: `"0791" is not a valid GB number (+44 0791 is not a number in use for GB); write it in international form: + then the country code and the number without its trunk 0, such as +44 7400 123456 (GB mobile)`},
		{to: "+9991234567@sms.test", code: 550, enh: gosmtp.EnhancedCode{5, 1, 3}, text: "unknown country calling code"},
		{to: "07400111111@sms.test"},
		{to: "07400222222@sms.test"},
		{to: "07400333333@sms.test", code: 452, enh: gosmtp.EnhancedCode{4, 5, 3}, text: "too many recipients (max 3)"},
		{to: "447911123456@sms.test"}, // a duplicate is fine even at the limit
	}
	for _, st := range steps {
		err := c.Rcpt(st.to, nil)
		if st.code == 0 {
			if err != nil {
				t.Fatalf("RCPT %s: %v", st.to, err)
			}
			continue
		}
		wantReply(t, err, st.code, st.enh, st.text)
	}
	if _, err := send(c, plainMail); err != nil {
		t.Fatal(err)
	}
	want := []string{"447911123456", "447400111111", "447400222222"}
	if got := h.pipeline.mails()[0].Recipients; !slices.Equal(got, want) {
		t.Fatalf("recipients %v, want %v", got, want)
	}
}

// TestRefusals drives each refusal through a real session and checks code,
// enhanced code and text.
func TestRefusals(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*Options)
		setup  func(*harness)
		from   string
		stage  string // where the refusal comes: "mail", "rcpt" (a sender refusal, deferred: postmaster.go) or "data"
		code   int
		enh    gosmtp.EnhancedCode
		text   string
		hidden string // must not appear in the reply
	}{
		{name: "unknown sender", from: "nobody@elsewhere.example", stage: "rcpt",
			code: 550, enh: gosmtp.EnhancedCode{5, 7, 1}, text: "sender <nobody@elsewhere.example> is not registered for email to SMS"},
		{name: "deactivated account", from: "x@gone.example", stage: "rcpt",
			code: 550, enh: gosmtp.EnhancedCode{5, 7, 1}, text: "account is deactivated"},
		{name: "resolver deactivated", from: "someone@a.example", stage: "rcpt",
			setup: func(h *harness) { h.resolver.ResolveErr = fmt.Errorf("lookup: %w", accounts.ErrDeactivated) },
			code:  550, enh: gosmtp.EnhancedCode{5, 7, 1}, text: "account is deactivated"},
		{name: "resolver internal", from: "someone@a.example", stage: "mail",
			setup: func(h *harness) { h.resolver.ResolveErr = errors.New("dial redis 10.0.0.1: refused") },
			code:  451, enh: gosmtp.EnhancedCode{4, 3, 0}, text: "internal error (ref ", hidden: "redis"},
		{name: "tls required", from: "someone@a.example", stage: "mail",
			edit: func(o *Options) { o.RequireTLS = true },
			code: 530, enh: gosmtp.EnhancedCode{5, 7, 0}, text: "STARTTLS"},
		{name: "insufficient balance", from: "someone@a.example", stage: "data",
			setup: func(h *harness) {
				h.pipeline.AcceptErr = fmt.Errorf("debit a1: %w", &accounts.BalanceError{Need: 16, Have: 5, Currency: "AUD"})
			},
			code: 554, enh: gosmtp.EnhancedCode{5, 7, 0}, text: "insufficient balance: needs", hidden: "debit a1"},
		{name: "too long", from: "someone@a.example", stage: "data",
			setup: func(h *harness) {
				h.pipeline.AcceptErr = fmt.Errorf("price: %w", exterr.Permanent(554, [3]int{5, 3, 4}, "too_long", &router.TooLongError{Parts: 12, Limit: 10}))
			},
			code: 554, enh: gosmtp.EnhancedCode{5, 3, 4}, text: "message text needs 12 SMS parts, the account allows 10"},
		{name: "empty", from: "someone@a.example", stage: "data",
			setup: func(h *harness) {
				h.pipeline.AcceptErr = exterr.New(554, [3]int{5, 6, 0}, "empty", "message has no text", router.ErrEmpty)
			},
			code: 554, enh: gosmtp.EnhancedCode{5, 6, 0}, text: "message has no text"},
		{name: "no route", from: "someone@a.example", stage: "data",
			setup: func(h *harness) {
				h.pipeline.AcceptErr = exterr.Permanent(554, [3]int{5, 4, 4}, "no_route", fmt.Errorf("%w for 61412345678", router.ErrNoRoute))
			},
			code: 554, enh: gosmtp.EnhancedCode{5, 4, 4}, text: "no route to destination for 61412345678"},
		{name: "accept internal", from: "someone@a.example", stage: "data",
			setup: func(h *harness) { h.pipeline.AcceptErr = errors.New("EVALSHA: NOSCRIPT") },
			code:  451, enh: gosmtp.EnhancedCode{4, 3, 0}, text: "internal error (ref ", hidden: "NOSCRIPT"},
		{name: "accept timeout", from: "someone@a.example", stage: "data",
			edit:  func(o *Options) { o.CommandTimeout = 50 * time.Millisecond },
			setup: func(h *harness) { h.pipeline.Block = make(chan struct{}) },
			code:  451, enh: gosmtp.EnhancedCode{4, 4, 5}, text: "timed out"},
		{name: "message too large", from: "someone@a.example", stage: "data",
			edit: func(o *Options) { o.MaxMessageBytes = 300 },
			code: 552, enh: gosmtp.EnhancedCode{5, 3, 4}, text: "message exceeds the size limit of 300 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, tt.edit)
			if tt.setup != nil {
				tt.setup(h)
			}
			c := h.dial(t, nil)
			err := c.Mail(tt.from, nil)
			if tt.stage == "rcpt" {
				if err != nil {
					t.Fatalf("MAIL: %v (a sender refusal is deferred to RCPT)", err)
				}
				err = c.Rcpt("0412345678@sms.test", nil)
			}
			if tt.stage == "data" {
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Rcpt("0412345678@sms.test", nil); err != nil {
					t.Fatal(err)
				}
				_, err = send(c, plainMail+strings.Repeat("padding line\n", 30))
			}
			wantReply(t, err, tt.code, tt.enh, tt.text)
			if tt.hidden != "" && strings.Contains(err.Error(), tt.hidden) {
				t.Fatalf("reply %q leaks %q", err, tt.hidden)
			}
		})
	}
}

func TestDrain(t *testing.T) {
	h := start(t, nil)
	inflight := h.dial(t, nil)
	if err := inflight.Mail("someone@a.example", nil); err != nil {
		t.Fatal(err)
	}
	if err := inflight.Rcpt("0412345678@sms.test", nil); err != nil {
		t.Fatal(err)
	}
	h.backend.Drain()
	// The transaction that began before Drain completes.
	if _, err := send(inflight, plainMail); err != nil {
		t.Fatalf("in-flight DATA: %v", err)
	}
	// New transactions, on old and new connections, are refused.
	wantReply(t, inflight.Mail("someone@a.example", nil), 421, gosmtp.EnhancedCode{4, 3, 2}, "shutting down")
	wantReply(t, h.dial(t, nil).Mail("someone@a.example", nil), 421, gosmtp.EnhancedCode{4, 3, 2}, "shutting down")
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name   string
		client sasl.Client
		from   string
		code   int // of the AUTH reply; 0: success
		mail   int // of the MAIL reply; 0: success
		enh    gosmtp.EnhancedCode
		text   string
	}{
		{name: "plain", client: sasl.NewPlainClient("", "anyone", "secret-a"), from: "someone@a.example"},
		{name: "login", client: sasl.NewLoginClient("anyone", "secret-b"), from: "boss@b.example"},
		{name: "plain bad key", client: sasl.NewPlainClient("", "anyone", "wrong"),
			code: 535, enh: gosmtp.EnhancedCode{5, 7, 8}, text: "authentication failed"},
		{name: "login bad key", client: sasl.NewLoginClient("anyone", "wrong"),
			code: 535, enh: gosmtp.EnhancedCode{5, 7, 8}, text: "authentication failed"},
		{name: "key of another account", client: sasl.NewPlainClient("", "", "secret-b"), from: "someone@a.example",
			mail: 550, enh: gosmtp.EnhancedCode{5, 7, 1}, text: "does not belong to the account of someone@a.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, nil)
			c := h.dial(t, nil)
			if ok, _ := c.Extension("AUTH"); !ok {
				t.Fatal("AUTH not offered with AllowInsecureAuth")
			}
			err := c.Auth(tt.client)
			if tt.code != 0 {
				wantReply(t, err, tt.code, tt.enh, tt.text)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			err = c.Mail(tt.from, nil)
			if tt.mail != 0 {
				if err == nil { // a sender refusal comes at RCPT (postmaster.go)
					err = c.Rcpt("0412345678@sms.test", nil)
				}
				wantReply(t, err, tt.mail, tt.enh, tt.text)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestAuthFailureEndsUnauthenticated: after a failed AUTH the session may
// not send unauthenticated (530 5.7.0), even from a registered sender; a
// later successful AUTH sends.
func TestAuthFailureEndsUnauthenticated(t *testing.T) {
	h := start(t, nil)
	c := h.dial(t, nil)
	err := c.Auth(sasl.NewPlainClient("", "anyone", "wrong"))
	wantReply(t, err, 535, gosmtp.EnhancedCode{5, 7, 8}, "authentication failed")
	err = c.Mail("someone@a.example", nil)
	wantReply(t, err, 530, gosmtp.EnhancedCode{5, 7, 0}, "authentication failed earlier in this session")
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("someone@a.example", nil); err == nil {
		t.Fatal("RSET let an unauthenticated sender through after a failed AUTH")
	}
	if err := c.Auth(sasl.NewPlainClient("", "anyone", "secret-a")); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("someone@a.example", nil); err != nil {
		t.Fatalf("MAIL after a successful AUTH: %v", err)
	}
}

// TestNestedMail: a second MAIL FROM inside an open transaction is a
// sequence error (RFC 5321 §4.1.4), and RSET ends the transaction.
func TestNestedMail(t *testing.T) {
	h := start(t, nil)
	c := h.dial(t, nil)
	if err := c.Mail("someone@a.example", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("0412345678@sms.test", nil); err != nil {
		t.Fatal(err)
	}
	wantReply(t, c.Mail("boss@b.example", nil), 503, gosmtp.EnhancedCode{5, 5, 1}, "nested MAIL command")
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("boss@b.example", nil); err != nil {
		t.Fatalf("MAIL after RSET: %v", err)
	}
	if err := c.Rcpt("07911123456@sms.test", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := send(c, plainMail); err != nil {
		t.Fatal(err)
	}
	if got := h.pipeline.mails(); len(got) != 1 || got[0].Sender.Account.ID != "b1" {
		t.Fatalf("mails %+v, want one from b1", got)
	}
}

func TestAuthNotOfferedWithoutTLS(t *testing.T) {
	h := start(t, func(o *Options) { o.AllowInsecureAuth = false })
	c := h.dial(t, nil)
	if ok, _ := c.Extension("AUTH"); ok {
		t.Fatal("AUTH offered over plain text")
	}
}

func TestStartTLS(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	h := start(t, func(o *Options) {
		o.TLSConfig = serverTLS
		o.RequireTLS = true
		o.AllowInsecureAuth = false
	})
	plain := h.dial(t, nil)
	if ok, _ := plain.Extension("STARTTLS"); !ok {
		t.Fatal("STARTTLS not offered")
	}
	wantReply(t, plain.Mail("someone@a.example", nil), 530, gosmtp.EnhancedCode{5, 7, 0}, "STARTTLS")

	c := h.dial(t, clientTLS)
	if _, ok := c.TLSConnectionState(); !ok {
		t.Fatal("no TLS after STARTTLS")
	}
	if ok, _ := c.Extension("AUTH"); !ok {
		t.Fatal("AUTH not offered over TLS")
	}
	if err := c.Auth(sasl.NewPlainClient("", "", "secret-a")); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("someone@a.example", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("0412345678@sms.test", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := send(c, plainMail); err != nil {
		t.Fatal(err)
	}
}

// selfSigned makes a certificate for 127.0.0.1 and the configs that trust it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "gw.test"},
		DNSNames:     []string{"gw.test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
	}
	return server, &tls.Config{RootCAs: pool, ServerName: "gw.test", MinVersion: tls.VersionTLS12}
}

// TestRootCancel checks that sessions derive their context from the root:
// an Accept blocked on it ends when the root does.
func TestRootCancel(t *testing.T) {
	h := start(t, func(o *Options) { o.CommandTimeout = 0 })
	h.pipeline.Block = make(chan struct{})
	c := h.dial(t, nil)
	if err := c.Mail("someone@a.example", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("0412345678@sms.test", nil); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { _, err := send(c, plainMail); errc <- err }()
	h.cancel()
	select {
	case err := <-errc:
		wantReply(t, err, 421, gosmtp.EnhancedCode{4, 3, 2}, "shutting down")
	case <-time.After(5 * time.Second):
		t.Fatal("Accept not cancelled with the root context")
	}
	if len(h.pipeline.mails()) != 0 {
		t.Fatal("a cancelled Accept was recorded")
	}
}
