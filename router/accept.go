package router

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/phone"
	"github.com/smsgate/smsgate/smtp/exterr"
)

// AcceptStore is what Accept needs from the account store: one atomic step
// that checks the balance, debits, writes the ledger, stores the messages
// and enqueues them.
type AcceptStore interface {
	Accept(ctx context.Context, req accounts.AcceptRequest) (*accounts.AcceptResult, error)
}

// Pipeline turns accepted mail into queued messages.
type Pipeline struct {
	store         AcceptStore
	routes        *Routes
	defaultSource string
	log           *slog.Logger
	metrics       *Metrics
	events        Events
	notifier      Notifier
	templates     TemplateStore
	senders       SenderStore
	optouts       OptOutChecker
	refused       RefusedRecorder
	emptyLists    optOutLists
	pool          []string
	poolTTL       time.Duration
	poolStore     PoolStore
}

// Notifier tells the sender of a mail which recipients were not sent to
// because they had opted out, when the others were accepted (serve wires the
// relay mailer). It must not block: it queues.
type Notifier interface {
	BlockedNotice(ctx context.Context, m *Mail, blocked []string)
}

// PipelineOptions configures a Pipeline.
type PipelineOptions struct {
	Store         AcceptStore
	Routes        *Routes // nil: every destination is accepted (dispatch-only instances route)
	DefaultSource string  // source address when the account sets none
	Logger        *slog.Logger
	Metrics       *Metrics
	Events        Events // nil: no low-balance events
	// Notifier is told of opted-out recipients of a mail that was otherwise
	// accepted; nil: nobody is told (the blocked log still has them).
	Notifier Notifier
	// Templates finds templates and the contacts that fill them
	// (router/template.go); nil: templates are off, and a mail naming one is
	// refused.
	Templates TemplateStore
	// Senders lists an account's numbers and sender ids, to check a
	// mail's "[from:<id>]" choice (router/sender.go); nil: Store, if it
	// Has them (*redisstore.Store does), else every choice is refused.
	Senders SenderStore
	// OptOuts answers whether a recipient has opted out, at RCPT time
	// (Transaction.AddRcpt); nil: Store, if it has them, else that early
	// answer is skipped and the accept step alone blocks opted-out numbers.
	OptOuts OptOutChecker
	// SourcePool are shared source numbers used instead of DefaultSource
	// (pool.go); empty: DefaultSource. PoolTTL is how long a conversation
	// keeps its number after its last send (default 30 days). The Store
	// must be a PoolStore.
	SourcePool []string
	PoolTTL    time.Duration
}

// DefaultMaxParts is the part limit of an account that sets none.
const DefaultMaxParts = 10

// NewPipeline returns a Pipeline.
func NewPipeline(opts PipelineOptions) *Pipeline {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Pipeline{store: opts.Store, routes: opts.Routes, defaultSource: opts.DefaultSource,
		log: opts.Logger, metrics: opts.Metrics, events: opts.Events, notifier: opts.Notifier,
		templates: opts.Templates, senders: opts.Senders}
	if p.senders == nil {
		p.senders, _ = opts.Store.(SenderStore)
	}
	p.optouts = opts.OptOuts
	if p.optouts == nil {
		p.optouts, _ = opts.Store.(OptOutChecker)
	}
	p.refused, _ = opts.Store.(RefusedRecorder)
	if ps, ok := opts.Store.(PoolStore); ok && len(opts.SourcePool) > 0 {
		p.pool, p.poolStore, p.poolTTL = opts.SourcePool, ps, opts.PoolTTL
		if p.poolTTL <= 0 {
			p.poolTTL = DefaultPoolTTL
		}
	}
	return p
}

// Accept prices the mail for each recipient, then debits and enqueues it in
// one atomic store step. It returns the message ids only once the store has
// them. A retried mail (same sender and Message-ID) returns the first
// attempt's ids and is charged once.
func (p *Pipeline) Accept(ctx context.Context, m *Mail) ([]string, error) {
	ids, err := p.accept(ctx, m)
	if p.metrics != nil {
		p.metrics.acceptedBy[acceptResult(err)].Add(float64(max(len(m.Recipients), 1)))
	}
	return ids, err
}

