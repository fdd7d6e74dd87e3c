package accounts

// Opt-outs and the Stop rule (issue 4 item 3, seed 002 "Managing opt-outs
// with subaccounts").
//
// Every account has its own opt-out list, P:{sN}:optout:<acct>, a hash from
// number (E.164 digits without '+') to a JSON OptOut saying when, why and
// through what the number opted out. A sub-account with share_contacts in
// force uses its parent's list instead (OptOutList): a STOP to any such
// sub-account then stops the parent and every sibling that shares it. The
// lists live in the tree's shard, so the accept script (accept.lua) reads
// the governing list in the same atomic step as the debit: a number that
// opts out between RCPT and DATA is still blocked, and never charged.
//
// The Stop rule of an account, P:{sN}:stoprule:<acct> (a hash; absent
// fields take the defaults), says which replies opt a number out, which
// resubscribe it (only where AllowStart is on) and what confirmation is
// sent back. router/stop.go applies it to every reply.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// ErrOptedOut: every recipient of a mail is on the opt-out list; the error
// is an *OptedOutError naming them (masked).
var ErrOptedOut = errors.New("recipient has opted out")

// OptedOutError is a send refused because every recipient has opted out. It
// matches ErrOptedOut; its text, meant for the person sending, names the
// numbers masked but for their last four digits.
type OptedOutError struct {
	Numbers []string // E.164 digits without '+', unmasked
}

func (e *OptedOutError) Error() string {
	masked := make([]string, len(e.Numbers))
	for i, n := range e.Numbers {
		masked[i] = maskNumber(n)
	}
	return "all recipients have opted out: " + strings.Join(masked, ", ")
}

// Is makes errors.Is(err, ErrOptedOut) true.
func (e *OptedOutError) Is(target error) bool { return target == ErrOptedOut }

// maskNumber hides all but the last four digits of a number.
func maskNumber(n string) string {
	if len(n) <= 4 {
		return n
	}
	return strings.Repeat("*", len(n)-4) + n[len(n)-4:]
}

// OptOut is one number on an opt-out list.
type OptOut struct {
	Number string    `json:"number"` // E.164 digits without '+'
	At     time.Time `json:"at"`
	Reason string    `json:"reason"` // e.g. `keyword "STOP"`, "added by hand"
	Via    string    `json:"via"`    // e.g. "reply r0-…", "api key k…", "user jo@example.com"
}

// optOutValue is the stored form of an OptOut (the number is the field).
type optOutValue struct {
	At     int64  `json:"at"` // unix ms
	Reason string `json:"reason,omitempty"`
	Via    string `json:"via,omitempty"`
}

// OptOutList returns the id of the account whose opt-out list governs acct:
// its parent's when acct is a sub-account with share_contacts in force (seed
// 002 "Keep contacts, opt-out lists ... separate or shared"), else its own.
// accept.lua makes the same choice from the stored flags.
func (s *Store) OptOutList(acct *Account) string {
	if acct.ParentID != "" && acct.Can(FlagShareContacts) {
		return acct.ParentID
	}
	return acct.ID
}

// optOutKey is the hash of listOwner's opt-out list.
func (s *Store) optOutKey(listOwner string) (string, error) {
	shard, err := s.shardFromID(listOwner)
	if err != nil {
		return "", fmt.Errorf("opt-out list: account %w", err)
	}
	return s.skey(shard, "optout", listOwner), nil
}

