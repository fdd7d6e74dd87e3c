package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

// senderMail is a plain mail with a subject of the test's choosing.
func senderMail(from, to, msgID, subject, text string) string {
	return fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", from, to, subject, msgID, text)
}

// TestSenderIdentitiesEndToEnd: the operator allocates a
// dedicated number to the parent; the parent's admin assigns it to the
// sub-account and approves the sender id ACME over the API. Mail picks a
// sender with "[from:<id>]" in the subject (or alice+<id>@), reaching the
// carrier with that source; an id the account does not have is refused
// with 550 5.7.1; and a phone that was never texted replies to the
// dedicated number: the reply lands in the sub-account's inbox.
func TestSenderIdentitiesEndToEnd(t *testing.T) {
	g := startGateway(t)
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()
	const dedicated = "61480000123"

	if _, err := g.store.AllocateNumber(ctx, g.parent.ID, "+"+dedicated); err != nil { // smsgate admin number add
		t.Fatal(err)
	}
	if err := g.store.GrantSenderID(ctx, g.parent.ID, "ACME"); err != nil { // smsgate admin sender-id add
		t.Fatal(err)
	}
	base := "/v1/accounts/" + g.sub.ID + "/senders"
	if code, body := g.do("POST", base+"/numbers", `{"number": "+61480000123"}`); code != 201 {
		t.Fatalf("assign number: %d %s", code, body)
	}
	if code, body := g.do("POST", base+"/ids", `{"sender_id": "ACME"}`); code != 201 {
		t.Fatalf("approve ACME: %d %s", code, body)
	}
	if code, body := g.get(base); code != 200 || !strings.Contains(body, dedicated) || !strings.Contains(body, "ACME") {
		t.Fatalf("GET senders: %d %s", code, body)
	}

	rcpt := "0412345678@" + smsDomain
	sends := []struct {
		name, from, subject, source string
	}{
		{"subject id", "alice@example.com", "[from:ACME] hello", "ACME"},
		{"subject number", "alice@example.com", "[from:61480000123]", dedicated},
		{"plus address", "alice+acme@example.com", "plus", "ACME"},
	}
	for i, s := range sends {
		body := senderMail(s.from, rcpt, fmt.Sprintf("snd%d@example.com", i), s.subject, "text "+s.name)
		if err := g.sendMail(s.from, []string{rcpt}, body); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	got, err := g.sim.WaitMessages(ctx, len(sends))
	if err != nil {
		t.Fatalf("simulator got %d messages: %v", len(got), err)
	}
	for _, s := range sends {
		found := false
		for _, m := range got {
			if m.Text == "text "+s.name {
				found = true
				if m.Source != s.source || strings.Contains(m.Text, "[from") {
					t.Errorf("%s: SMS source %q text %q, want source %s", s.name, m.Source, m.Text, s.source)
				}
			}
		}
		if !found {
			t.Errorf("%s: no SMS with its text among %+v", s.name, got)
		}
	}
	msgs, err := g.store.ListMessages(ctx, g.sub.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Sender != "alice@example.com" {
			t.Errorf("message %s recorded as %q's, want alice@example.com (the +tag chose the sender)", m.ID, m.Sender)
		}
	}

	// An id the account does not have: refused, nothing charged.
	before := g.balance(g.sub.ID)
	err = g.sendMail("alice@example.com", []string{rcpt}, senderMail("alice@example.com", rcpt, "evil@example.com", "[from:EVIL] hi", "x"))
	code, enh, text := smtpCode(t, err)
	if code != 550 || enh != [3]int{5, 7, 1} || !strings.Contains(text, "sender id EVIL is not allowed for this account") {
		t.Fatalf("[from:EVIL]: %d %v %q", code, enh, text)
	}
	if after := g.balance(g.sub.ID); after != before {
		t.Errorf("refused mail charged: balance %d -> %d", before, after)
	}

	// A phone never texted replies to the dedicated number.
	if err := g.sim.InjectMO(ctx, smsMO("61499999999", dedicated, "who is this?")); err != nil {
		t.Fatal(err)
	}
	var replies []*accounts.Reply
	g.waitFor("reply in the sub-account's inbox", func() bool {
		replies, _ = g.store.ListInbox(ctx, g.sub.ID, 10)
		return len(replies) == 1
	})
	if r := replies[0]; r.AccountID != g.sub.ID || r.MessageID != "" || r.From != "61499999999" || r.To != dedicated || r.Text != "who is this?" {
		t.Errorf("reply %+v", r)
	}
	if unrouted, _ := g.store.ListInbox(ctx, "", 10); len(unrouted) != 0 {
		t.Errorf("unrouted inbox has %d replies", len(unrouted))
	}
}
