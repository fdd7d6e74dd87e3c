// Package stoprule is the Stop rule: a router.ReplyHook, run first on every
// stored reply, that opts a number out when its reply says STOP (or the
// account's own keyword) and, where the account allows it, resubscribes it
// on START.
//
// Contract: a reply whose text matches the rule of the account that sent
// the original message (accounts.StopRule.Match: the whole trimmed text or
// its first word, ignoring case) opts the replying number out of the list
// that governs that account (its own, or its parent's under
// share_contacts), recording when, the keyword and "reply <id>". If the
// number was not on the list yet, the account's confirmation text (if any)
// is sent to it from the number it texted, through the Sender and charged
// like any SMS; a confirmation that cannot be sent (no balance, no
// permission) is logged, and the opt-out stands.
//
// A START-style keyword resubscribes the number only where the rule's
// AllowStart is on and the number is on the list; otherwise the reply is an
// ordinary one ("Yes, see you at 3" must still reach the sender).
//
// Claiming: a STOP (or an honoured START) is claimed, which ends the reply
// chain: it stays in the inbox, but no later hook (inbox rules, automation:
// A STOP is never auto-answered), no reply webhook and no mail to the
// sender follow. The opt-out itself is visible in the opt-out list with its
// via. A reply with no conversation and no account (unrouted) is left
// alone; one with an account but no conversation (a dedicated number) uses
// that account's rule. Errors are logged, never returned: the reply is
// already stored.
package stoprule

import (
	"context"
	"errors"
	"log/slog"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/router"
)

// Store is what the Stop rule needs of the account store
// (*redisstore.Store).
type Store interface {
	GetAccount(ctx context.Context, id string) (*accounts.Account, error)
	StopRule(ctx context.Context, accountID string) (*accounts.StopRule, error)
	OptOutList(acct *accounts.Account) string
	AddOptOut(ctx context.Context, listOwner string, o accounts.OptOut) (added bool, err error)
	RemoveOptOut(ctx context.Context, listOwner, number string) error
}

// Sender sends an SMS from code: priced, debited, permission-checked and
// queued like any mail (*router.Pipeline).
type Sender interface {
	Accept(ctx context.Context, m *router.Mail) ([]string, error)
}

// Options configures a Hook.
type Options struct {
	Store  Store
	Sender Sender // sends confirmations; nil: none are sent
	Logger *slog.Logger
}

// Hook is the Stop rule; see the package comment.
type Hook struct {
	o   Options
	log *slog.Logger
}

var _ router.ReplyHook = (*Hook)(nil)

// New returns the Stop rule hook.
func New(o Options) *Hook {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Hook{o: o, log: o.Logger}
}

// OnReply applies the Stop rule to r; see the package comment.
func (h *Hook) OnReply(ctx context.Context, r *accounts.Reply, orig *accounts.Message) bool {
	acctID := r.AccountID
	if orig != nil {
		acctID = orig.AccountID
	}
	if acctID == "" || r.From == "" {
		return false
	}
	rule, err := h.o.Store.StopRule(ctx, acctID)
	if err != nil {
		h.log.ErrorContext(ctx, "stop rule", "err", err, "account", acctID, "reply", r.ID)
		return false
	}
	kind, keyword := rule.Match(r.Text)
	if kind == accounts.StopNone || (kind == accounts.StopStart && !rule.AllowStart) {
		return false
	}
	acct, err := h.o.Store.GetAccount(ctx, acctID)
	if err != nil {
		h.log.ErrorContext(ctx, "stop rule: account", "err", err, "account", acctID, "reply", r.ID)
		return false
	}
	list := h.o.Store.OptOutList(acct)
	number := accounts.MaskNumber(r.From)
	if kind == accounts.StopStart {
		err := h.o.Store.RemoveOptOut(ctx, list, r.From)
		switch {
		case errors.Is(err, accounts.ErrNotFound):
			return false // not opted out: an ordinary reply
		case err != nil:
			h.log.ErrorContext(ctx, "stop rule: resubscribe", "err", err, "list", list, "reply", r.ID)
			return false
		}
		h.log.InfoContext(ctx, "number resubscribed by reply", "account", acctID, "list", list,
			"number", number, "keyword", keyword, "reply", r.ID)
		h.confirm(ctx, acct, r, rule.StartConfirmation, "start")
		return true
	}
	added, err := h.o.Store.AddOptOut(ctx, list, accounts.OptOut{Number: r.From, At: r.ReceivedAt,
		Reason: "keyword " + keyword, Via: "reply " + r.ID})
	if err != nil {
		// Not claimed: the sender still gets the reply and can act on it.
		h.log.ErrorContext(ctx, "stop rule: opt out", "err", err, "list", list, "reply", r.ID)
		return false
	}
	h.log.InfoContext(ctx, "number opted out by reply", "account", acctID, "list", list,
		"number", number, "keyword", keyword, "reply", r.ID, "new", added)
	if added {
		h.confirm(ctx, acct, r, rule.StopConfirmationText(), "stop")
	}
	return true
}

// confirm sends text to the number that replied, from the number it
// texted, on acct's account, as the automatic sender "auto:<kind>". The
// confirmation of an opt-out must reach the number that has just opted
// out: it skips the opt-out check.
func (h *Hook) confirm(ctx context.Context, acct *accounts.Account, r *accounts.Reply, text, kind string) {
	if text == "" || h.o.Sender == nil {
		return
	}
	m := &router.Mail{
		Sender:     &accounts.Sender{Account: acct, Address: router.AutoSenderPrefix + kind},
		Recipients: []string{r.From},
		// One confirmation per reply even if the hook runs again.
		MailID:     "<" + kind + "." + r.ID + "@smsgate.invalid>",
		Text:       text,
		Source:     r.To,
		SkipOptOut: true,
	}
	ids, err := h.o.Sender.Accept(ctx, m)
	if err != nil {
		h.log.WarnContext(ctx, "stop rule: confirmation not sent", "err", err, "account", acct.ID,
			"number", accounts.MaskNumber(r.From), "reply", r.ID)
		return
	}
	h.log.InfoContext(ctx, "stop rule: confirmation queued", "account", acct.ID, "message", ids, "reply", r.ID)
}
