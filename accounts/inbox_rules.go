package accounts

import (
	_ "embed"
	"fmt"
	"net/mail"
	"strings"
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
