package relay

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/internal/mailsink"
	"github.com/smsgate/smsgate/router"
)

const blockedPhone = "61412345678"

func TestMailerThreadsReply(t *testing.T) {
	sink, err := mailsink.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	m := New(Options{Addr: sink.Addr(), From: "replies@sms.example.com", Hostname: "gw.test"})
	go m.Run(t.Context())
	orig := &accounts.Message{ID: "m0-abc", Sender: "alice@example.com", MailID: "<orig-1@example.com>",
		To: "61412345678", Text: "Meeting at 3", CreatedAt: time.Now()}
	r := &accounts.Reply{ID: "r0-xyz", From: "61412345678", To: "61480000000", Text: "Grüße, see you", ReceivedAt: time.Now()}
	if err := m.MailReply(t.Context(), r, orig); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithTimeout(t, 10*time.Second)
	defer cancel()
	mails, err := sink.Wait(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	got := mails[0]
	for _, want := range []string{"In-Reply-To: <orig-1@example.com>", "References: <orig-1@example.com>",
		"Subject: SMS reply from +61412345678", "Message-Id: <r0-xyz@gw.test>"} {
		if !strings.Contains(got.Data, want) {
			t.Errorf("mail lacks %q:\n%s", want, got.Data)
		}
	}
	if got.To[0] != "alice@example.com" || got.From != "replies@sms.example.com" {
		t.Errorf("envelope %s -> %v", got.From, got.To)
	}
}

func TestMailerBlockedNotice(t *testing.T) {
	sink, err := mailsink.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	m := New(Options{Addr: sink.Addr(), From: "smsgate@sms.example.com", Hostname: "gw.test"})
	go m.Run(t.Context())
	acct := &accounts.Account{ID: "a0-x"}
	// Code and API senders have no mailbox: nothing is sent for them.
	m.BlockedNotice(t.Context(), &router.Mail{Sender: &accounts.Sender{Account: acct, Address: "api:k1"},
		Recipients: []string{blockedPhone, "61499999999"}}, []string{blockedPhone})
	m.BlockedNotice(t.Context(), &router.Mail{Sender: &accounts.Sender{Account: acct, Address: "alice@example.com"},
		Recipients: []string{blockedPhone, "61499999999", "61411111111"}, MailID: "<orig-1@example.com>"},
		[]string{blockedPhone, "61411111111"})
	ctx, cancel := contextWithTimeout(t, 10*time.Second)
	defer cancel()
	mails, err := sink.Wait(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	got := mails[0]
	for _, want := range []string{"Subject: SMS not sent to 2 recipients: opted out", "In-Reply-To: <orig-1@example.com>",
		"References: <orig-1@example.com>", "+61412345678", "+61411111111", "Auto-Submitted: auto-replied",
		"The other 1 recipient(s) were sent"} {
		if !strings.Contains(got.Data, want) {
			t.Errorf("notice lacks %q:\n%s", want, got.Data)
		}
	}
	// The queue is first in, first out: had the API sender's notice been
	// queued, it would have arrived first.
	if got.To[0] != "alice@example.com" {
		t.Errorf("first notice to %v, want alice (none for the API sender)", got.To)
	}
}

// TestForwardMail: a forward reaches the fixed address through the relay,
// threaded under the original email, with its own Message-ID per address;
// one with no conversation threads under nothing.
func TestForwardMail(t *testing.T) {
	sink, err := mailsink.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	m := New(Options{Addr: sink.Addr(), From: "replies@sms.example.com", Hostname: "gw.test"})
	go m.Run(t.Context())
	orig := &accounts.Message{ID: "m0-abc", AccountID: "a0-x", Sender: "alice@example.com", MailID: "<orig-1@example.com>",
		To: "61412345678", Text: "Meeting at 3", CreatedAt: time.Now()}
	r := &accounts.Reply{ID: "r0-xyz", AccountID: "a0-x", From: "61412345678", To: "61480000000", Text: "see you", ReceivedAt: time.Now()}
	for _, to := range []string{"ops@example.com", "desk@example.com"} {
		if err := m.MailForward(t.Context(), r, orig, to); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.MailForward(t.Context(), &accounts.Reply{ID: "r0-lone", AccountID: "a0-x", From: "61499999999",
		To: "61480000000", Text: "who is this", ReceivedAt: time.Now()}, nil, "ops@example.com"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	mails, err := sink.Wait(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for i, want := range []struct {
		to   string
		has  []string
		lack []string
	}{
		{to: "ops@example.com", has: []string{"In-Reply-To: <orig-1@example.com>", "References: <orig-1@example.com>",
			"To: <ops@example.com>", "Subject: SMS reply from +61412345678 to alice@example.com",
			"Auto-Submitted: auto-generated", "X-Smsgate-Message: m0-abc", "see you", "> Meeting at 3"}},
		{to: "desk@example.com", has: []string{"In-Reply-To: <orig-1@example.com>", "To: <desk@example.com>"}},
		{to: "ops@example.com", has: []string{"who is this", "no conversation"}, lack: []string{"In-Reply-To", "References"}},
	} {
		got := mails[i]
		if len(got.To) != 1 || got.To[0] != want.to || got.From != "replies@sms.example.com" {
			t.Errorf("mail %d envelope %s -> %v, want -> %s", i, got.From, got.To, want.to)
		}
		for _, s := range want.has {
			if !strings.Contains(got.Data, s) {
				t.Errorf("mail %d lacks %q:\n%s", i, s, got.Data)
			}
		}
		for _, s := range want.lack {
			if strings.Contains(got.Data, s) {
				t.Errorf("mail %d has %q:\n%s", i, s, got.Data)
			}
		}
		for line := range strings.SplitSeq(got.Data, "\r\n") {
			if v, ok := strings.CutPrefix(line, "Message-Id: "); ok {
				if ids[v] || !strings.HasSuffix(v, "@gw.test>") {
					t.Errorf("mail %d Message-Id %s repeated or not ours", i, v)
				}
				ids[v] = true
			}
		}
	}
	if len(ids) != 3 {
		t.Errorf("%d distinct Message-Ids, want 3", len(ids))
	}
}

func contextWithTimeout(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), d)
}
