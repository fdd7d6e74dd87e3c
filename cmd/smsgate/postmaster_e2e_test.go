package main

import (
	"context"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// TestPostmasterEndToEnd: a sender the gateway does not know writes to
// postmaster@<sms-domain> through a real SMTP client (RFC 5321 §4.5.1).
// The mail reaches smtp.postmaster through the relay, unchanged but for the
// Resent-* headers; its SMS recipient in the same transaction is refused as
// an unknown sender; nothing is charged.
func TestPostmasterEndToEnd(t *testing.T) {
	g := startGateway(t, func(c *config.Config, _ *smsctest.Options) { c.SMTP.Postmaster = "ops@example.net" })
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()
	parent, sub := g.balance(g.parent.ID), g.balance(g.sub.ID)

	from := "stranger@nowhere.example"
	pm := "Postmaster@" + strings.ToUpper(smsDomain)
	number := "0412345678@" + smsDomain
	refused, err := g.sendMailEach(from, []string{number, pm},
		plainMail(from, pm, "pm1@nowhere.example", "Your gateway rejects our invoices"))
	if err != nil {
		t.Fatalf("mail to postmaster: %v", err)
	}
	if len(refused) != 1 || refused[number] == nil {
		t.Fatalf("refused %v, want only %s", refused, number)
	}
	if code, enh, msg := smtpCode(t, refused[number]); code != 550 || enh != [3]int{5, 7, 1} || !strings.Contains(msg, from) {
		t.Fatalf("number from an unknown sender: %d %v %q", code, enh, msg)
	}
	mails, err := g.sink.Wait(ctx, 1)
	if err != nil {
		t.Fatalf("no mail at the relay: %v", err)
	}
	m := mails[0]
	if len(m.To) != 1 || m.To[0] != "ops@example.net" {
		t.Fatalf("forwarded to %v", m.To)
	}
	for _, want := range []string{"Resent-To: ops@example.net", "X-Smsgate-Envelope-From: " + from,
		"Message-ID: <pm1@nowhere.example>", "Your gateway rejects our invoices"} {
		if !strings.Contains(m.Data, want) {
			t.Errorf("forwarded mail lacks %q:\n%s", want, m.Data)
		}
	}
	// A bounce (null reverse-path) to the postmaster is forwarded too.
	if refused, err := g.sendMailEach("", []string{pm}, plainMail("MAILER-DAEMON@nowhere.example", pm, "dsn1@nowhere.example", "Delivery failed")); err != nil || len(refused) != 0 {
		t.Fatalf("bounce to postmaster: %v %v", refused, err)
	}
	if mails, err := g.sink.Wait(ctx, 2); err != nil || !strings.Contains(mails[1].Data, "X-Smsgate-Envelope-From: <>") {
		t.Fatalf("bounce not forwarded: %v %v", mails, err)
	}
	if g.balance(g.parent.ID) != parent || g.balance(g.sub.ID) != sub {
		t.Fatal("mail to the postmaster was charged")
	}
	if n := g.sim.Stats().Submits; n != 0 {
		t.Fatalf("%d SMS sent", n)
	}
}