func (p *Pipeline) accept(ctx context.Context, m *Mail) ([]string, error) {
	acct := m.Sender.Account
	if m.SkipOptOut && p.optouts != nil {
		// The Stop rule's confirmation: a number has just opted out, so
		// the list is no longer empty (RCPT TO checks must see it).
		p.emptyLists.forget(p.optouts.OptOutList(acct))
	}
	if err := permit(acct, m.Recipients); err != nil {
		return nil, err
	}
	// "[from:<id>]" or alice+<id>@: the source to send from (sender.go).
	m, err := p.pickSender(ctx, m)
	if err != nil {
		return nil, err
	}
	// One text per recipient: with a template they differ (template.go).
	texts, err := p.compose(ctx, m)
	if err != nil {
		return nil, err
	}
	if p.routes != nil {
		for _, to := range m.Recipients {
			if !p.routes.Has(to) {
				return nil, noRoute(554, to)
			}
		}
	}
	source := m.Source
	if source == "" {
		source = acct.SenderID
	}
	if source == "" {
		source = p.defaultSource
	}
	sources, err := p.poolSources(ctx, m, source)
	if err != nil {
		return nil, err
	}
	msgs := make([]*accounts.Message, len(m.Recipients))
	for i, to := range m.Recipients {
		msgs[i] = &accounts.Message{
			AccountID: acct.ID,
			Sender:    m.Sender.Address,
			MailID:    m.MailID,
			Source:    sources[i],
			To:        to,
			Text:      texts[i].text,
			Coding:    texts[i].coding,
			Parts:     texts[i].parts,
			Price:     int64(texts[i].parts) * acct.PricePerPart, // the default: Accept applies the account's prefix prices (accounts/money)
		}
	}
	req := accounts.AcceptRequest{AccountID: acct.ID, ParentID: acct.ParentID, Messages: msgs, SkipOptOut: m.SkipOptOut}
	if m.MailID != "" || m.IdempotencyKey != "" {
		req.IdempotencyKey = idempotencyKey(m)
	}
	began := time.Now()
	res, err := p.store.Accept(ctx, req)
	if p.metrics != nil {
		p.metrics.storeAccept.Observe(time.Since(began).Seconds())
	}
	if errors.Is(err, accounts.ErrNotFound) {
		// Deleted while a sender cache still held it: permanent.
		return nil, exterr.New(550, [3]int{5, 7, 1}, "not_found", "the sending account no longer exists",
			fmt.Errorf("accept for %s: %w", acct.ID, err))
	}
	if err != nil {
		return nil, fmt.Errorf("accept for %s: %w", acct.ID, err)
	}
	if res.Duplicate {
		p.log.InfoContext(ctx, "duplicate mail accepted again without charge",
			"account", acct.ID, "messages", len(res.IDs))
	}
	if len(res.Blocked) > 0 {
		p.log.InfoContext(ctx, "opted-out recipients blocked", "account", acct.ID, "blocked", len(res.Blocked),
			"accepted", len(res.IDs))
		if p.notifier != nil {
			p.notifier.BlockedNotice(ctx, m, res.Blocked)
		}
	}
	if res.LowBalance && p.events != nil {
		low := *acct
		low.Balance = res.Balance
		if err := p.events.LowBalance(ctx, &low); err != nil {
			p.log.ErrorContext(ctx, "low balance event", "err", err, "account", acct.ID)
		}
	}
	return res.IDs, nil
}

// idempotencyKey names a mail for the accept step's duplicate check: the
// same mail retried after a dropped connection carries the same sender,
// Message-ID, recipients and content, and is sent once. The content is part
// of the key (as a hash) because monitoring systems reuse a Message-ID for
// different alerts: a different text is a different mail.
func idempotencyKey(m *Mail) string {
	if m.IdempotencyKey != "" {
		return m.Sender.Address + "\x00key\x00" + m.IdempotencyKey + "\x00" + strings.Join(m.Recipients, ",")
	}
	h := sha256.New()
	for _, part := range []string{m.Subject, m.Text, m.Template, m.Source} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return m.Sender.Address + "\x00" + m.MailID + "\x00" + strings.Join(m.Recipients, ",") + "\x00" +
		hex.EncodeToString(h.Sum(nil)[:16])
}

