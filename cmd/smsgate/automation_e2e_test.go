package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/router"
)

// automationRule creates an automation rule of the sub-account through the
// API.
func (g *gateway) automationRule(body string) {
	g.t.Helper()
	if code, resp := g.do("POST", "/v1/accounts/"+g.sub.ID+"/automations", body); code != http.StatusCreated {
		g.t.Fatalf("create automation rule: %d %s", code, resp)
	}
}

// mailOne sends alice's mail to one number and returns the message id.
func (g *gateway) mailOne(ctx context.Context, to, msgID, text string) string {
	g.t.Helper()
	before, err := g.store.ListMessages(ctx, g.sub.ID, 100)
	if err != nil {
		g.t.Fatal(err)
	}
	if err := g.sendMail("alice@example.com", []string{to + "@" + smsDomain},
		plainMail("Alice <alice@example.com>", to+"@"+smsDomain, msgID, text)); err != nil {
		g.t.Fatalf("send to %s: %v", to, err)
	}
	after, err := g.store.ListMessages(ctx, g.sub.ID, 100)
	if err != nil || len(after) != len(before)+1 {
		g.t.Fatalf("messages after the mail: %d (before %d), %v", len(after), len(before), err)
	}
	seen := map[string]bool{}
	for _, m := range before {
		seen[m.ID] = true
	}
	for _, m := range after {
		if !seen[m.ID] {
			return m.ID
		}
	}
	g.t.Fatal("the new message is not in the log")
	return ""
}

// waitAutoReplySubmitted waits until an auto-reply of the sub-account has
// been submitted (so its conversation is recorded).
func (g *gateway) waitAutoReplySubmitted(ctx context.Context) {
	g.t.Helper()
	g.waitFor("the auto-reply recorded as submitted", func() bool {
		msgs, _ := g.store.ListMessages(ctx, g.sub.ID, 10)
		for _, m := range msgs {
			if router.IsAutoSender(m.Sender) && m.Status != accounts.MsgQueued {
				return true
			}
		}
		return false
	})
}

// TestAutoReplyNoLoopE2E: a rule answers "info" with "Thanks, we got it".
// The phone texts "INFO please" twice within the window, then a text with
// another first word, then answers the auto-reply itself: exactly one
// auto-reply reaches the SMSC, charged like any SMS.
func TestAutoReplyNoLoopE2E(t *testing.T) {
	g := startGateway(t)
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()
	g.automationRule(`{"name":"Info","kind":"auto_reply","keyword":"info","text":"Thanks, we got it"}`)

	orig := g.mailOne(ctx, "0412345678", "a1@example.com", "Our office hours changed. Reply INFO for details.")
	g.waitFor("the original delivered", func() bool { return g.message(orig).Status == accounts.MsgDelivered })

	const phone = "61412345678"
	// InjectMO returns once the gateway acknowledged the deliver_sm, which
	// it does after the reply hooks ran.
	for _, text := range []string{"INFO please", "info please", "Where is the office?"} {
		if err := g.sim.InjectMO(ctx, smsMO(phone, ourNumber, text)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := g.sim.WaitMessages(ctx, 2)
	if err != nil {
		t.Fatalf("simulator got %d messages: %v", len(got), err)
	}
	auto := got[1]
	if auto.Text != "Thanks, we got it" || auto.Dest != phone || auto.Source != ourNumber {
		t.Fatalf("auto-reply %+v", auto)
	}
	// The phone (or its own auto-responder) answers the auto-reply: its
	// conversation now leads to an automatic message, never automated.
	g.waitAutoReplySubmitted(ctx)
	if err := g.sim.InjectMO(ctx, smsMO(phone, ourNumber, "INFO received, thanks")); err != nil {
		t.Fatal(err)
	}

	msgs, err := g.store.ListMessages(ctx, g.sub.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	autos := 0
	for _, m := range msgs {
		if router.IsAutoSender(m.Sender) {
			autos++
		}
	}
	if autos != 1 || len(msgs) != 2 {
		t.Fatalf("%d messages, %d automatic; want the original and one auto-reply", len(msgs), autos)
	}
	g.waitFor("every message dispatched", func() bool {
		for _, m := range msgs {
			if g.message(m.ID).Status == accounts.MsgQueued {
				return false
			}
		}
		return true
	})
	if n := len(g.sim.Messages()); n != 2 {
		t.Fatalf("simulator got %d messages, want 2 (the original and one auto-reply)", n)
	}
	// Both were charged: 100 - 5 - 5.
	if b := g.balance(g.sub.ID); b != 90 {
		t.Errorf("sub balance %d, want 90", b)
	}
	// Every reply is in the inbox.
	replies, err := g.store.ListInbox(ctx, g.sub.ID, 10)
	if err != nil || len(replies) != 4 {
		t.Fatalf("inbox: %d replies, %v", len(replies), err)
	}
}

// TestReceiptNoticeE2E: with a receipt_notice rule for failures, the sender
// is mailed when a message to a number ending 999 (the simulator answers
// UNDELIV) fails, threaded under their mail, and not when one is
// delivered.
func TestReceiptNoticeE2E(t *testing.T) {
	g := startGateway(t)
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()
	g.automationRule(`{"name":"Failures","kind":"receipt_notice","notify":"failed"}`)

	ok := g.mailOne(ctx, "0412345678", "ok1@example.com", "This one arrives")
	g.waitFor("delivered", func() bool { return g.message(ok).Status == accounts.MsgDelivered })
	bad := g.mailOne(ctx, "0412345999", "bad1@example.com", "This one does not")
	g.waitFor("undeliverable", func() bool { return g.message(bad).Status == accounts.MsgUndeliverable })

	mails, err := g.sink.Wait(ctx, 1)
	if err != nil {
		t.Fatalf("notice mail: %v", err)
	}
	n := mails[0]
	for _, want := range []string{"In-Reply-To: <bad1@example.com>", "Subject: SMS NOT delivered to +61...5999",
		"NOT delivered to +61412345999: undeliverable (err ", "Auto-Submitted: auto-generated", "This one does not"} {
		if !strings.Contains(n.Data, want) {
			t.Errorf("notice lacks %q:\n%s", want, n.Data)
		}
	}
	if len(n.To) != 1 || n.To[0] != "alice@example.com" {
		t.Errorf("notice to %v", n.To)
	}
	// The delivered message's status was handled before the failed one's
	// receipt arrived, and the mailer sends in order: a notice for it would
	// have come first.
	if all := g.sink.Mails(); len(all) != 1 {
		t.Fatalf("%d mails, want only the failure notice", len(all))
	}
}
