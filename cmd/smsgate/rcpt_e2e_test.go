package main

import (
	"context"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// TestRecipientsAnsweredOneByOne: every check that depends only on the
// sender and a recipient answers at RCPT TO, so a mail to a good number, an
// invalid one, an opted-out one and one abroad (no global_sending) is
// refused for the bad ones alone, each with its own reply, and sent and
// charged once for the good one. With global_sending, a number no link
// routes is refused at RCPT TO with 550 5.4.4.
func TestRecipientsAnsweredOneByOne(t *testing.T) {
	g := startGateway(t, func(c *config.Config, _ *smsctest.Options) {
		c.SMTP.SenderCache = 0 // the permission change below takes effect at once
		l := config.DefaultLink()
		l.Name, l.Prefixes = "au", []string{"61"}
		c.Links = []config.Link{l}
	})
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()
	if _, err := g.store.AddOptOut(ctx, g.sub.ID, accounts.OptOut{Number: "61412000222", Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	good, invalid, optedOut, abroad := "0412000333@"+smsDomain, "12ab@"+smsDomain, "0412000222@"+smsDomain, "+447911123456@"+smsDomain
	refused, err := g.sendMailEach("alice@example.com", []string{invalid, good, optedOut, abroad},
		plainMail("alice@example.com", good, "r1@example.com", "one of four"))
	if err != nil {
		t.Fatalf("mail: %v", err)
	}
	want := map[string]struct {
		code     int
		enh      [3]int
		contains string
	}{
		invalid:  {550, [3]int{5, 1, 3}, "letters are not allowed"},
		optedOut: {550, [3]int{5, 7, 1}, "recipient *******0222 has opted out"},
		abroad:   {550, [3]int{5, 7, 1}, "permission global_sending"},
	}
	if len(refused) != len(want) {
		t.Errorf("refused %v, want exactly %d refusals", refused, len(want))
	}
	for rcpt, w := range want {
		code, enh, text := smtpCode(t, refused[rcpt])
		if code != w.code || enh != w.enh || !strings.Contains(text, w.contains) {
			t.Errorf("RCPT %s: %d %v %q, want %d %v containing %q", rcpt, code, enh, text, w.code, w.enh, w.contains)
		}
	}
	got, err := g.sim.WaitMessages(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Dest != "61412000333" {
		t.Errorf("SMS to %s, want 61412000333", got[0].Dest)
	}
	if b := g.balance(g.sub.ID); b != 95 {
		t.Errorf("balance %d, want 95 (one recipient charged once)", b)
	}

	// With global_sending the number abroad passes the permission check but
	// no link serves +44: refused at RCPT TO, the AU number is still sent.
	perms := accounts.DefaultPermissions()
	perms.Granted = append(perms.Granted, accounts.FlagGlobalSending)
	perms.Enabled = append(perms.Enabled, accounts.FlagGlobalSending)
	if err := g.store.SetPermissions(ctx, g.sub.ID, perms, true); err != nil {
		t.Fatal(err)
	}
	refused, err = g.sendMailEach("alice@example.com", []string{abroad, good},
		plainMail("alice@example.com", good, "r2@example.com", "route check"))
	if err != nil {
		t.Fatalf("mail: %v", err)
	}
	code, enh, text := smtpCode(t, refused[abroad])
	if code != 550 || enh != [3]int{5, 4, 4} || !strings.Contains(text, "no route") || len(refused) != 1 {
		t.Errorf("RCPT %s: %d %v %q (refused %v), want 550 5.4.4 no route", abroad, code, enh, text, refused)
	}
	if _, err := g.sim.WaitMessages(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if b := g.balance(g.sub.ID); b != 90 {
		t.Errorf("balance %d, want 90", b)
	}
	// The opted-out attempt is in the blocked log, uncharged.
	blocked, _, err := g.store.ListBlocked(ctx, g.sub.ID, 10, "")
	if err != nil || len(blocked) != 1 || blocked[0].To != "61412000222" || blocked[0].Price != 0 {
		t.Errorf("blocked log %+v %v", blocked, err)
	}
}