// ComposeText builds the SMS text from a mail's subject and body according to
// the account's subject mode. A mail with an empty body sends its subject in
// either mode: a subject-only mail is how many people write a short text.
func ComposeText(mode, subject, body string) string {
	body = strings.TrimSpace(body)
	subject = strings.TrimSpace(subject)
	if body == "" {
		return subject
	}
	if mode == accounts.SubjectPrepend && subject != "" {
		return subject + "\n" + body
	}
	return body
}

func acceptResult(err error) string {
	if err == nil {
		return "accepted"
	}
	return "rejected"
}

// PermissionError is a mail the sending account's permission flags do not
// allow (seeds 002/003, accounts/flags.go). It matches ErrNotPermitted with
// errors.Is; its text is meant for the person sending.
type PermissionError struct {
	Flag   string // the flag that is missing, e.g. "send_bulk"
	Reason string // what the account may not do, e.g. "send to several recipients"
}

func (e *PermissionError) Error() string {
	return "account may not " + e.Reason + " (permission " + e.Flag + ")"
}

// Is makes errors.Is(err, ErrNotPermitted) true.
func (e *PermissionError) Is(target error) bool { return target == ErrNotPermitted }

// permit checks the sending flags of acct for a mail to recipients: SMS at
// all (access_sms), then each recipient as permitRcpt does. A root account
// Has every flag. The account was loaded when the sender was resolved, so a
// flag changed since takes effect with the next mail.
func permit(acct *accounts.Account, recipients []string) error {
	if err := permitSend(acct); err != nil {
		return err
	}
	for i, to := range recipients {
		if err := permitRcpt(acct, to, i); err != nil {
			return err
		}
	}
	return nil
}

// permitSend checks that acct may send SMS at all (access_sms).
func permitSend(acct *accounts.Account) error {
	if !acct.Can(accounts.FlagAccessSMS) {
		return notPermitted(&PermissionError{Flag: accounts.FlagAccessSMS, Reason: "send SMS"})
	}
	return nil
}

// permitRcpt checks that acct may send to the number to when it already has
// have recipients: more than one needs send_bulk, a destination outside the
// calling code of the account's default country needs global_sending.
func permitRcpt(acct *accounts.Account, to string, have int) error {
	if have > 0 && !acct.Can(accounts.FlagSendBulk) {
		return notPermitted(&PermissionError{Flag: accounts.FlagSendBulk, Reason: "send to several recipients"})
	}
	if acct.Can(accounts.FlagGlobalSending) {
		return nil
	}
	// An unknown country has no calling code: every number is abroad.
	cc, _ := phone.CallingCode(acct.DefaultCountry)
	if cc != "" && strings.HasPrefix(to, cc) {
		return nil
	}
	home := acct.DefaultCountry
	if cc != "" {
		home += " (+" + cc + ")"
	}
	return notPermitted(&PermissionError{Flag: accounts.FlagGlobalSending,
		Reason: fmt.Sprintf("send to %s outside its country %s", accounts.MaskNumber(to), home)})
}

// notPermitted is the refusal of a missing permission flag: 550 5.7.1 with
// the flag named.
func notPermitted(pe *PermissionError) error {
	return exterr.Permanent(550, [3]int{5, 7, 1}, "not_permitted", pe)
}

// noRoute is the refusal of a destination no carrier link serves: 550 at
// RCPT TO (the recipient fails), 554 at the end of DATA (the transaction).
func noRoute(code int, to string) error {
	return exterr.Permanent(code, [3]int{5, 4, 4}, "no_route", fmt.Errorf("%s: %w", accounts.MaskNumber(to), ErrNoRoute))
}
