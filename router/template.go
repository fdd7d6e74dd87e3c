package router

// Sending with a template. A mail or API request that
// names a template (Mail.Template) is sent as that template, filled for
// each recipient from the sending account's contact with that number:
//
//	{{first_name}} {{last_name}} {{email}}  the contact's fields
//	{{name}}                                first and last name
//	{{number}}                              the recipient, +E.164 (no contact needed)
//	{{body}}                                the mail body (or the API's text), trimmed
//	{{<field>}}                             a custom field of the contact
//	{{first_name|there}}                    a default for an empty or unknown value
//
// The subject is not used (not even with subject_mode prepend). A number
// with no contact gets the defaults. The template is the account's own,
// else its parent's (redisstore.Store.Template); an unknown one refuses the
// whole mail with ErrNoTemplate. Texts then differ per recipient, and so do
// their coding, parts and price; the account's part limit applies to each.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/smpp"
)

// TemplateStore is what the pipeline needs to send with templates
// (*redisstore.Store).
type TemplateStore interface {
	// Template returns the template name (case-insensitive) that the
	// account uses: its own, else its parent's; accounts.ErrNotFound if none.
	Template(ctx context.Context, accountID, name string) (*accounts.Template, error)
	// ContactByNumber returns the account's contact with that number;
	// accounts.ErrNotFound if none.
	ContactByNumber(ctx context.Context, accountID, number string) (*accounts.Contact, error)
}

// ErrNoTemplate: the mail names a template the account does not have (nor
// its parent), or templates are off on this gateway. The error is a
// *TemplateError that names it.
var ErrNoTemplate = errors.New("no such template")

// TemplateError is a mail naming a template that cannot be used. It matches
// ErrNoTemplate with errors.Is; its text is meant for the person sending.
type TemplateError struct {
	Name string
	Off  bool // templates are not enabled on this gateway
}

func (e *TemplateError) Error() string {
	if e.Off {
		return fmt.Sprintf("template %q cannot be used: templates are not enabled on this gateway", e.Name)
	}
	return fmt.Sprintf("no template named %q in this account or its parent account", e.Name)
}

// Is makes errors.Is(err, ErrNoTemplate) true.
func (e *TemplateError) Is(target error) bool { return target == ErrNoTemplate }

// SubjectTemplate returns the name of the template a mail subject selects,
// or "" when it selects none. Two forms, case-insensitive:
//
//	Subject: template: reminder          the whole subject
//	Subject: Re: [template:reminder] x   anywhere in the subject
func SubjectTemplate(subject string) string {
	s := strings.TrimSpace(subject)
	const word = "template:"
	if len(s) > len(word) && strings.EqualFold(s[:len(word)], word) {
		if name := strings.TrimSpace(s[len(word):]); name != "" {
			return name
		}
	}
	for i := 0; i+1+len(word) <= len(s); i++ {
		if s[i] != '[' || !strings.EqualFold(s[i+1:i+1+len(word)], word) {
			continue
		}
		start := i + 1 + len(word)
		end := strings.IndexByte(s[start:], ']')
		if end < 0 {
			return ""
		}
		if name := strings.TrimSpace(s[start : start+end]); name != "" {
			return name
		}
	}
	return ""
}

// composed is the text of one message and what it costs in parts.
type composed struct {
	text   string
	coding uint8
	parts  int
}

// compose returns one text per recipient of m, in order: the mail's text
// (ComposeText), the same for all, or with m.Template that template filled
// for each. Each is held to the account's part limit: over it the mail is
// refused (*TooLongError) or the text truncated, per the account's policy.
func (p *Pipeline) compose(ctx context.Context, m *Mail) ([]composed, error) {
	acct := m.Sender.Account
	limit := acct.MaxParts
	if limit <= 0 {
		limit = DefaultMaxParts
	}
	fit := func(text string) (composed, error) {
		coding, parts := smpp.CountParts(text)
		if parts > limit {
			if acct.LongMessage != accounts.LongTruncate {
				return composed{}, tooLong(&TooLongError{Parts: parts, Limit: limit})
			}
			text = smpp.Truncate(text, limit)
			coding, parts = smpp.CountParts(text)
		}
		return composed{text: text, coding: coding, parts: parts}, nil
	}
	out := make([]composed, len(m.Recipients))
	if m.Template == "" {
		text := ComposeText(acct.SubjectMode, m.Subject, m.Text)
		if text == "" {
			return nil, empty(ErrEmpty)
		}
		c, err := fit(text)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i] = c
		}
		return out, nil
	}

	if p.templates == nil {
		return nil, noTemplate(&TemplateError{Name: m.Template, Off: true})
	}
	tpl, err := p.templates.Template(ctx, acct.ID, m.Template)
	if errors.Is(err, accounts.ErrNotFound) {
		return nil, noTemplate(&TemplateError{Name: m.Template})
	}
	if err != nil {
		return nil, fmt.Errorf("template %q: %w", m.Template, err)
	}
	// Contacts are read only when the template has a placeholder that
	// needs one.
	needContact := slices.ContainsFunc(accounts.TemplatePlaceholders(tpl.Body), func(n string) bool {
		return n != "body" && n != "number"
	})
	body := strings.TrimSpace(m.Text)
	for i, to := range m.Recipients {
		var c *accounts.Contact
		if needContact {
			c, err = p.templates.ContactByNumber(ctx, acct.ID, to)
			switch {
			case errors.Is(err, accounts.ErrNotFound):
				c = nil
			case err != nil:
				return nil, fmt.Errorf("template %q: contact %s: %w", tpl.Name, accounts.MaskNumber(to), err)
			}
		}
		text := strings.TrimSpace(accounts.RenderTemplate(tpl.Body, templateValues(c, to, body)))
		if text == "" {
			return nil, empty(fmt.Errorf("template %q for %s: %w", tpl.Name, accounts.MaskNumber(to), ErrEmpty))
		}
		if out[i], err = fit(text); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// templateValues is the placeholder lookup for one recipient: to is the
// number, body the mail's text, c the contact (nil: none).
func templateValues(c *accounts.Contact, to, body string) func(string) string {
	return func(name string) string {
		switch name {
		case "body":
			return body
		case "number":
			return "+" + to
		}
		if c == nil {
			return ""
		}
		switch name {
		case "first_name":
			return c.FirstName
		case "last_name":
			return c.LastName
		case "name":
			return strings.TrimSpace(c.FirstName + " " + c.LastName)
		case "email":
			return c.Email
		}
		if v, ok := c.Fields[name]; ok {
			return v
		}
		// Field keys are stored lower-case; match others case- and
		// space-insensitively, in a fixed order.
		keys := make([]string, 0, len(c.Fields))
		for k := range c.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if strings.ToLower(strings.Join(strings.Fields(k), " ")) == name {
				return c.Fields[k]
			}
		}
		return ""
	}
}
