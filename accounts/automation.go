package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/phone"
)

// Automation rules (seed 000 "Automation Rules", created by a sub-account
// administrator): what the gateway does on its own for an account.
//
//   - auto_reply: a reply whose first word is Keyword (or any reply, "*")
//     is answered with Text, from the number the phone texted;
//   - forward: such a reply is forwarded to ForwardTo: email addresses (a
//     mail) and/or E.164 numbers (an SMS from the account's default source);
//   - receipt_notice: the email sender of a message is mailed a notice when
//     it reaches a final status (Notify "all"), or only when it fails
//     ("failed").
//
// Loops are bounded by ClaimAutomation (one auto-reply per rule and phone
// number per window, a cap per account and hour), by never automating a
// reply whose conversation started with an automatic message (Sender
// "auto:..."), and by refusing forwards to the account's own dedicated
// numbers. The hooks that act on the rules live in router/automation.go.
//
// Keys: P:{sN}:automations:<acct> HASH rule id -> JSON; P:{sN}:autoonce:
// <rule>:<phone> (the window, SET PX); P:{sN}:autocap:<acct>:<unix hour>
// (the hourly counter, expiring after two hours).

// Kinds of automation rule.
const (
	AutoReply         = "auto_reply"
	AutoForward       = "forward"
	AutoReceiptNotice = "receipt_notice"
)

// Notify values of a receipt_notice rule.
const (
	NotifyAll    = "all"
	NotifyFailed = "failed"
)

// Limits of automation rules.
const (
	// MaxAutomations is the number of rules an account may have.
	MaxAutomations = 20
	// AutoAnyKeyword matches every reply.
	AutoAnyKeyword = "*"
	// maxAutoKeyword, maxAutoName and maxAutoText are in characters;
	// maxAutoForward is the number of forward_to entries.
	maxAutoKeyword = 20
	maxAutoName    = 80
	maxAutoText    = 480
	maxAutoForward = 10
)

// ErrAutomationLimit: the account already has MaxAutomations rules.
var ErrAutomationLimit = errors.New("automation rule limit reached")

