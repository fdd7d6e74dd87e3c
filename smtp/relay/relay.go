package router

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/smsgate/smsgate/accounts"
)

// MailerOptions configures the outbound relay that carries replies back to
// the staff who sent the original message.
type MailerOptions struct {
	Addr               string // relay host:port
	From               string // envelope and header sender
	Hostname           string // HELO name
	Username, Password string // AUTH PLAIN when Username is set
	StartTLS           bool
	TLSConfig          *tls.Config // for STARTTLS; nil: verify against the system roots
	Attempts           int         // tries per mail; default 5
	Logger             *slog.Logger
	Metrics            *Metrics
}

// Mailer sends reply mails through a relay, from a bounded in-memory queue.
// The reply itself is already in the inbox when a mail is queued, so a mail
// lost to a crash loses no data, only the notification.
type Mailer struct {
	o     MailerOptions
	queue chan outMail
	log   *slog.Logger
}

type outMail struct {
	to   string
	data []byte
}

// NewMailer returns a Mailer; Run sends.
func NewMailer(o MailerOptions) *Mailer {
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	return &Mailer{o: o, queue: make(chan outMail, 1024), log: o.Logger}
}

// MailReply queues a mail of reply r to the sender of orig. The mail threads
// under the original email (In-Reply-To and References), so it lands in the
// sender's conversation.
func (m *Mailer) MailReply(ctx context.Context, r *accounts.Reply, orig *accounts.Message) error {
	data, err := ReplyMail(m.o.From, m.o.Hostname, r, orig)
	if err != nil {
		return err
	}
	select {
	case m.queue <- outMail{to: orig.Sender, data: data}:
		return nil
	default:
		return fmt.Errorf("reply mail queue full")
	}
}

// MailForward queues a mail of reply r to a fixed address (an account's
// reply rule forward_to), threaded under the original email like the mail
// to the sender (ForwardMail). orig may be nil (no conversation).
func (m *Mailer) MailForward(ctx context.Context, r *accounts.Reply, orig *accounts.Message, to string) error {
	data, err := ForwardMail(m.o.From, m.o.Hostname, to, r, orig)
	if err != nil {
		return err
	}
	select {
	case m.queue <- outMail{to: to, data: data}:
		return nil
	default:
		return fmt.Errorf("reply mail queue full")
	}
}

// MailAutomation queues a mail of the automation rules (a receipt notice or
// a forwarded reply; router/automation.go), from the relay's From address.
func (m *Mailer) MailAutomation(ctx context.Context, am AutomationMail) error {
	data, err := am.Render(m.o.From, m.o.Hostname)
	if err != nil {
		return err
	}
	select {
	case m.queue <- outMail{to: am.To, data: data}:
		return nil
	default:
		return fmt.Errorf("automation mail queue full")
	}
}

// BlockedNotice queues a mail telling the sender of m that it was not sent
// to the opted-out numbers blocked (Notifier). Mail sent by code or through
// the API (a sender without '@') has no mailbox to tell: nothing is sent.
// Failures are logged: the blocked log keeps the record either way.
func (m *Mailer) BlockedNotice(ctx context.Context, mail *Mail, blocked []string) {
	if mail.Sender == nil || !strings.Contains(mail.Sender.Address, "@") || len(blocked) == 0 {
		return
	}
	data, err := BlockedMail(m.o.From, m.o.Hostname, mail, blocked, time.Now())
	if err != nil {
		m.log.ErrorContext(ctx, "blocked notice", "err", err)
		return
	}
	select {
	case m.queue <- outMail{to: mail.Sender.Address, data: data}:
	default:
		m.log.ErrorContext(ctx, "blocked notice: mail queue full", "account", mail.Sender.Account.ID)
	}
}

// BlockedMail renders the notice that a mail was not sent to the opted-out
// numbers blocked, threaded under that mail (In-Reply-To and References).
func BlockedMail(from, hostname string, m *Mail, blocked []string, now time.Time) ([]byte, error) {
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
	fmt.Fprintf(w, "%s\n\n-- \nReply to your SMS to +%s sent %s:\n> %s\n",
		r.Text, orig.To, orig.CreatedAt.UTC().Format(time.RFC1123), strings.ReplaceAll(orig.Text, "\n", "\n> "))
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("reply mail: %w", err)
	}
	return buf.Bytes(), nil
}

// Run sends queued mails until ctx ends, retrying each with backoff.
func (m *Mailer) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case om := <-m.queue:
			m.deliver(ctx, om)
		}
	}
}

func (m *Mailer) deliver(ctx context.Context, om outMail) {
	delay := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := m.send(om)
		if err == nil {
			m.count("sent")
			return
		}
		if attempt >= m.o.Attempts {
			m.count("failed")
			m.log.ErrorContext(ctx, "reply mail not delivered", "err", err, "attempts", attempt)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay *= 2
	}
}

func (m *Mailer) count(result string) {
	if m.o.Metrics != nil {
		m.o.Metrics.replyMails.WithLabelValues(result).Inc()
	}
}

func (m *Mailer) send(om outMail) error {
	var c *gosmtp.Client
	var err error
	if m.o.StartTLS {
		// go-smtp greets as "localhost" before STARTTLS; it offers no way to
		// name ourselves on that path.
		cfg := m.o.TLSConfig
		if cfg == nil {
			host, _, _ := strings.Cut(m.o.Addr, ":")
			cfg = &tls.Config{ServerName: host}
		}
		c, err = gosmtp.DialStartTLS(m.o.Addr, cfg)
		if err != nil {
			return fmt.Errorf("relay %s starttls: %w", m.o.Addr, err)
		}
	} else {
		c, err = gosmtp.Dial(m.o.Addr)
		if err != nil {
			return fmt.Errorf("relay %s: %w", m.o.Addr, err)
		}
		if err := c.Hello(m.o.Hostname); err != nil {
			c.Close()
			return fmt.Errorf("relay hello: %w", err)
		}
	}
	defer c.Close()
	if m.o.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", m.o.Username, m.o.Password)); err != nil {
			return fmt.Errorf("relay auth: %w", err)
		}
	}
	if err := c.SendMail(m.o.From, []string{om.to}, bytes.NewReader(om.data)); err != nil {
		return fmt.Errorf("relay send: %w", err)
	}
	_ = c.Quit()
	return nil
}
