// Package automation puts each account's automation rules
// (accounts.Automation) into action: Hook is a router.ReplyHook (keyword
// auto-replies and forwards) and a router.StatusHook (delivery receipt
// notices by email). It never claims a reply.
//
// Loop limits, so that two gateways, a phone with its own auto-responder,
// or two rules cannot ping-pong:
//
//   - an auto-reply goes at most once per (rule, phone number) per Window
//     (default 10 minutes; a Redis SET NX PX key);
//   - an account's automatic actions (auto-replies and forwards together)
//     are capped per clock hour (HourlyCap, default 100);
//   - every automatic message is marked (Sender "auto:<rule id>"), and a
//     reply whose conversation's original was an automatic message is never
//     automated: the answer of an auto-responder ends there;
//   - a reply from one of the gateway's dedicated numbers is never
//     automated, and forwards to the account's own dedicated numbers are
//     refused (at rule creation, and again when forwarding);
//   - notice and forward mails carry "Auto-Submitted: auto-generated" (RFC
//     3834 §5), which well-behaved auto-responders do not answer.
//
// Nothing here blocks the reply or receipt path on the network: mails go
// onto the Mailer's queue and a send is one store call (Accept). Errors are
// logged, never returned: the reply or status is already stored.
package automation

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/router"
	"github.com/smsgate/smsgate/smtp/relay"
)

// Store is what automation needs of the account store (*redisstore.Store).
type Store interface {
	GetAccount(ctx context.Context, id string) (*accounts.Account, error)
	ListAutomations(ctx context.Context, accountID string) ([]accounts.Automation, error)
	ClaimAutomation(ctx context.Context, c accounts.AutomationClaim) (ok bool, why string, err error)
	AutomationNumberOwner(ctx context.Context, number string) (string, error)
}

// Sender accepts automatic SMS (*router.Pipeline): priced, debited,
// permission-checked and queued like any message.
type Sender interface {
	Accept(ctx context.Context, m *router.Mail) ([]string, error)
}

// Mailer queues notice mails (*relay.Mailer).
type Mailer interface {
	MailNotice(ctx context.Context, n relay.Notice) error
}

// Options configures a Hook.
type Options struct {
	Store  Store
	Sender Sender // nil: auto-replies and SMS forwards are dropped (logged)
	Mailer Mailer // nil: mail forwards and notices are dropped (logged)
	// Window is how long a rule stays quiet for a phone number after
	// auto-replying to it; default 10 minutes.
	Window time.Duration
	// HourlyCap bounds an account's automatic actions per clock hour;
	// default 100.
	HourlyCap int
	// CacheTTL is how long an account's rules are reused without reading
	// Redis again (every receipt asks); default 5 seconds, negative: never
	// cached.
	CacheTTL time.Duration
	Logger   *slog.Logger
	Now      func() time.Time
}

// Hook applies automation rules; see the package comment.
type Hook struct {
	o   Options
	log *slog.Logger

	mu    sync.Mutex
	cache map[string]ruleCacheEntry
}

type ruleCacheEntry struct {
	rules []accounts.Automation
	at    time.Time
}

// ruleCacheMax bounds the rule cache; it is emptied when full.
const ruleCacheMax = 10000

var (
	_ router.ReplyHook  = (*Hook)(nil)
	_ router.StatusHook = (*Hook)(nil)
)

