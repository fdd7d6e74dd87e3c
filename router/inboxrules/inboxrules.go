// Package inboxrules applies each account's reply routing rules
// (accounts.ReplyRules: mail_sender, forward_to, webhook) as a
// router.ReplyHook.
//
// Contract: router.Inbound's default chain, after the hooks, mails the
// sender and fires the reply event. The Hook leaves that chain alone
// whenever it does what the rules say: with no rules stored, or with mail_sender and webhook both on,
// it only sends the forwards (if any) and returns false. When the rules turn
// either off, it does the one still on itself and claims the reply, so that
// the default chain does not run and nothing is sent twice. Because a claim
// also ends the hook chain, the Hook must be the last ReplyHook.
//
// Unrouted replies (no account) are left to the default chain. Reading the
// rules can fail (Redis): the reply is then handled with the defaults, and the error logged. Mails go onto the Mailer's queue; nothing
// here waits on the network.
package inboxrules

import (
	"context"
	"log/slog"
	"strings"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/router"
)

// Store reads an account's reply routing rules (*redisstore.Store).
type Store interface {
	ReplyRules(ctx context.Context, accountID string) (rules accounts.ReplyRules, stored bool, err error)
}

// Mailer queues reply mails: to the sender of the original, and to a fixed
// address (*relay.Mailer).
type Mailer interface {
	MailReply(ctx context.Context, r *accounts.Reply, orig *accounts.Message) error
	MailForward(ctx context.Context, r *accounts.Reply, orig *accounts.Message, to string) error
}

// Events fires the reply.received event (*webhook.Service).
type Events interface {
	Reply(ctx context.Context, r *accounts.Reply, orig *accounts.Message) error
}

// Options configures a Hook.
type Options struct {
	Store Store // required
	// Mailer sends the mails; nil: no relay is configured, and neither
	// forwards nor sender mails are sent (as Inbound does without one).
	Mailer Mailer
	// Events fires the reply.received event; nil: no events.
	Events Events
	Logger *slog.Logger
}

// Hook applies the reply routing rules; see the package comment.
type Hook struct {
	o   Options
	log *slog.Logger
}

var _ router.ReplyHook = (*Hook)(nil)

// New returns the hook.
func New(o Options) *Hook {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Hook{o: o, log: o.Logger}
}

// OnReply applies r's account's rules; see the package comment.
func (h *Hook) OnReply(ctx context.Context, r *accounts.Reply, orig *accounts.Message) (claimed bool) {
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
