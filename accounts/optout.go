package accounts

import (
	"errors"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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
		masked[i] = MaskNumber(n)
	}
	return "all recipients have opted out: " + strings.Join(masked, ", ")
}

// Is makes errors.Is(err, ErrOptedOut) true.
func (e *OptedOutError) Is(target error) bool { return target == ErrOptedOut }

// maskNumber hides all but the last four digits of a number.
func MaskNumber(n string) string {
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
		return nil, AcctInvalid("%s: %d keywords, at most %d", field, len(ks), stopMaxKeywords)
	}
	out := make([]string, 0, len(ks))
	for i, k := range ks {
		n := stopNorm(k)
		switch {
		case n == "":
			return nil, AcctInvalid("%s[%d]: %q is empty", field, i, k)
		case utf8.RuneCountInString(n) > stopMaxKeywordLen:
			return nil, AcctInvalid("%s[%d]: %q is longer than %d characters", field, i, k, stopMaxKeywordLen)
		case strings.Contains(n, ","):
			return nil, AcctInvalid("%s[%d]: %q contains a comma", field, i, k)
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
		return r, AcctInvalid("keywords: at least one stop keyword is required")
	}
	if r.StartKeywords, err = normKeywords("start_keywords", r.StartKeywords); err != nil {
		return r, err
	}
	for _, k := range r.StartKeywords {
		if slices.Contains(r.Keywords, k) {
			return r, AcctInvalid("start_keywords: %q is also a stop keyword", k)
		}
	}
	r.Confirmation = strings.TrimSpace(r.Confirmation)
	r.StartConfirmation = strings.TrimSpace(r.StartConfirmation)
	if n := utf8.RuneCountInString(r.Confirmation); n > stopMaxConfirmLen {
		return r, AcctInvalid("confirmation: %d characters, at most %d", n, stopMaxConfirmLen)
	}
	if n := utf8.RuneCountInString(r.StartConfirmation); n > stopMaxConfirmLen {
		return r, AcctInvalid("start_confirmation: %d characters, at most %d", n, stopMaxConfirmLen)
	}
	return r, nil
}
