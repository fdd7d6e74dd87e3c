// Package router is the message pipeline: accept (price, debit, enqueue),
// dispatch (route, rate, retry), delivery receipts and inbound replies.
package router

import (
	"errors"
	"strconv"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/smtp/exterr"
)

// Mail is one accepted email, ready to become one SMS per recipient.
type Mail struct {
	Sender     *accounts.Sender
	Recipients []string // E.164 digits without '+', already validated
	MailID     string   // the email's Message-ID, for idempotency and threading
	Subject    string
	Text       string // plain text body, signatures already stripped
	// Source is the source address to send from; empty: the account's
	// sender id, else the gateway's default. Whoever sets it has checked the
	// account may use it (auto-replies answer from the number texted).
	Source string
	// SkipOptOut sends even to a number on the opt-out list: only the Stop
	// rule's confirmation to the number that has just opted out (stop.go)
	// sets it. Every other mail's opted-out recipients are blocked
	// (accounts.ErrOptedOut when all are; else Notifier.BlockedNotice).
	SkipOptOut bool
	// Template names a template to send instead of the text (template.go):
	// the subject is then not used, and Text fills {{body}}. Set from the
	// subject of a mail (SubjectTemplate) or the API's "template".
	Template string
	// IdempotencyKey, when set, names the request for the duplicate check
	// instead of the Message-ID and content (the API's Idempotency-Key:
	// a repeated request returns the first one's ids, whatever its body).
	IdempotencyKey string
}

// Errors returned by Accept, tested with errors.Is. Balance and account
// state errors come from package accounts (ErrInsufficientBalance,
// ErrDeactivated).
var (
	ErrTooLong = errors.New("message is too long")
	ErrEmpty   = errors.New("message has no text")
	ErrNoRoute = errors.New("no route to destination")
	// ErrPoolExhausted: every shared pool number has an open conversation
	// with the recipient for another account or sender (pool.go).
	ErrPoolExhausted = errors.New("no shared source number is free for this recipient")
	// ErrNotPermitted: the sending account lacks a permission flag; the
	// error is a *PermissionError that names it.
	ErrNotPermitted = errors.New("not permitted")
	// ErrSenderNotAllowed: the mail asks to send from a number or sender id
	// that is not one of the account's (sender.go); the error is a
	// *SenderError, which also matches ErrNotPermitted.
	ErrSenderNotAllowed = errors.New("sender id is not allowed for this account")
)

// TooLongError says how many parts a text needs and the account's limit. It
// matches ErrTooLong with errors.Is.
type TooLongError struct{ Parts, Limit int }

func (e *TooLongError) Error() string {
	return "message text needs " + itoa(e.Parts) + " SMS parts, the account allows " + itoa(e.Limit)
}

// Is makes errors.Is(err, ErrTooLong) true.
func (e *TooLongError) Is(target error) bool { return target == ErrTooLong }

func itoa(n int) string { return strconv.Itoa(n) }

// tooLong is the refusal of a text over the account's part limit.
func tooLong(e *TooLongError) error { return exterr.Permanent(554, [3]int{5, 3, 4}, "too_long", e) }

// Empty is the refusal of a mail with no text to send.
func empty(cause error) error {
	return exterr.New(554, [3]int{5, 6, 0}, "empty", ErrEmpty.Error(), cause)
}

// noTemplate is the refusal of a mail naming a template that cannot be
// used: the content cannot be built, permanently (RFC 3463 5.6.0).
func noTemplate(e *TemplateError) error {
	return exterr.Permanent(554, [3]int{5, 6, 0}, "no_template", e)
}