// validNumber reports whether n looks like E.164 digits without '+'.
func validNumber(n string) bool {
	if len(n) < 6 || len(n) > 15 {
		return false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// AddOptOut puts o.Number on listOwner's opt-out list (o.At zero: now). A
// number already on it keeps its first record: added is false then.
func (s *Store) AddOptOut(ctx context.Context, listOwner string, o OptOut) (added bool, err error) {
	if !validNumber(o.Number) {
		return false, acctInvalid("number: %q is not an E.164 number", o.Number)
	}
	key, err := s.optOutKey(listOwner)
	if err != nil {
		return false, err
	}
	if o.At.IsZero() {
		o.At = s.now()
	}
	v, err := json.Marshal(optOutValue{At: o.At.UnixMilli(), Reason: o.Reason, Via: o.Via})
	if err != nil {
		return false, fmt.Errorf("opt out %s: %w", maskNumber(o.Number), err)
	}
	added, err = s.rdb.HSetNX(ctx, key, o.Number, v).Result()
	if err != nil {
		return false, fmt.Errorf("opt out %s on %s: %w", maskNumber(o.Number), listOwner, err)
	}
	return added, nil
}

// RemoveOptOut takes number off listOwner's list (resubscribes it).
// ErrNotFound when it is not on the list.
func (s *Store) RemoveOptOut(ctx context.Context, listOwner, number string) error {
	key, err := s.optOutKey(listOwner)
	if err != nil {
		return err
	}
	n, err := s.rdb.HDel(ctx, key, number).Result()
	if err != nil {
		return fmt.Errorf("resubscribe %s on %s: %w", maskNumber(number), listOwner, err)
	}
	if n == 0 {
		return fmt.Errorf("number %s on the opt-out list of %s: %w", maskNumber(number), listOwner, ErrNotFound)
	}
	return nil
}

// GetOptOut returns number's record on listOwner's list, or ErrNotFound.
func (s *Store) GetOptOut(ctx context.Context, listOwner, number string) (*OptOut, error) {
	key, err := s.optOutKey(listOwner)
	if err != nil {
		return nil, err
	}
	v, err := s.rdb.HGet(ctx, key, number).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("number %s on the opt-out list of %s: %w", maskNumber(number), listOwner, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("opt-out of %s on %s: %w", maskNumber(number), listOwner, err)
	}
	o := optOutFrom(number, v)
	return &o, nil
}

// ListOptOuts returns listOwner's opt-out list, newest first.
func (s *Store) ListOptOuts(ctx context.Context, listOwner string) ([]OptOut, error) {
	key, err := s.optOutKey(listOwner)
	if err != nil {
		return nil, err
	}
	h, err := s.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("opt-out list of %s: %w", listOwner, err)
	}
	out := make([]OptOut, 0, len(h))
	for n, v := range h {
		out = append(out, optOutFrom(n, v))
	}
	slices.SortFunc(out, func(a, b OptOut) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return strings.Compare(a.Number, b.Number)
	})
	return out, nil
}

// optOutFrom decodes a stored record; a malformed one keeps its number.
func optOutFrom(number, v string) OptOut {
	var ov optOutValue
	_ = json.Unmarshal([]byte(v), &ov)
	o := OptOut{Number: number, Reason: ov.Reason, Via: ov.Via}
	if ov.At > 0 {
		o.At = time.UnixMilli(ov.At)
	}
	return o
}

// The Stop rule's defaults.
var (
	defaultStopKeywords  = []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
	defaultStartKeywords = []string{"START", "UNSTOP", "SUBSCRIBE", "YES"}
)

// Default confirmation texts.
const (
	DefaultStopConfirmation  = "You have been unsubscribed. Reply START to resubscribe."
	DefaultStartConfirmation = "You have been resubscribed. Reply STOP to unsubscribe."
)

// Stop rule limits.
const (
	stopMaxKeywords   = 20
	stopMaxKeywordLen = 30
	stopMaxConfirmLen = 480 // three GSM parts at most
)

// StopRule is an account's Stop rule.
type StopRule struct {
	// Keywords opt a number out: a reply matches when its whole trimmed
	// text, or its first word, is one of them, ignoring case.
	Keywords []string `json:"keywords"`
	// StartKeywords resubscribe a number, only where AllowStart is on.
	StartKeywords []string `json:"start_keywords"`
	AllowStart    bool     `json:"allow_start"`
	// Confirmation is sent to the number that opted out, from the number it
	// texted, charged like any SMS; empty: none.
	Confirmation string `json:"confirmation"`
	// StartConfirmation is sent on a resubscription; empty: none.
	StartConfirmation string `json:"start_confirmation"`
}

// DefaultStopRule is the rule of an account that has set none.
func DefaultStopRule() StopRule {
	return StopRule{Keywords: slices.Clone(defaultStopKeywords), StartKeywords: slices.Clone(defaultStartKeywords),
		Confirmation: DefaultStopConfirmation, StartConfirmation: DefaultStartConfirmation}
}

// Stop rule match results.
const (
	StopNone  = ""
	StopStop  = "stop"
	StopStart = "start"
)

// Match says whether a reply's text opts out (StopStop), resubscribes
// (StopStart, whatever AllowStart says: the caller decides) or neither. The
// whole trimmed text is tried first, then its first word; both ignore case
// and punctuation at the ends ("Stop." and "stop please" match STOP).
func (r *StopRule) Match(text string) (kind, keyword string) {
	whole := stopNorm(text)
	first, _, _ := strings.Cut(whole, " ")
	first = stopNorm(first)
	for _, cand := range []string{whole, first} {
		if cand == "" {
			continue
		}
		if i := slices.Index(r.Keywords, cand); i >= 0 {
			return StopStop, r.Keywords[i]
		}
		if i := slices.Index(r.StartKeywords, cand); i >= 0 {
			return StopStart, r.StartKeywords[i]
		}
	}
	return StopNone, ""
}

