package accounts

import (
	"errors"
	"fmt"
	"net/mail"
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

// MaskNumber hides all but the last four digits of a number.
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

// Default confirmation texts. The default Stop confirmation promises START
// only where START is honoured (AllowStart): see StopConfirmationText.
const (
	DefaultStopConfirmation          = "You have been unsubscribed and will receive no more messages from us."
	DefaultStopConfirmationWithStart = "You have been unsubscribed. Reply START to resubscribe."
	DefaultStartConfirmation         = "You have been resubscribed. Reply STOP to unsubscribe."
)

// StopConfirmationText is the text confirming an opt-out under r: its own
// text, except that the default one mentions START only when r honours it.
func (r *StopRule) StopConfirmationText() string {
	if r.AllowStart && r.Confirmation == DefaultStopConfirmation {
		return DefaultStopConfirmationWithStart
	}
	return r.Confirmation
}

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
		return nil, Invalidf("%s: %d keywords, at most %d", field, len(ks), stopMaxKeywords)
	}
	out := make([]string, 0, len(ks))
	for i, k := range ks {
		n := stopNorm(k)
		switch {
		case n == "":
			return nil, Invalidf("%s[%d]: %q is empty", field, i, k)
		case utf8.RuneCountInString(n) > stopMaxKeywordLen:
			return nil, Invalidf("%s[%d]: %q is longer than %d characters", field, i, k, stopMaxKeywordLen)
		case strings.Contains(n, ","):
			return nil, Invalidf("%s[%d]: %q contains a comma", field, i, k)
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
		return r, Invalidf("keywords: at least one stop keyword is required")
	}
	if r.StartKeywords, err = normKeywords("start_keywords", r.StartKeywords); err != nil {
		return r, err
	}
	for _, k := range r.StartKeywords {
		if slices.Contains(r.Keywords, k) {
			return r, Invalidf("start_keywords: %q is also a stop keyword", k)
		}
	}
	r.Confirmation = strings.TrimSpace(r.Confirmation)
	r.StartConfirmation = strings.TrimSpace(r.StartConfirmation)
	if n := utf8.RuneCountInString(r.Confirmation); n > stopMaxConfirmLen {
		return r, Invalidf("confirmation: %d characters, at most %d", n, stopMaxConfirmLen)
	}
	if n := utf8.RuneCountInString(r.StartConfirmation); n > stopMaxConfirmLen {
		return r, Invalidf("start_confirmation: %d characters, at most %d", n, stopMaxConfirmLen)
	}
	return r, nil
}

// ErrTemplateNameTaken: another template of the account has the name.
var ErrTemplateNameTaken = errors.New("template name is taken")

// Template is a message text with placeholders (template_text.go).
type Template struct {
	ID        string    `json:"id"`
	AccountID string    `json:"account_id"`
	Name      string    `json:"name"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TemplateListing is one entry of ListTemplates: a template with where it
// comes from.
type TemplateListing struct {
	Template
	// Inherited: the template is the parent account's, shared read-only.
	Inherited bool `json:"inherited"`
	// Shadowed: an inherited template hidden by the account's own
	// template of the same name; it is listed, never used.
	Shadowed bool `json:"shadowed,omitempty"`
}

// TemplateUpdate changes a template; nil fields stay as they are.
type TemplateUpdate struct {
	Name *string
	Body *string
}

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
	// MaxAutomations is the default quota of rules an account may have
	// (Quotas.Automations).
	MaxAutomations = 20
	// AutoAnyKeyword matches every reply.
	AutoAnyKeyword = "*"
	// MaxAutoKeyword, maxAutoName and maxAutoText are in characters;
	// MaxAutoForward is the number of forward_to entries.
	MaxAutoKeyword = 20
	MaxAutoName    = 80
	MaxAutoText    = 480
	MaxAutoForward = 10
)

// ErrAutomationLimit: the account already has its quota of rules (a
// *QuotaError).
var ErrAutomationLimit = ErrQuota

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

// AutomationClaim asks to act once under a rule: ClaimAutomation grants it
// within the loop limits.
type AutomationClaim struct {
	AccountID, RuleID string
	// Phone is the number the action answers; with Window > 0 the rule acts
	// at most once per Phone per Window.
	Phone  string
	Window time.Duration
	// HourlyCap bounds the automatic actions of the account per clock hour
	// (all its rules together); 0: no cap.
	HourlyCap int
}

// Reasons ClaimAutomation refuses.
const (
	AutoLimitWindow = "window"
	AutoLimitHourly = "hourly_cap"
)

// MaxForwardTo bounds ReplyRules.ForwardTo: every reply is mailed once per
// address.
const MaxForwardTo = 10

// ReplyRules are an account's reply routing rules.
type ReplyRules struct {
	// MailSender mails each reply to the sender of the original message
	// (when that sender is a mailbox, not an API key).
	MailSender bool `json:"mail_sender"`
	// ForwardTo are addresses each reply is also mailed to, threaded like
	// the mail to the sender.
	ForwardTo []string `json:"forward_to"`
	// Webhook fires the account's reply.received webhook event.
	Webhook bool `json:"webhook"`
}

// DefaultReplyRules are the rules of an account that has stored none: mail
// the sender and fire the webhook, as smsgate always did.
func DefaultReplyRules() ReplyRules {
	return ReplyRules{MailSender: true, ForwardTo: []string{}, Webhook: true}
}

// IsDefault reports whether r behaves as DefaultReplyRules.
func (r ReplyRules) IsDefault() bool {
	return r.MailSender && r.Webhook && len(r.ForwardTo) == 0
}

// ReplyRulesChange changes an account's rules; a nil field is left as it
// is.
type ReplyRulesChange struct {
	MailSender *bool
	ForwardTo  *[]string
	Webhook    *bool
}

// NormForwardTo validates forward addresses: each a bare address
// (local@domain, no display name), at most MaxForwardTo; domains are
// lower-cased and repeats dropped. Errors are ErrInvalid naming the entry,
// e.g. `forward_to[1]: "ops" is not an email address`.
func NormForwardTo(addrs []string) ([]string, error) {
	if len(addrs) > MaxForwardTo {
		return nil, fmt.Errorf("%w: forward_to: %d addresses, at most %d", ErrInvalid, len(addrs), MaxForwardTo)
	}
	out := make([]string, 0, len(addrs))
	seen := map[string]bool{}
	for i, raw := range addrs {
		a := strings.TrimSpace(raw)
		p, err := mail.ParseAddress(a)
		if err != nil || p.Name != "" || p.Address != a || strings.ContainsAny(a, " \t\r\n<>,;") {
			return nil, fmt.Errorf("%w: forward_to[%d]: %q is not an email address (local@domain)", ErrInvalid, i, raw)
		}
		at := strings.LastIndexByte(a, '@')
		if at <= 0 || !strings.Contains(a[at+1:], ".") {
			return nil, fmt.Errorf("%w: forward_to[%d]: %q has no domain name after @", ErrInvalid, i, raw)
		}
		a = a[:at+1] + strings.ToLower(a[at+1:])
		if k := strings.ToLower(a); !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	return out, nil
}
