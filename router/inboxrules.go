package router

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/smsgate/smsgate/accounts"
)

// ReplyRulesStore reads an account's reply routing rules
// (*redisstore.Store).
type ReplyRulesStore interface {
	ReplyRules(ctx context.Context, accountID string) (rules accounts.ReplyRules, stored bool, err error)
}

// ReplyForwarder mails replies: to the sender of the original, and to a
// fixed address (*Mailer).
type ReplyForwarder interface {
	ReplyMailer
	MailForward(ctx context.Context, r *accounts.Reply, orig *accounts.Message, to string) error
}

// InboxRulesOptions configures an InboxRules hook.
type InboxRulesOptions struct {
	Store ReplyRulesStore // required
	// Mailer sends the mails; nil: no relay is configured, and neither
	// forwards nor sender mails are sent (as Inbound does without one).
	Mailer ReplyForwarder
	// Events fires the reply.received event; nil: no events.
	Events Events
	Logger *slog.Logger
}

// InboxRules is the ReplyHook that applies each account's reply routing
// rules (accounts.ReplyRules: mail_sender, forward_to, webhook).
//
// Inbound's default chain, after the hooks, mails the sender and fires the
// reply event. InboxRules leaves that chain alone whenever it does what the
// rules say: with no rules stored, or with mail_sender and webhook both on,
// it only sends the forwards (if any) and returns false. When the rules turn
// either off, it does the one still on itself and claims the reply, so that
// the default chain does not run and nothing is sent twice. Because a claim
// also ends the hook chain, InboxRules must be the last ReplyHook.
//
// Unrouted replies (no account) are left to the default chain. Reading the
// rules can fail (Redis): the reply is then handled as today, with the
// defaults, and the error logged.
type InboxRules struct {
	o   InboxRulesOptions
	log *slog.Logger
}

var _ ReplyHook = (*InboxRules)(nil)

// NewInboxRules returns the hook.
func NewInboxRules(o InboxRulesOptions) *InboxRules {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &InboxRules{o: o, log: o.Logger}
}

// OnReply applies r's account's rules; see InboxRules.
func (h *InboxRules) OnReply(ctx context.Context, r *accounts.Reply, orig *accounts.Message) (claimed bool) {
	if r.AccountID == "" {
		return false
	}
	rules, stored, err := h.o.Store.ReplyRules(ctx, r.AccountID)
	if err != nil {
		h.log.ErrorContext(ctx, "reply rules: read failed, using the defaults", "err", err, "reply", r.ID, "account", r.AccountID)
		return false
	}
	if !stored {
		return false
	}
	mailsSender := orig != nil && strings.Contains(orig.Sender, "@")
	for _, to := range rules.ForwardTo {
		if rules.MailSender && mailsSender && strings.EqualFold(to, orig.Sender) {
			continue // the sender gets it already
		}
		if h.o.Mailer == nil {
			h.log.WarnContext(ctx, "reply rules: no relay configured, forward not sent", "reply", r.ID, "account", r.AccountID)
			break
		}
		if err := h.o.Mailer.MailForward(ctx, r, orig, to); err != nil {
			h.log.ErrorContext(ctx, "queue reply forward", "err", err, "reply", r.ID, "account", r.AccountID)
		}
	}
	if rules.MailSender && rules.Webhook {
		return false // the default chain does both
	}
	if rules.Webhook && h.o.Events != nil {
		if err := h.o.Events.Reply(ctx, r, orig); err != nil {
			h.log.ErrorContext(ctx, "reply event", "err", err, "reply", r.ID)
		}
	}
	if rules.MailSender && mailsSender && h.o.Mailer != nil {
		if err := h.o.Mailer.MailReply(ctx, r, orig); err != nil {
			h.log.ErrorContext(ctx, "queue reply mail", "err", err, "reply", r.ID)
		}
	}
	h.log.DebugContext(ctx, "reply routed by rules", "reply", r.ID, "account", r.AccountID,
		"mail_sender", rules.MailSender, "webhook", rules.Webhook, "forwards", len(rules.ForwardTo))
	return true
}

// ForwardMail renders the mail that carries reply r to a fixed address to
// (an account's forward_to rule). Like ReplyMail it threads under the
// original email (In-Reply-To and References of orig's Message-ID), so that
// A shared mailbox sees the conversation; it is marked Auto-Submitted (RFC
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
