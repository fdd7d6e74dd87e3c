package router

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/internal/mailsink"
)

func TestMailerThreadsReply(t *testing.T) {
	sink, err := mailsink.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	m := NewMailer(MailerOptions{Addr: sink.Addr(), From: "replies@sms.example.com", Hostname: "gw.test"})
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

func contextWithTimeout(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), d)
}
