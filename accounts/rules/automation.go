package rules

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

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
	"github.com/smsgate/smsgate/phone"
)

// autoInvalid is an ErrInvalid whose text names the field.
func autoInvalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{accounts.ErrInvalid}, args...)...)
}

// normalizeAutomation validates a and brings it to its stored form; country
// is the account's default country, for national numbers in ForwardTo.
func normalizeAutomation(a *accounts.Automation, country string) error {
	a.Name = strings.TrimSpace(a.Name)
	switch n := utf8.RuneCountInString(a.Name); {
	case n == 0:
		return autoInvalid("name: required")
	case n > accounts.MaxAutoName:
		return autoInvalid("name: %d characters, at most %d", n, accounts.MaxAutoName)
	}
	if err := accounts.CheckName("name", a.Name); err != nil {
		return err
	}
	if err := accounts.CheckText("text", a.Text); err != nil {
		return err
	}
	a.Keyword = strings.ToUpper(strings.TrimSpace(a.Keyword))
	a.Text = strings.TrimSpace(a.Text)
	a.Notify = strings.TrimSpace(a.Notify)
	keyed := a.Kind == accounts.AutoReply || a.Kind == accounts.AutoForward
	switch {
	case a.Kind != accounts.AutoReply && a.Kind != accounts.AutoForward && a.Kind != accounts.AutoReceiptNotice:
		return autoInvalid("kind: %q is not one of auto_reply, forward, receipt_notice", a.Kind)
	case keyed && a.Keyword == "":
		return autoInvalid("keyword: required for %s (a word, or * for every reply)", a.Kind)
	case keyed && a.Keyword != accounts.AutoAnyKeyword && !autoKeywordOK(a.Keyword):
		return autoInvalid("keyword: %q must be one word of letters and digits (at most %d), or *", a.Keyword, accounts.MaxAutoKeyword)
	case !keyed && a.Keyword != "":
		return autoInvalid("keyword: not used by %s rules", a.Kind)
	case a.Kind == accounts.AutoReply && a.Text == "":
		return autoInvalid("text: required for auto_reply")
	case a.Kind == accounts.AutoReply && utf8.RuneCountInString(a.Text) > accounts.MaxAutoText:
		return autoInvalid("text: %d characters, at most %d", utf8.RuneCountInString(a.Text), accounts.MaxAutoText)
	case a.Kind != accounts.AutoReply && a.Text != "":
		return autoInvalid("text: not used by %s rules", a.Kind)
	case a.Kind == accounts.AutoForward && len(a.ForwardTo) == 0:
		return autoInvalid("forward_to: required for forward (email addresses and/or numbers)")
	case a.Kind == accounts.AutoForward && len(a.ForwardTo) > accounts.MaxAutoForward:
		return autoInvalid("forward_to: %d entries, at most %d", len(a.ForwardTo), accounts.MaxAutoForward)
	case a.Kind != accounts.AutoForward && len(a.ForwardTo) > 0:
		return autoInvalid("forward_to: not used by %s rules", a.Kind)
	case a.Kind == accounts.AutoReceiptNotice && a.Notify == "":
		a.Notify = accounts.NotifyAll
	case a.Kind == accounts.AutoReceiptNotice && a.Notify != accounts.NotifyAll && a.Notify != accounts.NotifyFailed:
		return autoInvalid("notify: %q is not one of all, failed", a.Notify)
	case a.Kind != accounts.AutoReceiptNotice && a.Notify != "":
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
	if utf8.RuneCountInString(k) > accounts.MaxAutoKeyword {
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
		return "", 0, fmt.Errorf("account %q: %w", accountID, accounts.ErrNotFound)
	}
	shard, err := s.ShardFromID(accountID)
	if err != nil {
		return "", 0, err
	}
	return s.Keys.Automations(shard, accountID), shard, nil
}

// CreateAutomation validates a and stores it as a new rule of accountID
// (a.ID, AccountID and the times are set here). An account has at most
// MaxAutomations rules (ErrAutomationLimit beyond), at most one
// receipt_notice rule, and one rule per kind and keyword. Forwards to the
// account's own dedicated numbers are refused: they would come back as
// replies.
func (s *Store) CreateAutomation(ctx context.Context, accountID string, a accounts.Automation) (*accounts.Automation, error) {
	acct, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("create automation: %w", err)
	}
	a.ID, a.AccountID = store.NewID("au_", 8), accountID
	a.CreatedAt, a.UpdatedAt = time.UnixMilli(s.Now().UnixMilli()).UTC(), time.Time{}
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
	q, err := s.QuotasOf(ctx, accountID)
	if err != nil {
		return nil, err
	}
	err = s.autoWrite(ctx, key, func(rules []accounts.Automation) error {
		if int64(len(rules)) >= q.Automations {
			return &accounts.QuotaError{Account: accountID, Quota: accounts.QuotaAutomations, Limit: q.Automations, Used: int64(len(rules)), Want: 1}
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
func (s *Store) UpdateAutomation(ctx context.Context, accountID, id string, p accounts.AutomationPatch) (*accounts.Automation, error) {
	acct, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("update automation: %w", err)
	}
	key, _, err := s.autoKey(accountID)
	if err != nil {
		return nil, err
	}
	var out accounts.Automation
	err = s.autoWrite(ctx, key, func(rules []accounts.Automation) error {
		i := slices.IndexFunc(rules, func(r accounts.Automation) bool { return r.ID == id })
		if i < 0 {
			return fmt.Errorf("automation %s: %w", id, accounts.ErrNotFound)
		}
		a := rules[i]
		applyAutomationPatch(&a, p)
		a.UpdatedAt = time.UnixMilli(s.Now().UnixMilli()).UTC()
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

func applyAutomationPatch(a *accounts.Automation, p accounts.AutomationPatch) {
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
func autoConflict(rules []accounts.Automation, a *accounts.Automation) error {
	for _, r := range rules {
		switch {
		case r.ID == a.ID:
		case a.Kind == accounts.AutoReceiptNotice && r.Kind == accounts.AutoReceiptNotice:
			return autoInvalid("kind: the account already has receipt_notice rule %s; change that one", r.ID)
		case a.Kind != accounts.AutoReceiptNotice && r.Kind == a.Kind && r.Keyword == a.Keyword:
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
func (s *Store) autoWrite(ctx context.Context, key string, check func([]accounts.Automation) error, a *accounts.Automation) error {
	for attempt := range 100 {
		if attempt > 0 {
			pause := time.Duration(rand.Int64N(int64(min(attempt, 20)) * int64(time.Millisecond)))
			select {
			case <-ctx.Done():
				return fmt.Errorf("store automation: %w", ctx.Err())
			case <-time.After(pause):
			}
		}
		err := s.RDB.Watch(ctx, func(tx *redis.Tx) error {
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
			if err != nil && !errors.Is(err, accounts.ErrInvalid) && !errors.Is(err, accounts.ErrNotFound) && !errors.Is(err, accounts.ErrAutomationLimit) {
				return fmt.Errorf("store automation: %w", err)
			}
			return err
		}
	}
	return fmt.Errorf("store automation: too much contention on %s", key)
}

// autoCheckNumbers refuses forwards to the account's own dedicated numbers
// (the global P:number:<digits> index of accounts/tenancy): the SMS would
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
func autoDecodeAll(cmd *redis.MapStringStringCmd) ([]accounts.Automation, error) {
	h, err := cmd.Result()
	if err != nil {
		return nil, fmt.Errorf("load automations: %w", err)
	}
	out := make([]accounts.Automation, 0, len(h))
	for id, v := range h {
		var a accounts.Automation
		if err := json.Unmarshal([]byte(v), &a); err != nil {
			return nil, fmt.Errorf("automation %s: %w", id, err)
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b accounts.Automation) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// ListAutomations returns the rules of an account, oldest first.
func (s *Store) ListAutomations(ctx context.Context, accountID string) ([]accounts.Automation, error) {
	key, _, err := s.autoKey(accountID)
	if err != nil {
		return nil, err
	}
	return autoDecodeAll(s.RDB.HGetAll(ctx, key))
}

// GetAutomation returns rule id of accountID, or ErrNotFound.
func (s *Store) GetAutomation(ctx context.Context, accountID, id string) (*accounts.Automation, error) {
	key, _, err := s.autoKey(accountID)
	if err != nil {
		return nil, err
	}
	v, err := s.RDB.HGet(ctx, key, id).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("automation %s: %w", id, accounts.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get automation %s: %w", id, err)
	}
	var a accounts.Automation
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
	n, err := s.RDB.HDel(ctx, key, id).Result()
	if err != nil {
		return fmt.Errorf("delete automation %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("automation %s: %w", id, accounts.ErrNotFound)
	}
	return nil
}
