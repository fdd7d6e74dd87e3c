package relay

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/router"
)

// The mails the gateway composes. Each threads under the mail it answers
// (In-Reply-To and References of that mail's Message-ID) so that it lands
// in the sender's conversation.

// BlockedMail renders the notice that a mail was not sent to the opted-out
// numbers blocked, threaded under that mail (In-Reply-To and References).
func BlockedMail(from, hostname string, m *router.Mail, blocked []string, now time.Time) ([]byte, error) {
	var h mail.Header
	h.SetDate(now)
	h.SetAddressList("From", []*mail.Address{{Name: "SMS gateway", Address: from}})
	h.SetAddressList("To", []*mail.Address{{Address: m.Sender.Address}})
	noun := "recipients"
	if len(blocked) == 1 {
		noun = "recipient"
	}
	h.SetSubject(fmt.Sprintf("SMS not sent to %d %s: opted out", len(blocked), noun))
	if err := h.GenerateMessageIDWithHostname(hostname); err != nil {
		return nil, fmt.Errorf("blocked notice: %w", err)
	}
	if id := strings.Trim(m.MailID, "<> "); id != "" {
		h.SetMsgIDList("In-Reply-To", []string{id})
		h.SetMsgIDList("References", []string{id})
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Auto-Submitted", "auto-replied") // RFC 3834: no auto-answer loops
	var buf bytes.Buffer
	w, err := mail.CreateSingleInlineWriter(&buf, h)
	if err != nil {
		return nil, fmt.Errorf("blocked notice: %w", err)
	}
	fmt.Fprintf(w, "Your SMS was not sent to these numbers, because they have opted out of\n"+
		"messages from your account (they replied STOP or were added to its opt-out list):\n\n")
	for _, n := range blocked {
		fmt.Fprintf(w, "  +%s\n", n)
	}
	fmt.Fprintf(w, "\nYou were not charged for them. Only a sub-account administrator can\n"+
		"resubscribe a number, and only with the number's consent.\n")
	if sent := len(m.Recipients) - len(blocked); sent > 0 {
		fmt.Fprintf(w, "\nThe other %d recipient(s) were sent the SMS as usual.\n", sent)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("blocked notice: %w", err)
	}
	return buf.Bytes(), nil
}

// ReplyMail renders the mail that carries reply r to the sender of orig.
func ReplyMail(from, hostname string, r *accounts.Reply, orig *accounts.Message) ([]byte, error) {
	var h mail.Header
	h.SetDate(r.ReceivedAt)
	h.SetAddressList("From", []*mail.Address{{Name: "SMS reply", Address: from}})
	h.SetAddressList("To", []*mail.Address{{Address: orig.Sender}})
	h.SetSubject("SMS reply from +" + r.From)
	h.SetMessageID(r.ID + "@" + hostname)
	if id := strings.Trim(orig.MailID, "<> "); id != "" {
		h.SetMsgIDList("In-Reply-To", []string{id})
		h.SetMsgIDList("References", []string{id})
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Smsgate-Reply", r.ID)
	h.Set("X-Smsgate-Message", orig.ID)
	var buf bytes.Buffer
	w, err := mail.CreateSingleInlineWriter(&buf, h)
	if err != nil {
		return nil, fmt.Errorf("reply mail: %w", err)
	}
	if r.Incomplete {
		fmt.Fprint(w, "[Incomplete: this reply came in several parts and some never arrived; [...] marks the gap.]\n\n")
	}
	fmt.Fprintf(w, "%s\n\n-- \nReply to your SMS to +%s sent %s:\n> %s\n",
		r.Text, orig.To, orig.CreatedAt.UTC().Format(time.RFC1123), strings.ReplaceAll(orig.Text, "\n", "\n> "))
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("reply mail: %w", err)
	}
	return buf.Bytes(), nil
}

// ForwardMail renders the mail that carries reply r to a fixed address to
// (an account's forward_to rule). Like ReplyMail it threads under the
// original email (In-Reply-To and References of orig's Message-ID), so that
// a shared mailbox sees the conversation; it is marked Auto-Submitted (RFC
// 3834) so that auto-responders do not answer it. orig may be nil (a reply
// with no conversation): the mail then threads under nothing.
func ForwardMail(from, hostname, to string, r *accounts.Reply, orig *accounts.Message) ([]byte, error) {
	var h mail.Header
	h.SetDate(r.ReceivedAt)
	h.SetAddressList("From", []*mail.Address{{Name: "SMS reply", Address: from}})
	h.SetAddressList("To", []*mail.Address{{Address: to}})
	subject := "SMS reply from +" + r.From
	if orig != nil && orig.Sender != "" {
		subject += " to " + orig.Sender
	}
	h.SetSubject(subject)
	// One Message-ID per reply and address: a forward to two addresses, or
	// the mail to the sender, are distinct mails.
	sum := fnv.New32a()
	sum.Write([]byte(strings.ToLower(to)))
	h.SetMessageID(fmt.Sprintf("%s.fwd%08x@%s", r.ID, sum.Sum32(), hostname))
	if orig != nil {
		if id := strings.Trim(orig.MailID, "<> "); id != "" {
			h.SetMsgIDList("In-Reply-To", []string{id})
			h.SetMsgIDList("References", []string{id})
		}
	}
	h.Set("Auto-Submitted", "auto-generated")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Smsgate-Reply", r.ID)
	h.Set("X-Smsgate-Account", r.AccountID)
	if orig != nil {
		h.Set("X-Smsgate-Message", orig.ID)
	}
	var buf bytes.Buffer
	w, err := mail.CreateSingleInlineWriter(&buf, h)
	if err != nil {
		return nil, fmt.Errorf("forward mail: %w", err)
	}
	if orig != nil {
		fmt.Fprintf(w, "%s\n\n-- \nReply from +%s to the SMS %s sent to +%s at %s:\n> %s\n",
			r.Text, r.From, orig.Sender, orig.To, orig.CreatedAt.UTC().Format(time.RFC1123),
			strings.ReplaceAll(orig.Text, "\n", "\n> "))
	} else {
		fmt.Fprintf(w, "%s\n\n-- \nSMS from +%s to +%s (no conversation).\n", r.Text, r.From, r.To)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("forward mail: %w", err)
	}
	return buf.Bytes(), nil
}

// Notice is a plain-text mail the gateway sends on its own, such as a
// receipt notice or a reply forwarded by an automation rule. The Mailer
// renders it with Render, from its relay's From address.
type Notice struct {
	To      string
	ID      string // unique; the Message-ID is <ID@hostname>
	Subject string
	Body    string
	// InReplyTo is the Message-ID of the mail this one answers (threading:
	// In-Reply-To and References); "" for none.
	InReplyTo string
	Date      time.Time
	Headers   map[string]string // extra X- headers
}

// Render builds the mail. It is marked "Auto-Submitted: auto-generated"
// (RFC 3834 §5) and "X-Auto-Response-Suppress: All" (Exchange), so that
// auto-responders leave it unanswered.
func (am Notice) Render(from, hostname string) ([]byte, error) {
	var h mail.Header
	h.SetDate(am.Date)
	h.SetAddressList("From", []*mail.Address{{Name: "SMS gateway", Address: from}})
	h.SetAddressList("To", []*mail.Address{{Address: am.To}})
	h.SetSubject(am.Subject)
	h.SetMessageID(am.ID + "@" + hostname)
	if id := strings.Trim(am.InReplyTo, "<> "); id != "" {
		h.SetMsgIDList("In-Reply-To", []string{id})
		h.SetMsgIDList("References", []string{id})
	}
	h.Set("Auto-Submitted", "auto-generated")
	h.Set("X-Auto-Response-Suppress", "All")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	for k, v := range am.Headers {
		h.Set(k, v)
	}
	var buf bytes.Buffer
	w, err := mail.CreateSingleInlineWriter(&buf, h)
	if err != nil {
		return nil, fmt.Errorf("notice mail: %w", err)
	}
	if _, err := w.Write([]byte(am.Body)); err != nil {
		return nil, fmt.Errorf("notice mail: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("notice mail: %w", err)
	}
	return buf.Bytes(), nil
}
