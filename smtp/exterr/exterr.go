// Package exterr gives refusals their SMTP reply as typed fields, so that
// the listener's one error-to-reply mapping reads them with errors.As instead
// of guessing from error text (maddy's exterrors is the model).
//
// An *Error carries the reply code (RFC 5321 §4.2), the enhanced status code
// (RFC 3463), a bounded reason for metrics, and a message meant for the
// person sending. It wraps its cause, so errors.Is and errors.As still find
// the sentinels and types of the package that owns the condition, and the
// HTTP API maps the same errors without knowing SMTP.
package exterr

import (
	"errors"
	"fmt"
)

// Error is a refusal with its SMTP reply.
type Error struct {
	// Code is the reply code: 4xx (temporary) or 5xx (permanent).
	Code int
	// Enhanced is the enhanced status code; its class agrees with Code
	// (4.x.x with 4xx, 5.x.x with 5xx): New enforces it.
	Enhanced [3]int
	// Reason is a bounded label for metrics, e.g. "invalid_number".
	Reason string
	// Message is the reply text, written for the person sending; it never
	// carries internal detail.
	Message string
	// Err is the cause, for errors.Is/As and the logs.
	Err error
}

// New returns an *Error. The enhanced code's class is forced to agree with
// code, so a temporary reply never carries a permanent enhanced code.
func New(code int, enhanced [3]int, reason, message string, cause error) *Error {
	enhanced[0] = code / 100
	return &Error{Code: code, Enhanced: enhanced, Reason: reason, Message: message, Err: cause}
}

// Permanent returns a 5xx refusal whose message is the cause's text: for
// causes whose text is written for users (a missing permission, a number
// that is not valid).
func Permanent(code int, enhanced [3]int, reason string, cause error) *Error {
	if code < 500 || code > 599 {
		code = 550
	}
	return New(code, enhanced, reason, cause.Error(), cause)
}

// Temporary reports whether the refusal is temporary (4xx): the client may
// try again later.
func (e *Error) Temporary() bool { return e.Code >= 400 && e.Code < 500 }

// Error implements error: the reply followed by the cause.
func (e *Error) Error() string {
	s := fmt.Sprintf("%d %d.%d.%d %s", e.Code, e.Enhanced[0], e.Enhanced[1], e.Enhanced[2], e.Message)
	if e.Err != nil && e.Err.Error() != e.Message {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