// Automation is one automation rule of an account.
type Automation struct {
	ID        string    `json:"id"`
	AccountID string    `json:"account_id"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	Keyword   string    `json:"keyword,omitempty"`    // auto_reply, forward: upper-cased, or "*"
	Text      string    `json:"text,omitempty"`       // auto_reply
	ForwardTo []string  `json:"forward_to,omitempty"` // forward: lower-cased emails, E.164 digits
	Notify    string    `json:"notify,omitempty"`     // receipt_notice: all or failed
	Enabled   bool      `json:"enabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Matches reports whether a reply's text triggers an auto_reply or forward
// rule: its first word, without surrounding punctuation, equals Keyword
// regardless of case, or Keyword is "*".
func (a *Automation) Matches(text string) bool {
	if a.Keyword == AutoAnyKeyword {
		return true
	}
	return a.Keyword != "" && strings.EqualFold(FirstWord(text), a.Keyword)
}

// FirstWord returns the first word of text without the punctuation around
// it ("INFO, please" gives "INFO").
func FirstWord(text string) string {
	f := strings.Fields(text)
	if len(f) == 0 {
		return ""
	}
	return strings.TrimFunc(f[0], func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// AutomationPatch changes a rule; nil fields are kept. Kind cannot change.
type AutomationPatch struct {
	Name      *string
	Keyword   *string
	Text      *string
	ForwardTo *[]string
	Notify    *string
	Enabled   *bool
}

// autoInvalid is an ErrInvalid whose text names the field.
func autoInvalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// normalizeAutomation validates a and brings it to its stored form; country
// is the account's default country, for national numbers in ForwardTo.
func normalizeAutomation(a *Automation, country string) error {
	a.Name = strings.TrimSpace(a.Name)
	switch n := utf8.RuneCountInString(a.Name); {
	case n == 0:
		return autoInvalid("name: required")
	case n > maxAutoName:
		return autoInvalid("name: %d characters, at most %d", n, maxAutoName)
	}
	a.Keyword = strings.ToUpper(strings.TrimSpace(a.Keyword))
	a.Text = strings.TrimSpace(a.Text)
	a.Notify = strings.TrimSpace(a.Notify)
	keyed := a.Kind == AutoReply || a.Kind == AutoForward
	switch {
	case a.Kind != AutoReply && a.Kind != AutoForward && a.Kind != AutoReceiptNotice:
		return autoInvalid("kind: %q is not one of auto_reply, forward, receipt_notice", a.Kind)
	case keyed && a.Keyword == "":
		return autoInvalid("keyword: required for %s (a word, or * for every reply)", a.Kind)
	case keyed && a.Keyword != AutoAnyKeyword && !autoKeywordOK(a.Keyword):
		return autoInvalid("keyword: %q must be one word of letters and digits (at most %d), or *", a.Keyword, maxAutoKeyword)
	case !keyed && a.Keyword != "":
		return autoInvalid("keyword: not used by %s rules", a.Kind)
	case a.Kind == AutoReply && a.Text == "":
		return autoInvalid("text: required for auto_reply")
	case a.Kind == AutoReply && utf8.RuneCountInString(a.Text) > maxAutoText:
		return autoInvalid("text: %d characters, at most %d", utf8.RuneCountInString(a.Text), maxAutoText)
	case a.Kind != AutoReply && a.Text != "":
		return autoInvalid("text: not used by %s rules", a.Kind)
	case a.Kind == AutoForward && len(a.ForwardTo) == 0:
		return autoInvalid("forward_to: required for forward (email addresses and/or numbers)")
	case a.Kind == AutoForward && len(a.ForwardTo) > maxAutoForward:
		return autoInvalid("forward_to: %d entries, at most %d", len(a.ForwardTo), maxAutoForward)
	case a.Kind != AutoForward && len(a.ForwardTo) > 0:
		return autoInvalid("forward_to: not used by %s rules", a.Kind)
	case a.Kind == AutoReceiptNotice && a.Notify == "":
		a.Notify = NotifyAll
	case a.Kind == AutoReceiptNotice && a.Notify != NotifyAll && a.Notify != NotifyFailed:
		return autoInvalid("notify: %q is not one of all, failed", a.Notify)
	case a.Kind != AutoReceiptNotice && a.Notify != "":
		return autoInvalid("notify: not used by %s rules", a.Kind)
	}
	out := make([]string, 0, len(a.ForwardTo))
	for i, raw := range a.ForwardTo {
		v := strings.TrimSpace(raw)
		if strings.Contains(v, "@") {
			addr, err := mail.ParseAddress(v)
			if err != nil || addr.Name != "" || !strings.Contains(addr.Address, ".") {
				return autoInvalid("forward_to[%d]: %q is not an email address", i, raw)
			}
			v = strings.ToLower(addr.Address)
		} else {
			n, err := phone.Normalize(v, country)
			if err != nil {
				return autoInvalid("forward_to[%d]: %q is neither an email address nor a phone number (%v)", i, raw, err)
			}
			v = n
		}
		if slices.Contains(out, v) {
			return autoInvalid("forward_to[%d]: %s is listed twice", i, v)
		}
		out = append(out, v)
	}
	if len(out) > 0 {
		a.ForwardTo = out
	} else {
		a.ForwardTo = nil
	}
	return nil
}

func autoKeywordOK(k string) bool {
	if utf8.RuneCountInString(k) > maxAutoKeyword {
		return false
	}
	for _, r := range k {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// autoKey is the hash of an account's rules.
func (s *Store) autoKey(accountID string) (string, int, error) {
	if !strings.HasPrefix(accountID, "a") {
		return "", 0, fmt.Errorf("account %q: %w", accountID, ErrNotFound)
	}
	shard, err := s.shardFromID(accountID)
	if err != nil {
		return "", 0, err
	}
	return s.skey(shard, "automations", accountID), shard, nil
}

// CreateAutomation validates a and stores it as a new rule of accountID
// (a.ID, AccountID and the times are set here). An account has at most
// MaxAutomations rules (ErrAutomationLimit beyond), at most one
// receipt_notice rule, and one rule per kind and keyword. Forwards to the
// account's own dedicated numbers are refused: they would come back as
// replies.
func (s *Store) CreateAutomation(ctx context.Context, accountID string, a Automation) (*Automation, error) {
	acct, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("create automation: %w", err)
	}
	a.ID, a.AccountID = newID("au_", 8), accountID
	a.CreatedAt, a.UpdatedAt = time.UnixMilli(s.now().UnixMilli()).UTC(), time.Time{}
	if err := normalizeAutomation(&a, acct.DefaultCountry); err != nil {
		return nil, err
	}
	if err := s.autoCheckNumbers(ctx, accountID, a.ForwardTo); err != nil {
		return nil, err
	}
	key, _, err := s.autoKey(accountID)
	if err != nil {
		return nil, err
	}
	err = s.autoWrite(ctx, key, func(rules []Automation) error {
		if len(rules) >= MaxAutomations {
			return fmt.Errorf("account %s has %d rules, at most %d: %w", accountID, len(rules), MaxAutomations, ErrAutomationLimit)
		}
		return autoConflict(rules, &a)
	}, &a)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// UpdateAutomation applies p to rule id of accountID, validated as at
// creation, and returns the stored rule. ErrNotFound for a rule that is not
// the account's.
func (s *Store) UpdateAutomation(ctx context.Context, accountID, id string, p AutomationPatch) (*Automation, error) {
	acct, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("update automation: %w", err)
	}
	key, _, err := s.autoKey(accountID)
	if err != nil {
		return nil, err
	}
	var out Automation
	err = s.autoWrite(ctx, key, func(rules []Automation) error {
		i := slices.IndexFunc(rules, func(r Automation) bool { return r.ID == id })
		if i < 0 {
			return fmt.Errorf("automation %s: %w", id, ErrNotFound)
		}
		a := rules[i]
		applyAutomationPatch(&a, p)
		a.UpdatedAt = time.UnixMilli(s.now().UnixMilli()).UTC()
		if err := normalizeAutomation(&a, acct.DefaultCountry); err != nil {
			return err
		}
		if err := s.autoCheckNumbers(ctx, accountID, a.ForwardTo); err != nil {
			return err
		}
		if err := autoConflict(slices.Delete(rules, i, i+1), &a); err != nil {
			return err
		}
		out = a
		return nil
	}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func applyAutomationPatch(a *Automation, p AutomationPatch) {
	if p.Name != nil {
		a.Name = *p.Name
	}
	if p.Keyword != nil {
		a.Keyword = *p.Keyword
	}
	if p.Text != nil {
		a.Text = *p.Text
	}
	if p.ForwardTo != nil {
		a.ForwardTo = *p.ForwardTo
	}
	if p.Notify != nil {
		a.Notify = *p.Notify
	}
	if p.Enabled != nil {
		a.Enabled = *p.Enabled
	}
}

// autoConflict refuses a second receipt_notice rule and a second rule of
// one kind with one keyword: which one would apply is not obvious.
func autoConflict(rules []Automation, a *Automation) error {
	for _, r := range rules {
		switch {
		case r.ID == a.ID:
		case a.Kind == AutoReceiptNotice && r.Kind == AutoReceiptNotice:
			return autoInvalid("kind: the account already has receipt_notice rule %s; change that one", r.ID)
		case a.Kind != AutoReceiptNotice && r.Kind == a.Kind && r.Keyword == a.Keyword:
			return autoInvalid("keyword: %s is already used by %s rule %s", a.Keyword, a.Kind, r.ID)
		}
	}
	return nil
}

// autoWrite runs check on the account's current rules and stores a (its
// ID field names it), all under WATCH so that concurrent writes cannot
// pass the limits together. Every round one of the competing writers wins,
// so losers retry after a short, growing, jittered pause (rule changes are
// rare admin actions); ctx bounds the whole.
func (s *Store) autoWrite(ctx context.Context, key string, check func([]Automation) error, a *Automation) error {
	for attempt := range 100 {
		if attempt > 0 {
			pause := time.Duration(rand.Int64N(int64(min(attempt, 20)) * int64(time.Millisecond)))
			select {
			case <-ctx.Done():
				return fmt.Errorf("store automation: %w", ctx.Err())
			case <-time.After(pause):
			}
		}
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			rules, err := autoDecodeAll(tx.HGetAll(ctx, key))
			if err != nil {
				return err
			}
			if err := check(rules); err != nil {
				return err
			}
			b, err := json.Marshal(a)
			if err != nil {
				return fmt.Errorf("encode automation: %w", err)
			}
			_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				pipe.HSet(ctx, key, a.ID, b)
				return nil
			})
			return err
		}, key)
		if !errors.Is(err, redis.TxFailedErr) {
			if err != nil && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrAutomationLimit) {
				return fmt.Errorf("store automation: %w", err)
			}
			return err
		}
	}
	return fmt.Errorf("store automation: too much contention on %s", key)
}

// autoCheckNumbers refuses forwards to the account's own dedicated numbers
// (the global P:number:<digits> index of accounts/senders.go): the SMS would
// come straight back as a reply to the same account.
func (s *Store) autoCheckNumbers(ctx context.Context, accountID string, to []string) error {
	for i, v := range to {
		if strings.Contains(v, "@") {
			continue
		}
		owner, err := s.AutomationNumberOwner(ctx, v)
		if err != nil {
			return err
		}
		if owner == accountID {
			return autoInvalid("forward_to[%d]: %s is a dedicated number of this account; forwarding to it would loop", i, v)
		}
	}
	return nil
}

// autoDecodeAll decodes an account's rules hash, oldest first.
func autoDecodeAll(cmd *redis.MapStringStringCmd) ([]Automation, error) {
	h, err := cmd.Result()
	if err != nil {
		return nil, fmt.Errorf("load automations: %w", err)
	}
	out := make([]Automation, 0, len(h))
	for id, v := range h {
		var a Automation
		if err := json.Unmarshal([]byte(v), &a); err != nil {
			return nil, fmt.Errorf("automation %s: %w", id, err)
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Automation) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// ListAutomations returns the rules of an account, oldest first.
func (s *Store) ListAutomations(ctx context.Context, accountID string) ([]Automation, error) {
	key, _, err := s.autoKey(accountID)
	if err != nil {
		return nil, err
	}
	return autoDecodeAll(s.rdb.HGetAll(ctx, key))
}

// GetAutomation returns rule id of accountID, or ErrNotFound.
func (s *Store) GetAutomation(ctx context.Context, accountID, id string) (*Automation, error) {
	key, _, err := s.autoKey(accountID)
	if err != nil {
		return nil, err
	}
	v, err := s.rdb.HGet(ctx, key, id).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("automation %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get automation %s: %w", id, err)
	}
	var a Automation
	if err := json.Unmarshal([]byte(v), &a); err != nil {
		return nil, fmt.Errorf("automation %s: %w", id, err)
	}
	return &a, nil
}

// DeleteAutomation removes rule id of accountID, or returns ErrNotFound.
func (s *Store) DeleteAutomation(ctx context.Context, accountID, id string) error {
	key, _, err := s.autoKey(accountID)
	if err != nil {
		return err
	}
	n, err := s.rdb.HDel(ctx, key, id).Result()
	if err != nil {
		return fmt.Errorf("delete automation %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("automation %s: %w", id, ErrNotFound)
	}
	return nil
}
