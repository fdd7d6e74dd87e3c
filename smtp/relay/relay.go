// Package relay is the gateway's outbound mail: it composes the mails the
// gateway sends on its own (replies to the staff who sent the original
// SMS, forwards of replies, opt-out and automation notices; mails.go) and
// delivers them through the configured SMTP relay.
//
// Contract: the Mail* methods and BlockedNotice only render and queue; they
// never wait on the network and fail at once when the bounded in-memory
// queue is full. Run delivers queued mails one by one, each retried with
// backoff up to Options.Attempts times. Whatever they notify of is already
// stored (the reply in its inbox, the opt-out in the blocked log), so a
// mail lost to a crash or a full queue loses a notification, never data.
package relay

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/router"
)

// Options configures a Mailer: the relay it sends through and who it
// sends as.
type Options struct {
	Addr               string // relay host:port
	From               string // envelope and header sender
	Hostname           string // HELO name
	Username, Password string // AUTH PLAIN when Username is set
	StartTLS           bool
	TLSConfig          *tls.Config // for STARTTLS; nil: verify against the system roots
	Attempts           int         // tries per mail; default 5
	Logger             *slog.Logger
	Metrics            *Metrics // nil: not counted
	// OnPanic is told of a panic recovered while delivering a mail
	// (component "mailer"; the mail is dropped, Run goes on); it logs and
	// counts it. nil: the mailer logs it.
	OnPanic func(component string, v any)
}

// Mailer renders the gateway's mails and sends them through the relay,
// from a bounded in-memory queue; see the package comment.
type Mailer struct {
	o     Options
	queue chan outMail
	log   *slog.Logger
}

type outMail struct {
	to   string
	data []byte
}

// errQueueFull is returned when the queue has no room for another mail.
var errQueueFull = errors.New("mail queue full")

var _ router.Notifier = (*Mailer)(nil)

// New returns a Mailer; Run sends.
func New(o Options) *Mailer {
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
	return m.enqueue(orig.Sender, data)
}

// MailForward queues a mail of reply r to a fixed address (an account's
// reply rule forward_to), threaded under the original email like the mail
// to the sender (ForwardMail). orig may be nil (no conversation).
func (m *Mailer) MailForward(ctx context.Context, r *accounts.Reply, orig *accounts.Message, to string) error {
	data, err := ForwardMail(m.o.From, m.o.Hostname, to, r, orig)
	if err != nil {
		return err
	}
	return m.enqueue(to, data)
}

// MailNotice queues a notice (a receipt notice or a forwarded reply of the
// automation rules), from the relay's From address.
func (m *Mailer) MailNotice(ctx context.Context, n Notice) error {
	data, err := n.Render(m.o.From, m.o.Hostname)
	if err != nil {
		return err
	}
	return m.enqueue(n.To, data)
}

// enqueue queues data for to without waiting.
func (m *Mailer) enqueue(to string, data []byte) error {
	select {
	case m.queue <- outMail{to: to, data: data}:
		return nil
	default:
		return errQueueFull
	}
}

// BlockedNotice queues a mail telling the sender of m that it was not sent
// to the opted-out numbers blocked (router.Notifier). Mail sent by code or through
// the API (a sender without '@') has no mailbox to tell: nothing is sent.
// Failures are logged: the blocked log keeps the record either way.
func (m *Mailer) BlockedNotice(ctx context.Context, mail *router.Mail, blocked []string) {
	if mail.Sender == nil || !strings.Contains(mail.Sender.Address, "@") || len(blocked) == 0 {
		return
	}
	data, err := BlockedMail(m.o.From, m.o.Hostname, mail, blocked, time.Now())
	if err != nil {
		m.log.ErrorContext(ctx, "blocked notice", "err", err)
		return
	}
	if err := m.enqueue(mail.Sender.Address, data); err != nil {
		m.log.ErrorContext(ctx, "blocked notice", "err", err, "account", mail.Sender.Account.ID)
	}
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

// deliver sends om, retrying with backoff. A panic (in the SMTP client, on
// a relay's odd answer) drops this mail only.
func (m *Mailer) deliver(ctx context.Context, om outMail) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		m.count("failed")
		if m.o.OnPanic != nil {
			m.o.OnPanic("mailer", v)
			return
		}
		m.log.ErrorContext(ctx, "panic delivering mail", "panic", fmt.Sprint(v))
	}()
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
		m.o.Metrics.mails.WithLabelValues(result).Inc()
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

// ForwardPostmaster queues mail received for postmaster@<sms-domain> to the
// operator address to, unchanged but for Resent-* headers (RFC 5322
// §3.6.6) and X-Smsgate-Envelope-From naming the original envelope sender;
// the envelope sender is the relay's From, so bounces reach the gateway's
// operator rather than a forged address.
func (m *Mailer) ForwardPostmaster(ctx context.Context, to, envelopeFrom string, data []byte) error {
	return m.enqueue(to, PostmasterMail(m.o.From, to, envelopeFrom, data, time.Now()))
}

// PostmasterMail prepends the forwarding headers to data. envelopeFrom comes
// from the client: control characters are removed, so it cannot add headers.
func PostmasterMail(from, to, envelopeFrom string, data []byte, now time.Time) []byte {
	clean := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, envelopeFrom)
	if clean == "" {
		clean = "<>"
	}
	var b bytes.Buffer
	b.Grow(len(data) + 256)
	fmt.Fprintf(&b, "Resent-From: %s\r\nResent-To: %s\r\nResent-Date: %s\r\nX-Smsgate-Envelope-From: %s\r\n",
		from, to, now.Format(time.RFC1123Z), clean)
	b.Write(data)
	return b.Bytes()
}
