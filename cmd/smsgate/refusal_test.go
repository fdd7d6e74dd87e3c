package main

import (
	"context"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/smpp"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// TestSMTPRefusals: every refusal is an SMTP reply whose code and text say
// what was wrong, and nothing is charged or sent.
func TestSMTPRefusals(t *testing.T) {
	g := startGateway(t)
	ctx := t.Context()
	// A second sub-account with no money, and one deactivated.
	poor, err := g.store.CreateAccount(ctx, accounts.Account{ParentID: g.parent.ID, Name: "Poor", DefaultCountry: "AU", PricePerPart: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.store.AddDomain(ctx, poor.ID, "poor.example"); err != nil {
		t.Fatal(err)
	}
	off, err := g.store.CreateAccount(ctx, accounts.Account{ParentID: g.parent.ID, Name: "Off", DefaultCountry: "AU"})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.store.AddDomain(ctx, off.ID, "off.example"); err != nil {
		t.Fatal(err)
	}
	if err := g.store.SetStatus(ctx, off.ID, accounts.StatusDeactivated); err != nil {
		t.Fatal(err)
	}
	rcpt := "0412345678@" + smsDomain
	long := strings.Repeat("abcdefghij", 70) // 700 GSM chars: 5 parts, limit 4
	tests := []struct {
		name     string
		from     string
		to       []string
		body     string
		code     int
		enh      [3]int
		contains string
	}{
		{"unknown sender", "bob@unknown.example", []string{rcpt}, "", 550, [3]int{5, 7, 1}, "bob@unknown.example"},
		{"deactivated account", "carol@off.example", []string{rcpt}, "", 550, [3]int{5, 7, 1}, "deactivated"},
		{"invalid number", "alice@example.com", []string{"12ab@" + smsDomain}, "", 550, [3]int{5, 1, 3}, "letters"},
		{"too short number", "alice@example.com", []string{"123@" + smsDomain}, "", 550, [3]int{5, 1, 3}, "short"},
		{"not an SMS domain", "alice@example.com", []string{"0412345678@elsewhere.example"}, "", 550, [3]int{5, 1, 2}, "elsewhere.example"},
		{"too many recipients", "alice@example.com", []string{"0412000001@" + smsDomain, "0412000002@" + smsDomain,
			"0412000003@" + smsDomain, "0412000004@" + smsDomain, "0412000005@" + smsDomain, "0412000006@" + smsDomain}, "", 452, [3]int{4, 5, 3}, "too many recipients"},
		{"insufficient balance", "dave@poor.example", []string{rcpt}, plainMail("dave@poor.example", rcpt, "p1@x", "hi"), 554, [3]int{5, 7, 0}, "insufficient balance"},
		{"message too long", "alice@example.com", []string{rcpt}, plainMail("alice@example.com", rcpt, "l1@x", long), 554, [3]int{5, 3, 4}, "5 SMS parts"},
		{"empty message", "alice@example.com", []string{rcpt}, "From: alice@example.com\r\nTo: " + rcpt + "\r\nMessage-ID: <e1@x>\r\n\r\n\r\n-- \r\nsig\r\n", 554, [3]int{5, 6, 0}, "no text"},
		{"line too long", "alice@example.com", []string{rcpt}, plainMail("alice@example.com", rcpt, "b2@x", strings.Repeat("x", 3000)), 554, [3]int{5, 6, 0}, "998"},
		{"message too big", "alice@example.com", []string{rcpt}, plainMail("alice@example.com", rcpt, "b1@x", strings.Repeat(strings.Repeat("x", 76)+"\r\n", 1000)), 552, [3]int{5, 3, 4}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if body == "" {
				body = plainMail(tc.from, rcpt, "x@x", "hello")
			}
			err := g.sendMail(tc.from, tc.to, body)
			if err == nil {
				t.Fatal("accepted, want a refusal")
			}
			code, enh, msg := smtpCode(t, err)
			if code != tc.code || enh != tc.enh || !strings.Contains(msg, tc.contains) {
				t.Errorf("got %d %v %q, want %d %v containing %q", code, enh, msg, tc.code, tc.enh, tc.contains)
			}
			if strings.Contains(msg, "redis") || strings.Contains(msg, "accept for") {
				t.Errorf("reply leaks internals: %q", msg)
			}
		})
	}
	if b := g.balance(g.sub.ID); b != 100 {
		t.Errorf("sub balance %d after refusals, want 100", b)
	}
	if n := len(g.sim.Messages()); n != 0 {
		t.Errorf("simulator got %d messages after refusals", n)
	}
}

// TestLongUnicode: a long Cyrillic text goes as concatenated UCS-2 parts and
// is reassembled intact by the carrier.
func TestLongUnicode(t *testing.T) {
	g := startGateway(t)
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()
	text := strings.Repeat("Привет, мир! ", 11) + "Ёж" // 145 chars: 3 UCS-2 parts
	text = strings.TrimSpace(text)
	rcpt := "+61 412 345 679@" + smsDomain
	rcpt = strings.ReplaceAll(rcpt, " ", ".")
	if err := g.sendMail("alice@example.com", []string{rcpt}, plainMail("alice@example.com", rcpt, "u1@x", text)); err != nil {
		t.Fatal(err)
	}
	got, err := g.sim.WaitMessages(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Text != text || got[0].Coding != smpp.CodingUCS2 || got[0].Parts != 3 || got[0].Dest != "61412345679" {
		t.Errorf("got %q coding %d parts %d dest %s", got[0].Text, got[0].Coding, got[0].Parts, got[0].Dest)
	}
	if b := g.balance(g.sub.ID); b != 85 {
		t.Errorf("balance %d, want 85 (3 parts at 5)", b)
	}
}

// TestCarrierOutcomes: a carrier's permanent error fails the message and
// gives the money back; an undeliverable receipt marks it so; throttling is
// retried with backoff until the carrier takes the message.
func TestCarrierOutcomes(t *testing.T) {
	g := startGateway(t, func(_ *config.Config, o *smsctest.Options) {
		o.Rules = append([]smsctest.Rule{{Suffix: "997", Status: 0x58, Times: 2}}, o.Rules...)
	})
	if err := g.sendMail("alice@example.com", []string{"0412345997@" + smsDomain, "0412345998@" + smsDomain, "0412345999@" + smsDomain},
		plainMail("alice@example.com", "x@"+smsDomain, "f1@x", "hello")); err != nil {
		t.Fatal(err)
	}
	msgs, err := g.store.ListMessages(t.Context(), g.sub.ID, 10)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("messages %v %v", msgs, err)
	}
	want := map[string]accounts.MessageStatus{"61412345997": accounts.MsgDelivered,
		"61412345998": accounts.MsgFailed, "61412345999": accounts.MsgUndeliverable}
	for _, m := range msgs {
		g.waitFor(string(want[m.To]), func() bool { return g.message(m.ID).Status == want[m.To] })
		if m.To == "61412345997" {
			if a := g.message(m.ID).Attempts; a != 3 {
				t.Errorf("throttled message took %d attempts, want 3", a)
			}
		}
	}
	if b := g.balance(g.sub.ID); b != 90 {
		t.Errorf("balance %d, want 90 (failed message refunded, others charged)", b)
	}
	if st := g.sim.Stats(); st.Throttled != 2 {
		t.Errorf("simulator throttled %d submits, want 2", st.Throttled)
	}
}

// TestRetriedMailChargedOnce: a client that sends the same mail again (same
// Message-ID) after a dropped connection gets 250 and is neither charged nor
// sent twice.
func TestRetriedMailChargedOnce(t *testing.T) {
	g := startGateway(t)
	rcpt := "0412345678@" + smsDomain
	body := plainMail("alice@example.com", rcpt, "retry-1@example.com", "only once please")
	for range 3 {
		if err := g.sendMail("alice@example.com", []string{rcpt}, body); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()
	if _, err := g.sim.WaitMessages(ctx, 1); err != nil {
		t.Fatal(err)
	}
	msgs, _ := g.store.ListMessages(t.Context(), g.sub.ID, 10)
	if len(msgs) != 1 {
		t.Errorf("%d messages stored, want 1", len(msgs))
	}
	if b := g.balance(g.sub.ID); b != 95 {
		t.Errorf("balance %d, want 95 (charged once)", b)
	}
	// A different Message-ID is a different mail.
	if err := g.sendMail("alice@example.com", []string{rcpt}, plainMail("alice@example.com", rcpt, "retry-2@example.com", "again")); err != nil {
		t.Fatal(err)
	}
	if _, err := g.sim.WaitMessages(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if n := len(g.sim.Messages()); n != 2 {
		t.Errorf("simulator got %d messages, want 2", n)
	}
	// A different text under a Message-ID already used (monitoring systems
	// reuse theirs) is a different mail as well, not a silent duplicate.
	if err := g.sendMail("alice@example.com", []string{rcpt}, plainMail("alice@example.com", rcpt, "retry-1@example.com", "a new alert")); err != nil {
		t.Fatal(err)
	}
	got, err := g.sim.WaitMessages(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got[2].Text != "a new alert" {
		t.Errorf("third SMS %q, want the new text", got[2].Text)
	}
	if b := g.balance(g.sub.ID); b != 85 {
		t.Errorf("balance %d, want 85", b)
	}
}

// TestRetriedMailWithoutMessageID (issue 12): a mail without a Message-ID
// that its client sends again byte for byte (its reply was lost) is
// recognised by the digest of the whole message: sent and charged once. The
// same words written again (another Date header) are another mail.
func TestRetriedMailWithoutMessageID(t *testing.T) {
	g := startGateway(t)
	rcpt := "0412345678@" + smsDomain
	mail := func(date string) string {
		return "From: alice@example.com\r\nTo: " + rcpt + "\r\nDate: " + date + "\r\nSubject: hello\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\n\r\nno message-id here\r\n"
	}
	first := mail("Sat, 05 Dec 2026 09:00:00 +1000")
	for range 3 {
		if err := g.sendMail("alice@example.com", []string{rcpt}, first); err != nil {
			t.Fatal(err)
		}
	}
	if msgs, _ := g.store.ListMessages(t.Context(), g.sub.ID, 10); len(msgs) != 1 {
		t.Fatalf("%d messages stored after three sends of one mail, want 1", len(msgs))
	}
	if b := g.balance(g.sub.ID); b != 95 {
		t.Errorf("balance %d, want 95 (charged once)", b)
	}
	if err := g.sendMail("alice@example.com", []string{rcpt}, mail("Sat, 05 Dec 2026 09:05:00 +1000")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()
	if _, err := g.sim.WaitMessages(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if msgs, _ := g.store.ListMessages(t.Context(), g.sub.ID, 10); len(msgs) != 2 {
		t.Errorf("%d messages stored, want 2 (a new Date is a new mail)", len(msgs))
	}
	if b := g.balance(g.sub.ID); b != 90 {
		t.Errorf("balance %d, want 90", b)
	}
}
