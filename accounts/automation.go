package accounts

import (
	"errors"
	"strings"
	"time"
	"unicode"
)

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
	MaxAutoKeyword = 20
	MaxAutoName    = 80
	MaxAutoText    = 480
	MaxAutoForward = 10
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
