package router

import (
	"context"
	"fmt"
	"strings"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/phone"
	"github.com/smsgate/smsgate/smtp/exterr"
)

// Picking a sender identity from email. An account may send from its
// dedicated numbers and approved alphanumeric sender ids (accounts.Senders;
// members see them with the sender_view flag); without a choice a mail goes from the account's
// default (Account.SenderID), else the gateway's. A mail chooses in one of
// two forms:
//
//   - Subject tag "[from:<id>]" (case-insensitive, spaces allowed, first one
//     anywhere in the subject, like "[template:<name>]"): "[from:ACME]
//     Meeting moved" and "Re: [from:ACME] Meeting moved" send from ACME; "[from:+61480000123]" or
//     "[from:0480 000 123]" (national form in the account's default country)
//     from that number. The tag is removed from the subject, so it never
//     reaches the SMS text. An id that is not one of the account's is
//     refused: 550 5.7.1 "sender id EVIL is not allowed for this account".
//   - Plus-address "alice+ACME@example.com" (RFC 5233 sub-address of a
//     registered address or domain; ResolveSender finds alice's account). A
//     tag that names one of the account's identities selects it and the
//     message is recorded as alice@example.com's; any other tag is an
//     ordinary sub-address and selects nothing, so that people who filter
//     their mail with plus-addresses keep sending as before.
//
// The subject form wins when a mail uses both. A mail whose Source is
// already set (auto-replies, which answer from the number texted) is left
// as it is.

// SenderStore is what the pipeline reads to check a choice: the account's
// identities (*redisstore.Store).
type SenderStore interface {
	Senders(ctx context.Context, accountID string) (*accounts.Senders, error)
}

// Forms of choosing a sender identity.
const (
	ChoiceSubject = "subject" // "[from:<id>]" at the start of the subject
	ChoiceAddress = "address" // "<local>+<id>@<domain>" as MAIL FROM
)

// SenderChoice is the sender identity a mail asks for.
type SenderChoice struct {
	ID      string // as written; "" when the mail asks for none
	Form    string // ChoiceSubject, ChoiceAddress, or "" with no ID
	Subject string // the subject without the "[from:...]" tag
	Address string // the sender address, without its +tag for ChoiceAddress
}

// subjectPrefix opens the subject form (lower case: matched without regard
// to case).
const subjectPrefix = "[from:"

// ChooseSender reads the sender identity a mail asks for from its subject
// and sender address. It only parses: whether the account may use the id is
// decided by AllowedSource.
func ChooseSender(subject, address string) SenderChoice {
	c := SenderChoice{Subject: subject, Address: address}
	if start := indexFoldASCII(subject, subjectPrefix); start >= 0 {
		inner := subject[start+len(subjectPrefix):]
		if end := strings.IndexByte(inner, ']'); end >= 0 {
			c.Subject = strings.TrimSpace(strings.Join(strings.Fields(subject[:start]+" "+inner[end+1:]), " "))
			if c.ID = strings.TrimSpace(inner[:end]); c.ID != "" {
				c.Form = ChoiceSubject
				return c
			}
		}
	}
	if base, tag := accounts.SplitPlus(address); tag != "" {
		c.ID, c.Form, c.Address = tag, ChoiceAddress, base
	}
	return c
}

// indexFoldASCII is strings.Index with ASCII letters compared without
// regard to case; sub is lower case. Byte offsets stay those of s (unlike
// searching strings.ToLower(s), whose length can differ).
func indexFoldASCII(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// AllowedSource returns the source address id stands for if it is one of
// ids' identities: a number in any form phone.Normalize reads (national
// ones in country) as its E.164 digits, an alphanumeric id as approved.
func AllowedSource(ids *accounts.Senders, id, country string) (string, bool) {
	id = strings.TrimSpace(id)
	if numeric(id) {
		if n, err := phone.Normalize(id, country); err == nil {
			id = n
		}
	}
	return ids.Allows(id)
}

// numeric reports whether id is written as a phone number: digits and the
// punctuation numbers are written with, at least one digit.
func numeric(id string) bool {
	digit := false
	for _, c := range id {
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case strings.ContainsRune("+ -.()", c):
		default:
			return false
		}
	}
	return digit
}

// SenderError is a mail that asks for a sender identity the account may not
// use. It matches ErrSenderNotAllowed and ErrNotPermitted with errors.Is;
// its text is meant for the person sending.
type SenderError struct{ ID string }

func (e *SenderError) Error() string {
	return "sender id " + printable(e.ID) + " is not allowed for this account"
}

// Is makes errors.Is(err, ErrSenderNotAllowed) and errors.Is(err,
// ErrNotPermitted) true.
func (e *SenderError) Is(target error) bool {
	return target == ErrSenderNotAllowed || target == ErrNotPermitted
}

// printable bounds what a mail wrote before it is echoed in an SMTP reply:
// printable ASCII only (no CR/LF), at most 20 characters.
func printable(s string) string {
	var b strings.Builder
	for i, c := range s {
		if i >= 20 {
			b.WriteString("...")
			break
		}
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		b.WriteRune(c)
	}
	return b.String()
}

// pickSender applies the mail's sender choice: it returns m itself when
// there is nothing to change, else a copy with Source set to the chosen
// identity, the subject tag removed and, for the address form, the
// sender address without its tag. A subject choice the account may not use
// is a *SenderError.
func (p *Pipeline) pickSender(ctx context.Context, m *Mail) (*Mail, error) {
	if m.Source != "" || m.Sender == nil || m.Sender.Account == nil {
		return m, nil
	}
	c := ChooseSender(m.Subject, m.Sender.Address)
	out := *m
	out.Subject = c.Subject
	if c.Form == "" {
		return &out, nil
	}
	acct := m.Sender.Account
	var ids *accounts.Senders
	if p.senders != nil {
		var err error
		if ids, err = p.senders.Senders(ctx, acct.ID); err != nil {
			return nil, fmt.Errorf("sender identities of %s: %w", acct.ID, err)
		}
	}
	source, ok := AllowedSource(ids, c.ID, acct.DefaultCountry)
	switch {
	case ok:
	case c.Form == ChoiceAddress: // an ordinary sub-address: no choice
		return &out, nil
	default:
		return nil, exterr.Permanent(550, [3]int{5, 7, 1}, "not_permitted", &SenderError{ID: c.ID})
	}
	out.Source = source
	if c.Form == ChoiceAddress {
		sd := *m.Sender
		sd.Address = c.Address
		out.Sender = &sd
	}
	return &out, nil
}
