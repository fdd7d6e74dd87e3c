package router

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/smtp/exterr"
)

// OptOutChecker finds whether a number is on the opt-out list that governs
// an account (its own, or its parent's under share_contacts).
type OptOutChecker interface {
	OptOutList(acct *accounts.Account) string
	// CheckOptOut reports whether number is on listOwner's list and how
	// many numbers the list holds, in one round trip.
	CheckOptOut(ctx context.Context, listOwner, number string) (listed bool, size int64, err error)
}

// optOutListTTL is how long the pipeline remembers that an opt-out list is
// empty, so that the common case (nobody has opted out) costs no lookup per
// recipient. A number that opts out meanwhile is still blocked, atomically,
// by the accept step; it is only answered at DATA instead of at RCPT TO.
const optOutListTTL = 2 * time.Second

// optOutLists remembers which opt-out lists were empty when last looked at.
type optOutLists struct {
	mu    sync.Mutex
	empty map[string]time.Time // list owner -> empty until
}

// known reports whether owner's list is known to be empty now.
func (l *optOutLists) knownEmpty(owner string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	until, ok := l.empty[owner]
	if ok && now.After(until) {
		delete(l.empty, owner)
		return false
	}
	return ok
}

// forget drops what is known of owner's list.
func (l *optOutLists) forget(owner string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.empty, owner)
}

func (l *optOutLists) setEmpty(owner string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.empty == nil {
		l.empty = map[string]time.Time{}
	}
	l.empty[owner] = now.Add(optOutListTTL)
}

// optedOut reports whether to is on the opt-out list that governs acct.
func (p *Pipeline) optedOut(ctx context.Context, acct *accounts.Account, to string) (bool, error) {
	owner := p.optouts.OptOutList(acct)
	now := time.Now()
	if p.emptyLists.knownEmpty(owner, now) {
		return false, nil
	}
	listed, size, err := p.optouts.CheckOptOut(ctx, owner, to)
	if err != nil {
		return false, fmt.Errorf("opt-out check for %s: %w", acct.ID, err)
	}
	if size == 0 {
		p.emptyLists.setEmpty(owner, now)
	}
	return listed, nil
}

// RefusedRecorder writes the blocked-log record of a recipient refused at
// RCPT TO because it has opted out (the account's administrators see the
// attempt, as they see recipients blocked at accept).
type RefusedRecorder interface {
	RecordRefusedOptOut(ctx context.Context, accountID, sender, to string) (string, error)
}

// Transaction is one mail accepted in steps, as SMTP delivers it: Start at
// MAIL FROM, AddRcpt for each RCPT TO, Commit at the end of DATA, Abort on
// RSET or a dropped connection. Every check that depends only on the
// sender and a recipient (the number's permissions, a route, the opt-out
// list) answers at AddRcpt, so one bad recipient is refused alone and the
// others are sent. Commit runs the checks that need the text (length,
// template, sender choice) and the atomic accept step, which checks the
// balance and the opt-out list again: between RCPT and DATA a number may
// opt out. A Transaction is used by one goroutine.
type Transaction struct {
	p      *Pipeline
	sender *accounts.Sender
	rcpts  []string
	seen   map[string]bool // the recipients once there are more than a few (has)
}

// Start begins a transaction for a resolved sender: the account must be
// active and allowed to send SMS at all.
func (p *Pipeline) Start(_ context.Context, sender *accounts.Sender) (*Transaction, error) {
	if sender == nil || sender.Account == nil {
		return nil, fmt.Errorf("start: %w", accounts.ErrUnknownSender)
	}
	if sender.Account.Status != accounts.StatusActive {
		return nil, fmt.Errorf("start %s: %w", sender.Account.ID, accounts.ErrDeactivated)
	}
	if err := permitSend(sender.Account); err != nil {
		return nil, err
	}
	return &Transaction{p: p, sender: sender}, nil
}

// AddRcpt checks one recipient (E.164 digits without '+') and adds it. A
// number already added is accepted again without effect. The refusal is
// an *exterr.Error: a missing permission (send_bulk for a second
// recipient, global_sending abroad), no route, or an opted-out number.
func (t *Transaction) AddRcpt(ctx context.Context, to string) error {
	if t.has(to) {
		return nil
	}
	acct := t.sender.Account
	if err := permitRcpt(acct, to, len(t.rcpts)); err != nil {
		return err
	}
	if t.p.routes != nil && !t.p.routes.Has(to) {
		return noRoute(550, to)
	}
	if t.p.optouts != nil {
		out, err := t.p.optedOut(ctx, acct, to)
		if err != nil {
			return err
		}
		if out {
			if t.p.refused != nil {
				if _, rerr := t.p.refused.RecordRefusedOptOut(ctx, acct.ID, t.sender.Address, to); rerr != nil {
					t.p.log.ErrorContext(ctx, "blocked log record", "account", acct.ID, "err", rerr)
				}
			}
			return exterr.New(550, [3]int{5, 7, 1}, "opted_out",
				"recipient "+accounts.MaskNumber(to)+" has opted out of messages from this account",
				&accounts.OptedOutError{Numbers: []string{to}})
		}
	}
	t.add(to)
	return nil
}

// AddGroup adds the numbers a group recipient expands to, all or none: a
// member the account may not send to, or that no route serves, refuses the
// group with that reason. Members who have opted out are left to the
// accept step, which blocks them and tells the sender (a group is expected
// to hold some). Numbers already added collapse; fresh returns how many
// were new.
func (t *Transaction) AddGroup(_ context.Context, numbers []string) (fresh int, err error) {
	acct := t.sender.Account
	have := len(t.rcpts)
	for _, n := range numbers {
		if t.has(n) {
			continue
		}
		if err := permitRcpt(acct, n, have); err != nil {
			return 0, err
		}
		if t.p.routes != nil && !t.p.routes.Has(n) {
			return 0, noRoute(550, n)
		}
		have++
	}
	for _, n := range numbers {
		if !t.has(n) {
			t.add(n)
			fresh++
		}
	}
	return fresh, nil
}

func (t *Transaction) add(to string) {
	t.rcpts = append(t.rcpts, to)
	switch {
	case t.seen != nil:
		t.seen[to] = true
	case len(t.rcpts) > seenScan:
		t.seen = make(map[string]bool, 2*len(t.rcpts))
		for _, r := range t.rcpts {
			t.seen[r] = true
		}
	}
}

// seenScan is how many recipients are searched one by one before a
// transaction indexes them (a mail has one or a few; a group, hundreds).
const seenScan = 8

// has reports whether to is a recipient already.
func (t *Transaction) has(to string) bool {
	if t.seen != nil {
		return t.seen[to]
	}
	return slices.Contains(t.rcpts, to)
}

// Has reports whether to is a recipient already.
func (t *Transaction) Has(to string) bool { return t.has(to) }

// Recipients returns the recipients added so far, in order.
func (t *Transaction) Recipients() []string { return t.rcpts }

// Commit accepts the mail for the transaction's recipients: m.Sender and
// m.Recipients are set from the transaction. It returns the message ids
// once the store has them.
func (t *Transaction) Commit(ctx context.Context, m *Mail) ([]string, error) {
	if len(t.rcpts) == 0 {
		return nil, exterr.New(554, [3]int{5, 5, 1}, "protocol", "no valid recipients", nil)
	}
	m.Sender, m.Recipients = t.sender, t.rcpts
	return t.p.Accept(ctx, m)
}

// Abort ends the transaction without accepting anything. Nothing was
// written before Commit, so there is nothing to undo.
func (t *Transaction) Abort() { t.rcpts, t.seen = nil, nil }
