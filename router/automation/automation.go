package router

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/smsgate/smsgate/accounts"
)

// Automation rules in action (accounts/automation.go): Automator is a
// ReplyHook (keyword auto-replies and forwards) and a StatusHook (delivery
// receipt notices by email).
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

// AutoSenderPrefix starts the Sender of every message the gateway sends on
// its own ("auto:<rule id>", "auto:stop", ...).
const AutoSenderPrefix = "auto:"

// IsAutoSender reports whether a message's sender marks it as automatic.
func IsAutoSender(sender string) bool { return strings.HasPrefix(sender, AutoSenderPrefix) }

// autoReplyMailPrefix starts the MailID of an auto-reply; the reply id follows.
const autoReplyMailPrefix = "auto-reply."

// AutoReplyMailID is the MailID of the auto-reply answering reply id.
func AutoReplyMailID(replyID string) string { return autoReplyMailPrefix + replyID }

// answeredReply returns the id of the reply an auto-reply answered, if m is one.
func answeredReply(m *accounts.Message) (string, bool) {
	if m == nil || !IsAutoSender(m.Sender) {
		return "", false
	}
	return strings.CutPrefix(m.MailID, autoReplyMailPrefix)
}

// AutomationStore is what automation needs of the store.
type AutomationStore interface {
	GetAccount(ctx context.Context, id string) (*accounts.Account, error)
	ListAutomations(ctx context.Context, accountID string) ([]accounts.Automation, error)
	ClaimAutomation(ctx context.Context, c accounts.AutomationClaim) (ok bool, why string, err error)
	AutomationNumberOwner(ctx context.Context, number string) (string, error)
}

// AutomationSender accepts automatic SMS (*Pipeline): priced, debited,
// permission-checked and queued like any message.
type AutomationSender interface {
	Accept(ctx context.Context, m *Mail) ([]string, error)
}

// AutomationMailer queues automation mails (*Mailer).
type AutomationMailer interface {
	MailAutomation(ctx context.Context, am AutomationMail) error
}

// AutomationOptions configures an Automator.
type AutomationOptions struct {
	Store  AutomationStore
	Sender AutomationSender // nil: auto-replies and SMS forwards are dropped (logged)
	Mailer AutomationMailer // nil: mail forwards and notices are dropped (logged)
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

// Automator applies automation rules; see the package text above.
type Automator struct {
	o   AutomationOptions
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
	_ ReplyHook  = (*Automator)(nil)
	_ StatusHook = (*Automator)(nil)
)

// NewAutomator returns an Automator.
func NewAutomator(o AutomationOptions) *Automator {
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
	return &Automator{o: o, log: o.Logger, cache: map[string]ruleCacheEntry{}}
}

// rules returns the enabled rules of an account, from the cache when fresh.
func (a *Automator) rules(ctx context.Context, accountID string) ([]accounts.Automation, error) {
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
func (a *Automator) OnReply(ctx context.Context, r *accounts.Reply, orig *accounts.Message) bool {
	if r.AccountID == "" {
		return false
	}
	if orig != nil && IsAutoSender(orig.Sender) {
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
func (a *Automator) claim(ctx context.Context, acct *accounts.Account, rule *accounts.Automation, r *accounts.Reply, window time.Duration) bool {
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
func (a *Automator) autoReply(ctx context.Context, acct *accounts.Account, rule *accounts.Automation, r *accounts.Reply) {
	if a.o.Sender == nil {
		a.log.WarnContext(ctx, "auto-reply dropped: no sender configured", "rule", rule.ID)
		return
	}
	if !a.claim(ctx, acct, rule, r, a.o.Window) {
		return
	}
	ids, err := a.o.Sender.Accept(ctx, &Mail{
		Sender:     &accounts.Sender{Account: acct, Address: AutoSenderPrefix + rule.ID},
		Recipients: []string{r.From},
		Text:       rule.Text,
		Source:     r.To,
		// Names the reply it answers, so that later replies in this
		// conversation can be traced back to the staff member's message.
		MailID: AutoReplyMailID(r.ID),
	})
	if err != nil {
		a.log.WarnContext(ctx, "auto-reply not sent", "err", err, "rule", rule.ID, "reply", r.ID, "account", acct.ID)
		return
	}
	a.log.InfoContext(ctx, "auto-reply sent", "rule", rule.ID, "reply", r.ID, "account", acct.ID, "messages", ids)
}

// forward sends the reply on to the rule's addresses (a mail each) and
// numbers (one SMS from the account's default source).
func (a *Automator) forward(ctx context.Context, acct *accounts.Account, rule *accounts.Automation, r *accounts.Reply) {
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
		} else if _, err := a.o.Sender.Accept(ctx, &Mail{
			Sender:     &accounts.Sender{Account: acct, Address: AutoSenderPrefix + rule.ID},
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
		err := a.o.Mailer.MailAutomation(ctx, AutomationMail{
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
func (a *Automator) OnStatus(ctx context.Context, m *accounts.Message) {
	if !strings.Contains(m.Sender, "@") || IsAutoSender(m.Sender) || m.AccountID == "" {
		return // sent through the API, or by the gateway itself: no mailbox
	}
	rules, err := a.rules(ctx, m.AccountID)
	if err != nil {
		a.log.ErrorContext(ctx, "automation rules", "err", err, "account", m.AccountID)
		return
	}
	var rule *accounts.Automation
	for i := range rules {
		if rules[i].Kind == accounts.AutoReceiptNotice {
			rule = &rules[i]
			break
		}
	}
	if rule == nil || (rule.Notify == accounts.NotifyFailed && m.Status == accounts.MsgDelivered) {
		return
	}
	if a.o.Mailer == nil {
		a.log.WarnContext(ctx, "receipt notice dropped: no mailer configured", "rule", rule.ID)
		return
	}
	if err := a.o.Mailer.MailAutomation(ctx, ReceiptNotice(m, a.o.Now())); err != nil {
		a.log.ErrorContext(ctx, "queue receipt notice", "err", err, "message", m.ID)
	}
}

// ReceiptNotice is the notice mail of a message's final status, threaded
// under the mail that sent it.
func ReceiptNotice(m *accounts.Message, now time.Time) AutomationMail {
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
	return AutomationMail{
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

// AutomationMail is a plain-text mail of the automation rules: a receipt
// notice or a forwarded reply. The Mailer renders it with Render, from its
// relay's From address.
type AutomationMail struct {
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
func (am AutomationMail) Render(from, hostname string) ([]byte, error) {
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
		return nil, fmt.Errorf("automation mail: %w", err)
	}
	if _, err := w.Write([]byte(am.Body)); err != nil {
		return nil, fmt.Errorf("automation mail: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("automation mail: %w", err)
	}
	return buf.Bytes(), nil
}
