package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

// templateMail is a mail with a subject of its own.
func templateMail(from, subject, msgID, text string) string {
	return fmt.Sprintf("From: %s\r\nTo: sms@%s\r\nSubject: %s\r\nMessage-ID: <%s>\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", from, smsDomain, subject, msgID, text)
}

// TestTemplateEndToEnd: a template send. The parent defines a template,
// which every sub-account shares; the sub
// mails two numbers with "Subject: template: reminder", one of them a
// contact of the sub; each phone gets its own text, filled from the
// contact or with the default. An unknown template bounces the mail.
//
// It needs serve.go to pass the store as router.PipelineOptions.Templates.
func TestTemplateEndToEnd(t *testing.T) {
	g := startGateway(t)
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()

	code, body := g.do("POST", "/v1/accounts/"+g.parent.ID+"/templates",
		`{"name": "reminder", "body": "Hi {{first_name|there}}, your appointment is {{body}}"}`)
	if code != 201 {
		t.Fatalf("create template: %d %s", code, body)
	}
	if _, _, err := g.store.UpsertContact(ctx, g.sub.ID, accounts.ContactInput{Number: "0412345678", FirstName: "Bob"}); err != nil {
		t.Fatalf("contact: %v", err)
	}

	err := g.sendMail("alice@example.com", []string{"0412345678@" + smsDomain, "0498765432@" + smsDomain},
		templateMail("Alice <alice@example.com>", "Template: Reminder", "t1@example.com", "tomorrow at 10\r\n\r\n-- \r\nAlice"))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	got, err := g.sim.WaitMessages(ctx, 2)
	if err != nil {
		t.Fatalf("simulator got %d messages: %v", len(got), err)
	}
	texts := map[string]string{}
	for _, sms := range got {
		texts[sms.Dest] = sms.Text
	}
	want := map[string]string{
		"61412345678": "Hi Bob, your appointment is tomorrow at 10",
		"61498765432": "Hi there, your appointment is tomorrow at 10",
	}
	for dest, text := range want {
		if texts[dest] != text {
			t.Errorf("SMS to %s: %q, want %q", dest, texts[dest], text)
		}
	}
	// One part each at 0.05: 1.00 - 0.10.
	if b := g.balance(g.sub.ID); b != 90 {
		t.Errorf("sub balance %d, want 90", b)
	}

	// An unknown template bounces the whole mail, and nothing is charged.
	err = g.sendMail("alice@example.com", []string{"0412345678@" + smsDomain},
		templateMail("Alice <alice@example.com>", "Re: [template:nope] hello", "t2@example.com", "x"))
	c, enh, msg := smtpCode(t, err)
	if c != 554 || enh != [3]int{5, 6, 0} || !strings.Contains(msg, `no template named "nope"`) {
		t.Errorf("unknown template: %d %v %q", c, enh, msg)
	}
	if b := g.balance(g.sub.ID); b != 90 {
		t.Errorf("sub balance %d after the bounce, want 90", b)
	}
	msgs, err := g.store.ListMessages(ctx, g.sub.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for _, m := range msgs {
		stored = append(stored, m.Text)
	}
	slices.Sort(stored)
	if len(stored) != 2 || stored[0] != want["61412345678"] || stored[1] != want["61498765432"] {
		t.Errorf("stored messages %q", stored)
	}
}
