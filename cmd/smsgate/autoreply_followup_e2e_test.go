package main

import (
	"context"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

// TestReplyAfterAutoReplyReachesStaff: alice mails Bob; Bob's "INFO" gets
// an auto-reply; Bob's next text belongs to the auto-reply's conversation,
// yet it is still mailed to alice, threaded under her mail.
func TestReplyAfterAutoReplyReachesStaff(t *testing.T) {
	g := startGateway(t)
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()
	g.automationRule(`{"name":"Info","kind":"auto_reply","keyword":"info","text":"Office hours: 9 to 5"}`)
	orig := g.mailOne(ctx, "0412345678", "staff-1@example.com", "Can you call me back?")
	g.waitFor("the original delivered", func() bool { return g.message(orig).Status == accounts.MsgDelivered })

	const phone = "61412345678"
	if err := g.sim.InjectMO(ctx, smsMO(phone, ourNumber, "INFO")); err != nil {
		t.Fatal(err)
	}
	if _, err := g.sim.WaitMessages(ctx, 2); err != nil {
		t.Fatal(err)
	}
	g.waitAutoReplySubmitted(ctx)
	if err := g.sim.InjectMO(ctx, smsMO(phone, ourNumber, "Sure, calling at 3")); err != nil {
		t.Fatal(err)
	}
	// Two mails reach alice: the reply "INFO" and the follow-up.
	mails, err := g.sink.Wait(ctx, 2)
	if err != nil {
		t.Fatalf("mails to the staff member: %d: %v", len(mails), err)
	}
	var follow string
	for _, m := range mails {
		if strings.Contains(m.Data, "Sure, calling at 3") {
			follow = m.Data
			if m.To[0] != "alice@example.com" {
				t.Errorf("follow-up mailed to %v", m.To)
			}
		}
	}
	if follow == "" {
		t.Fatalf("the reply after the auto-reply was not mailed to the staff member: %+v", mails)
	}
	if !strings.Contains(follow, "In-Reply-To: <staff-1@example.com>") {
		t.Errorf("follow-up not threaded under the staff mail:\n%s", follow)
	}
}
