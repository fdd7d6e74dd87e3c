package smtp

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	gosmtp "github.com/emersion/go-smtp"
)

// postbox records what Options.Postmaster was given.
type postbox struct {
	mu   sync.Mutex
	from []string
	data []string
	err  error
}

func (p *postbox) forward(_ context.Context, from string, data []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.from = append(p.from, from)
	p.data = append(p.data, string(data))
	return nil
}

func (p *postbox) got() ([]string, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.from...), append([]string(nil), p.data...)
}

const postmasterMail = `From: nobody@elsewhere.example
To: postmaster@sms.test
Subject: Your gateway bounces my mail
Message-ID: <pm1@elsewhere.example>

Please look at the bounces from 203.0.113.9.
`

// TestPostmaster: RFC 5321 §4.5.1 through a real client. An unregistered
// sender may write to the postmaster (its MAIL is accepted provisionally and
// its SMS recipients are refused with the sender refusal); the mail is
// forwarded as it came, never turned into SMS.
func TestPostmaster(t *testing.T) {
	pb := &postbox{}
	h := start(t, func(o *Options) { o.Postmaster = pb.forward })
	c := h.dial(t, nil)

	if err := c.Mail("Nobody@Elsewhere.example", nil); err != nil {
		t.Fatalf("MAIL of an unknown sender: %v (must be deferred for postmaster)", err)
	}
	wantReply(t, c.Rcpt("0412345678@sms.test", nil), 550, gosmtp.EnhancedCode{5, 7, 1},
		"sender <nobody@elsewhere.example> is not registered for email to SMS")
	wantReply(t, c.Rcpt("0412345678@sms.test", nil), 550, gosmtp.EnhancedCode{5, 7, 1}, "is not registered")
	wantReply(t, c.Rcpt("staff@sms.test", nil), 550, gosmtp.EnhancedCode{5, 7, 1}, "is not registered") // a group name
	wantReply(t, c.Rcpt("postmaster@example.org", nil), 550, gosmtp.EnhancedCode{5, 7, 1}, "is not registered")
	// The refused sender cannot start another transaction without RSET.
	wantReply(t, c.Mail("someone@a.example", nil), 503, gosmtp.EnhancedCode{5, 5, 1}, "nested MAIL")
	if err := c.Rcpt("PostMaster@SMS.test", nil); err != nil {
		t.Fatalf("RCPT postmaster: %v", err)
	}
	reply, err := send(c, postmasterMail)
	if err != nil {
		t.Fatalf("DATA for postmaster: %v", err)
	}
	if !strings.Contains(reply, "queued for the postmaster") {
		t.Errorf("reply %q", reply)
	}
	from, data := pb.got()
	if len(data) != 1 || from[0] != "nobody@elsewhere.example" || !strings.Contains(data[0], "Please look at the bounces") ||
		!strings.Contains(data[0], "Subject: Your gateway bounces my mail") {
		t.Fatalf("forwarded %q %q", from, data)
	}

	// A registered sender: forwarded, no SMS, nothing charged. (The bare
	// <postmaster> without a domain is refused by go-smtp's parser, 501,
	// before the session sees it.)
	if err := c.Mail("someone@a.example", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("postmaster@sms.test.", nil); err != nil {
		t.Fatalf("RCPT postmaster: %v", err)
	}
	if _, err := send(c, postmasterMail); err != nil {
		t.Fatal(err)
	}
	if _, data := pb.got(); len(data) != 2 {
		t.Fatalf("forwarded %d mails, want 2", len(data))
	}
	if n := len(h.pipeline.mails()); n != 0 {
		t.Fatalf("%d mails became SMS", n)
	}

	// Postmaster and a number in one transaction: both get the mail.
	if err := c.Mail("someone@a.example", nil); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"postmaster@sms.test", "0412345678@sms.test"} {
		if err := c.Rcpt(to, nil); err != nil {
			t.Fatalf("RCPT %s: %v", to, err)
		}
	}
	if _, err := send(c, plainMail); err != nil {
		t.Fatal(err)
	}
	if _, data := pb.got(); len(data) != 3 {
		t.Fatalf("forwarded %d mails, want 3", len(data))
	}
	if m := h.pipeline.mails(); len(m) != 1 || len(m[0].Recipients) != 1 || m[0].Recipients[0] != "61412345678" {
		t.Fatalf("SMS %+v", m)
	}
}

// TestPostmasterNotConfigured: without an operator address the mail is
// still accepted (RFC 5321 says MUST), and not sent as SMS. The sender here
// is the null reverse-path of a bounce, the most common postmaster mail.
func TestPostmasterNotConfigured(t *testing.T) {
	h := start(t, nil)
	c := h.dial(t, nil)
	if err := c.Mail("", nil); err != nil {
		t.Fatalf("MAIL FROM:<>: %v", err)
	}
	if err := c.Rcpt("postmaster@sms.test", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := send(c, postmasterMail); err != nil {
		t.Fatalf("DATA: %v", err)
	}
	if n := len(h.pipeline.mails()); n != 0 {
		t.Fatalf("%d mails became SMS", n)
	}
}

// TestPostmasterForwardFails: a forward that cannot be queued is a
// temporary failure, so the client retries.
func TestPostmasterForwardFails(t *testing.T) {
	pb := &postbox{err: errors.New("mail queue full")}
	h := start(t, func(o *Options) { o.Postmaster = pb.forward })
	c := h.dial(t, nil)
	if err := c.Mail("nobody@elsewhere.example", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("postmaster@sms.test", nil); err != nil {
		t.Fatal(err)
	}
	_, err := send(c, postmasterMail)
	wantReply(t, err, 451, gosmtp.EnhancedCode{4, 3, 0}, "postmaster's mailbox is not available")
	if strings.Contains(err.Error(), "queue full") {
		t.Fatalf("reply leaks the internal error: %v", err)
	}
}
