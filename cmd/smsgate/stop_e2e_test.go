package main

import (
	"context"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

// TestStopEndToEnd: an SMS mailed to a phone; the phone
// replies "stop"; the number is on the sub-account's opt-out list and a
// confirmation SMS reaches the simulator; the sender mails that number
// again and gets 550 5.7.1 with nothing charged and a blocked record; the
// sender mails it and another number: 250, only the other is sent and
// charged, and the sender gets a notice mail threaded under their mail.
//
// Needs the Stop hook (stoprule.New, first of InboundOptions.ReplyHooks)
// and the pipeline's Notifier (the relay Mailer) wired in serve.go.
func TestStopEndToEnd(t *testing.T) {
	g := startGateway(t)
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()
	const phone, other = "61412345678", "61412000111"
	rcpt := "0412345678@" + smsDomain

	// 1. The first SMS, and the conversation it opens.
	if err := g.sendMail("alice@example.com", []string{rcpt},
		plainMail("alice@example.com", rcpt, "s1@example.com", "Meeting at 3")); err != nil {
		t.Fatalf("first send: %v", err)
	}
	if _, err := g.sim.WaitMessages(ctx, 1); err != nil {
		t.Fatalf("first SMS: %v", err)
	}
	msgs, err := g.store.ListMessages(ctx, g.sub.ID, 10)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("messages %v %v", msgs, err)
	}
	first := msgs[0].ID
	g.waitFor("first SMS submitted", func() bool { return g.message(first).SMSCID != "" })

	// 2. The phone replies "stop": opted out on the sub's own list, and
	// confirmed from the number it texted (charged like any SMS).
	if err := g.sim.InjectMO(ctx, smsMO(phone, ourNumber, "stop")); err != nil {
		t.Fatal(err)
	}
	var opt *accounts.OptOut
	g.waitFor("number on the opt-out list", func() bool {
		opt, err = g.store.GetOptOut(ctx, g.sub.ID, phone)
		return err == nil
	})
	if !strings.HasPrefix(opt.Via, "reply r") || !strings.Contains(opt.Reason, "STOP") {
		t.Errorf("opt-out record %+v", opt)
	}
	sms, err := g.sim.WaitMessages(ctx, 2)
	if err != nil {
		t.Fatalf("confirmation SMS: %v", err)
	}
	if c := sms[1]; c.Text != accounts.DefaultStopConfirmation || c.Dest != phone || c.Source != ourNumber {
		t.Errorf("confirmation SMS %+v", c)
	}
	g.waitFor("balance after the confirmation", func() bool { return g.balance(g.sub.ID) == 90 })

	// 3. Mailing that number again: refused at RCPT TO, before any
	// charge, and recorded in the blocked log.
	err = g.sendMail("alice@example.com", []string{rcpt}, plainMail("alice@example.com", rcpt, "s2@example.com", "Are you there?"))
	code, enh, text := smtpCode(t, err)
	if code != 550 || enh != [3]int{5, 7, 1} || text != "recipient *******5678 has opted out of messages from this account" {
		t.Errorf("send to an opted-out number: %d %v %q", code, enh, text)
	}
	if b := g.balance(g.sub.ID); b != 90 {
		t.Errorf("balance %d after a blocked send, want 90", b)
	}
	blocked, _, err := g.store.ListBlocked(ctx, g.sub.ID, 10, "")
	if err != nil || len(blocked) != 1 || blocked[0].To != phone || blocked[0].Status != accounts.MsgBlocked ||
		blocked[0].Price != 0 || blocked[0].Sender != "alice@example.com" {
		t.Fatalf("blocked log %+v %v", blocked, err)
	}

	// 4. That number and another, as an MTA sends it (on past a refused
	// recipient): the opted-out one is refused alone at RCPT TO, the other
	// is sent and charged.
	rcpt2 := "0412000111@" + smsDomain
	refused, err := g.sendMailEach("alice@example.com", []string{rcpt, rcpt2},
		plainMail("alice@example.com", rcpt+", "+rcpt2, "s3@example.com", "Reminder: 3pm"))
	if err != nil {
		t.Fatalf("partly refused send: %v", err)
	}
	if code, _, text := smtpCode(t, refused[rcpt]); code != 550 || !strings.Contains(text, "opted out") || len(refused) != 1 {
		t.Errorf("refused recipients %v", refused)
	}
	sms, err = g.sim.WaitMessages(ctx, 3)
	if err != nil {
		t.Fatalf("third SMS: %v", err)
	}
	if sms[2].Dest != other {
		t.Errorf("third SMS to %s, want %s", sms[2].Dest, other)
	}
	if b := g.balance(g.sub.ID); b != 85 {
		t.Errorf("balance %d, want 85 (only the other recipient charged)", b)
	}
	if blocked, _, _ := g.store.ListBlocked(ctx, g.sub.ID, 10, ""); len(blocked) != 2 {
		t.Errorf("blocked log has %d, want 2", len(blocked))
	}
}