// New returns a Hook.
func New(o Options) *Hook {
	if o.Window <= 0 {
		o.Window = 10 * time.Minute
	}
	if o.HourlyCap <= 0 {
		o.HourlyCap = 100
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Hook{o: o, log: o.Logger, cache: map[string]ruleCacheEntry{}}
}

// rules returns the enabled rules of an account, from the cache when fresh.
func (a *Hook) rules(ctx context.Context, accountID string) ([]accounts.Automation, error) {
	now := a.o.Now()
	if a.o.CacheTTL > 0 {
		a.mu.Lock()
		e, ok := a.cache[accountID]
		a.mu.Unlock()
		if ok && now.Sub(e.at) < a.o.CacheTTL {
			return e.rules, nil
		}
	}
	all, err := a.o.Store.ListAutomations(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var on []accounts.Automation
	for _, r := range all {
		if r.Enabled {
			on = append(on, r)
		}
	}
	if a.o.CacheTTL > 0 {
		a.mu.Lock()
		if len(a.cache) >= ruleCacheMax {
			clear(a.cache)
		}
		a.cache[accountID] = ruleCacheEntry{rules: on, at: now}
		a.mu.Unlock()
	}
	return on, nil
}

// OnReply answers and forwards a routed reply per the account's rules. It
// never claims the reply: the inbox, the webhook and the mail to the
// sender still see it.
func (a *Hook) OnReply(ctx context.Context, r *accounts.Reply, orig *accounts.Message) bool {
	if r.AccountID == "" {
		return false
	}
	if orig != nil && router.IsAutoSender(orig.Sender) {
		a.log.DebugContext(ctx, "reply to an automatic message: not automated", "reply", r.ID, "message", orig.ID)
		return false
	}
	rules, err := a.rules(ctx, r.AccountID)
	if err != nil {
		a.log.ErrorContext(ctx, "automation rules", "err", err, "account", r.AccountID)
		return false
	}
	var reply, anyReply *accounts.Automation
	var forwards []*accounts.Automation
	for i := range rules {
		rule := &rules[i]
		if !rule.Matches(r.Text) {
			continue
		}
		switch {
		case rule.Kind == accounts.AutoForward:
			forwards = append(forwards, rule)
		case rule.Kind == accounts.AutoReply && rule.Keyword == accounts.AutoAnyKeyword:
			anyReply = rule
		case rule.Kind == accounts.AutoReply && reply == nil:
			reply = rule
		}
	}
	if reply == nil {
		reply = anyReply // a keyword of its own wins over "*"
	}
	if reply == nil && len(forwards) == 0 {
		return false
	}
	// Another gateway's (or this one's) dedicated number texting us is a
	// machine: answering it is how loops start.
	if owner, err := a.o.Store.AutomationNumberOwner(ctx, r.From); err != nil || owner != "" {
		if err != nil {
			a.log.ErrorContext(ctx, "automation: number owner", "err", err, "reply", r.ID)
		}
		a.log.InfoContext(ctx, "reply from a gateway number: not automated", "reply", r.ID, "account", r.AccountID)
		return false
	}
	acct, err := a.o.Store.GetAccount(ctx, r.AccountID)
	if err != nil {
		a.log.ErrorContext(ctx, "automation: account", "err", err, "account", r.AccountID)
		return false
	}
	if acct.Status != accounts.StatusActive {
		return false
	}
	if reply != nil {
		a.autoReply(ctx, acct, reply, r)
	}
	for _, f := range forwards {
		a.forward(ctx, acct, f, r)
	}
	return false
}

// claim asks the store for one action under rule; false (logged) when a
// limit refuses it.
func (a *Hook) claim(ctx context.Context, acct *accounts.Account, rule *accounts.Automation, r *accounts.Reply, window time.Duration) bool {
	ok, why, err := a.o.Store.ClaimAutomation(ctx, accounts.AutomationClaim{AccountID: acct.ID, RuleID: rule.ID,
		Phone: r.From, Window: window, HourlyCap: a.o.HourlyCap})
	switch {
	case err != nil:
		a.log.ErrorContext(ctx, "automation: claim", "err", err, "rule", rule.ID, "reply", r.ID)
		return false
	case !ok:
		a.log.InfoContext(ctx, "automation limited", "rule", rule.ID, "kind", rule.Kind, "reply", r.ID,
			"account", acct.ID, "limit", why, "from", accounts.MaskNumber(r.From))
		return false
	}
	return true
}

// autoReply sends rule's text back to the phone, from the number it
// texted, at most once per phone per window.
func (a *Hook) autoReply(ctx context.Context, acct *accounts.Account, rule *accounts.Automation, r *accounts.Reply) {
	if a.o.Sender == nil {
		a.log.WarnContext(ctx, "auto-reply dropped: no sender configured", "rule", rule.ID)
		return
	}
	if !a.claim(ctx, acct, rule, r, a.o.Window) {
		return
	}
	ids, err := a.o.Sender.Accept(ctx, &router.Mail{
		Sender:     &accounts.Sender{Account: acct, Address: router.AutoSenderPrefix + rule.ID},
		Recipients: []string{r.From},
		Text:       rule.Text,
		Source:     r.To,
		// Names the reply it answers, so that later replies in this
		// conversation can be traced back to the staff member's message.
		MailID: router.AutoReplyMailID(r.ID),
	})
	if err != nil {
		a.log.WarnContext(ctx, "auto-reply not sent", "err", err, "rule", rule.ID, "reply", r.ID, "account", acct.ID)
		return
	}
	a.log.InfoContext(ctx, "auto-reply sent", "rule", rule.ID, "reply", r.ID, "account", acct.ID, "messages", ids)
}

// forward sends the reply on to the rule's addresses (a mail each) and
// numbers (one SMS from the account's default source).
func (a *Hook) forward(ctx context.Context, acct *accounts.Account, rule *accounts.Automation, r *accounts.Reply) {
	var emails, numbers []string
	for _, to := range rule.ForwardTo {
		if strings.Contains(to, "@") {
			emails = append(emails, to)
			continue
		}
		// Numbers may have been assigned since the rule was made.
		owner, err := a.o.Store.AutomationNumberOwner(ctx, to)
		switch {
		case err != nil:
			a.log.ErrorContext(ctx, "automation: number owner", "err", err, "rule", rule.ID)
			continue
		case owner == acct.ID || to == r.To:
			a.log.WarnContext(ctx, "forward to the account's own number refused: it would loop", "rule", rule.ID, "to", accounts.MaskNumber(to))
			continue
		}
		numbers = append(numbers, to)
	}
	if len(emails) == 0 && len(numbers) == 0 {
		return
	}
	if !a.claim(ctx, acct, rule, r, 0) {
		return
	}
	if len(numbers) > 0 {
		if a.o.Sender == nil {
			a.log.WarnContext(ctx, "SMS forward dropped: no sender configured", "rule", rule.ID)
		} else if _, err := a.o.Sender.Accept(ctx, &router.Mail{
			Sender:     &accounts.Sender{Account: acct, Address: router.AutoSenderPrefix + rule.ID},
			Recipients: numbers,
			Text:       "SMS from +" + r.From + ": " + r.Text,
		}); err != nil {
			a.log.WarnContext(ctx, "SMS forward not sent", "err", err, "rule", rule.ID, "reply", r.ID, "account", acct.ID)
		}
	}
	for i, to := range emails {
		if a.o.Mailer == nil {
			a.log.WarnContext(ctx, "mail forward dropped: no mailer configured", "rule", rule.ID)
			break
		}
		err := a.o.Mailer.MailNotice(ctx, relay.Notice{
			To:      to,
			ID:      fmt.Sprintf("%s.fwd%d", r.ID, i),
			Subject: fmt.Sprintf("SMS from +%s (rule %q)", r.From, rule.Name),
			Body: fmt.Sprintf("%s\n\n-- \nSMS from +%s to +%s received %s, forwarded by automation rule %q (%s) of account %s.\n",
				r.Text, r.From, r.To, r.ReceivedAt.UTC().Format(time.RFC1123), rule.Name, rule.ID, acct.Name),
			Date:    r.ReceivedAt,
			Headers: map[string]string{"X-Smsgate-Reply": r.ID, "X-Smsgate-Rule": rule.ID},
		})
		if err != nil {
			a.log.ErrorContext(ctx, "queue forward mail", "err", err, "rule", rule.ID, "reply", r.ID)
		}
	}
}

// OnStatus mails the email sender of m a notice of its final status when
// the account has an enabled receipt_notice rule that asks for it.
func (a *Hook) OnStatus(ctx context.Context, m *accounts.Message) {
	rule := a.receiptRule(ctx, m)
	if rule == nil {
		return
	}
	if a.o.Mailer == nil {
		a.log.WarnContext(ctx, "receipt notice dropped: no mailer configured", "rule", rule.ID)
		return
	}
	if err := a.o.Mailer.MailNotice(ctx, ReceiptNotice(m, a.o.Now())); err != nil {
		a.log.ErrorContext(ctx, "queue receipt notice", "err", err, "message", m.ID)
	}
}

// WantsStatus reports whether m's final status would get a receipt notice
// (router's StatusInterest): its sender, account and status are enough to
// tell, so a message that gets none is not read in full.
func (a *Hook) WantsStatus(ctx context.Context, m *accounts.Message) bool {
	return a.receiptRule(ctx, m) != nil
}

// receiptRule returns the account's receipt notice rule that applies to m,
// or nil: none, or m was not sent from a mailbox.
func (a *Hook) receiptRule(ctx context.Context, m *accounts.Message) *accounts.Automation {
	if !strings.Contains(m.Sender, "@") || router.IsAutoSender(m.Sender) || m.AccountID == "" {
		return nil // sent through the API, or by the gateway itself: no mailbox
	}
	rules, err := a.rules(ctx, m.AccountID)
	if err != nil {
		a.log.ErrorContext(ctx, "automation rules", "err", err, "account", m.AccountID)
		return nil
	}
	for i := range rules {
		if rules[i].Kind == accounts.AutoReceiptNotice {
			if rules[i].Notify == accounts.NotifyFailed && m.Status == accounts.MsgDelivered {
				return nil
			}
			return &rules[i]
		}
	}
	return nil
}

// ReceiptNotice is the notice mail of a message's final status, threaded
// under the mail that sent it.
func ReceiptNotice(m *accounts.Message, now time.Time) relay.Notice {
	at := m.DoneAt
	if at.IsZero() {
		at = now
	}
	when := at.UTC().Format(time.RFC1123)
	var subject, line string
	if m.Status == accounts.MsgDelivered {
		subject = "SMS delivered to " + shortNumber(m.To)
		line = fmt.Sprintf("Your SMS was delivered to +%s at %s.", m.To, when)
	} else {
		subject = "SMS NOT delivered to " + shortNumber(m.To)
		line = fmt.Sprintf("Your SMS was NOT delivered to +%s: %s (%s).", m.To, statusReason(m), when)
	}
	return relay.Notice{
		To:        m.Sender,
		ID:        m.ID + ".notice",
		Subject:   subject,
		Body:      fmt.Sprintf("%s\n\n> %s\n\n-- \nMessage %s. Sent because of the account's receipt notice rule.\n", line, strings.ReplaceAll(m.Text, "\n", "\n> "), m.ID),
		InReplyTo: m.MailID,
		Date:      at,
		Headers:   map[string]string{"X-Smsgate-Message": m.ID, "X-Smsgate-Status": string(m.Status)},
	}
}

// statusReason says why a message failed: "undeliverable (err 001)".
func statusReason(m *accounts.Message) string {
	switch {
	case m.Error == "":
		return string(m.Status)
	case strings.Trim(m.Error, "0123456789") == "":
		return fmt.Sprintf("%s (err %s)", m.Status, m.Error)
	}
	return fmt.Sprintf("%s: %s", m.Status, m.Error)
}

// shortNumber shows a number as "+61...4678": enough to recognise it in a
// subject line.
func shortNumber(n string) string {
	if len(n) < 9 {
		return "+" + n
	}
	return "+" + n[:2] + "..." + n[len(n)-4:]
}