// stopNorm upper-cases s, folds runs of white space to one space and trims
// white space and punctuation from both ends.
func stopNorm(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.TrimFunc(s, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) || unicode.IsSymbol(r) })
	return strings.ToUpper(s)
}

// normKeywords validates and normalises a keyword list: upper case, no
// repeats, each 1..30 characters without commas.
func normKeywords(field string, ks []string) ([]string, error) {
	if len(ks) > stopMaxKeywords {
		return nil, acctInvalid("%s: %d keywords, at most %d", field, len(ks), stopMaxKeywords)
	}
	out := make([]string, 0, len(ks))
	for i, k := range ks {
		n := stopNorm(k)
		switch {
		case n == "":
			return nil, acctInvalid("%s[%d]: %q is empty", field, i, k)
		case utf8.RuneCountInString(n) > stopMaxKeywordLen:
			return nil, acctInvalid("%s[%d]: %q is longer than %d characters", field, i, k, stopMaxKeywordLen)
		case strings.Contains(n, ","):
			return nil, acctInvalid("%s[%d]: %q contains a comma", field, i, k)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// NormStopRule validates r: at least one stop keyword, no keyword in both
// lists, confirmations of at most 480 characters.
func NormStopRule(r StopRule) (StopRule, error) {
	var err error
	if r.Keywords, err = normKeywords("keywords", r.Keywords); err != nil {
		return r, err
	}
	if len(r.Keywords) == 0 {
		return r, acctInvalid("keywords: at least one stop keyword is required")
	}
	if r.StartKeywords, err = normKeywords("start_keywords", r.StartKeywords); err != nil {
		return r, err
	}
	for _, k := range r.StartKeywords {
		if slices.Contains(r.Keywords, k) {
			return r, acctInvalid("start_keywords: %q is also a stop keyword", k)
		}
	}
	r.Confirmation = strings.TrimSpace(r.Confirmation)
	r.StartConfirmation = strings.TrimSpace(r.StartConfirmation)
	if n := utf8.RuneCountInString(r.Confirmation); n > stopMaxConfirmLen {
		return r, acctInvalid("confirmation: %d characters, at most %d", n, stopMaxConfirmLen)
	}
	if n := utf8.RuneCountInString(r.StartConfirmation); n > stopMaxConfirmLen {
		return r, acctInvalid("start_confirmation: %d characters, at most %d", n, stopMaxConfirmLen)
	}
	return r, nil
}

// stopRuleKey is the hash of accountID's Stop rule.
func (s *Store) stopRuleKey(accountID string) (string, error) {
	shard, err := s.shardFromID(accountID)
	if err != nil {
		return "", fmt.Errorf("stop rule: account %w", err)
	}
	return s.skey(shard, "stoprule", accountID), nil
}

// StopRule returns accountID's Stop rule; fields it never set have their
// defaults (DefaultStopRule).
func (s *Store) StopRule(ctx context.Context, accountID string) (*StopRule, error) {
	key, err := s.stopRuleKey(accountID)
	if err != nil {
		return nil, err
	}
	h, err := s.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("stop rule of %s: %w", accountID, err)
	}
	r := DefaultStopRule()
	if v, ok := h["keywords"]; ok && v != "" {
		r.Keywords = strings.Split(v, ",")
	}
	if v, ok := h["start_keywords"]; ok {
		r.StartKeywords = acctSplit(v)
	}
	r.AllowStart = h["allow_start"] == "1"
	if v, ok := h["confirmation"]; ok {
		r.Confirmation = v
	}
	if v, ok := h["start_confirmation"]; ok {
		r.StartConfirmation = v
	}
	return &r, nil
}

// SetStopRule validates r (NormStopRule) and stores it whole as
// accountID's Stop rule, returning what was stored.
func (s *Store) SetStopRule(ctx context.Context, accountID string, r StopRule) (*StopRule, error) {
	key, err := s.stopRuleKey(accountID)
	if err != nil {
		return nil, err
	}
	r, err = NormStopRule(r)
	if err != nil {
		return nil, err
	}
	allow := "0"
	if r.AllowStart {
		allow = "1"
	}
	if err := s.rdb.HSet(ctx, key, "keywords", strings.Join(r.Keywords, ","),
		"start_keywords", strings.Join(r.StartKeywords, ","), "allow_start", allow,
		"confirmation", r.Confirmation, "start_confirmation", r.StartConfirmation).Err(); err != nil {
		return nil, fmt.Errorf("set stop rule of %s: %w", accountID, err)
	}
	return &r, nil
}
