package smtp

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/phone"
	"github.com/smsgate/smsgate/smtp/exterr"
)

// Conditions the session itself detects. They go through toSMTPError like
// everything else, so that each refusal has exactly one reply.
var (
	errShuttingDown          = errors.New("shutting down")
	errTLSRequired           = errors.New("tls required")
	errKeyMismatch           = errors.New("api key belongs to another account")
	errTooManyRcpts          = errors.New("too many recipients")
	errBadRecipient          = errors.New("bad recipient address")
	errBadMessage            = errors.New("message cannot be parsed")
	errAuthAvailable         = errors.New("authentication not available")
	errNestedMail            = errors.New("nested MAIL command")
	errPostmasterUnavailable = errors.New("postmaster forwarding unavailable")
	// errAuthFailedBefore: MAIL FROM without credentials after a failed
	// AUTH in the same session.
	errAuthFailedBefore = errors.New("authentication failed earlier in this session")
)

// notSMSDomain is the refusal of a recipient whose domain is not one of
// ours.
func notSMSDomain(domain string) error {
	return exterr.New(550, [3]int{5, 1, 2}, "not_sms_domain", domain+" is not an SMS domain of this gateway", nil)
}

// badRecipient is the refusal of a recipient address that is not
// <number>@<sms-domain>; why is shown to the client.
func badRecipient(why string) error {
	return exterr.New(550, [3]int{5, 1, 3}, "bad_address", errBadRecipient.Error()+": "+why, errBadRecipient)
}

// replyContext is what a reply text may mention besides the error itself.
type replyContext struct {
	session string // session id, echoed so that users can quote it
	sender  string // MAIL FROM address
	maxRcpt int
	// maxBytes is the configured message size limit (Options.MaxMessageBytes),
	// quoted in the 552 refusal; 0 means none.
	maxBytes int64
	// hidePricing: the sending account is a sub-account with hide_pricing
	// in force, so a refusal does not quote its balance.
	hidePricing bool
}

// maxLineBytes is the longest line go-smtp's reader accepts
// (Server.MaxLineLength, set in NewServer). Its count runs from one line's
// LF to the next line's CR inclusive, so a line of maxLineBytes-2 characters
// plus CRLF is the longest that passes.
const maxLineBytes = 2000

// reply is one outcome of toSMTPError: the SMTP reply and a bounded metrics
// reason. internal is set when the error must be logged because the client
// only gets a reference.
type reply struct {
	err      *gosmtp.SMTPError
	reason   string
	internal bool
}

// Metric reasons, also pre-created at zero in NewMetrics.
var (
	permanentReasons = []string{
		"unknown_sender", "deactivated", "insufficient_balance", "too_long", "empty",
		"no_route", "invalid_number", "not_sms_domain", "bad_address", "tls_required",
		"key_mismatch", "auth_failed", "bad_message", "too_large", "protocol", "not_permitted",
		"opted_out", "unknown_group", "empty_group", "group_too_large", "no_template",
		"not_found", "invalid", "auth_required", "limit_per_minute", "limit_parts_per_day", "limit_spend_per_day",
		"domain_pending", "policy_network", "policy_spf_fail", "policy_spf_none", "policy_spf_permerror", "policy_dkim",
	}
	temporaryReasons = []string{
		"timeout", "not_replicated", "storage_full", "shutting_down", "too_many_recipients", "internal", "protocol", "limit_per_minute",
		"policy_spf_temperror", "policy_dkim_temperror", "auth_throttled",
	}
)

func smtpErr(code int, enh gosmtp.EnhancedCode, msg string) *gosmtp.SMTPError {
	return &gosmtp.SMTPError{Code: code, EnhancedCode: enh, Message: msg}
}

// toSMTPError is the one mapping from errors to SMTP replies (RFC 5321 §4.2,
// enhanced codes from RFC 3463). Temporary (4xx) replies carry 4.x.x enhanced
// codes and permanent (5xx) replies 5.x.x. The returned *SMTPError must be
// handed to go-smtp unwrapped: it uses a type assertion, not errors.As.
// Error text is sent only for the conditions whose text is meant for users;
// anything unrecognised becomes "internal error (ref <session>)".
func toSMTPError(err error, rc replyContext) reply {
	var (
		protoErr *gosmtp.SMTPError
		balance  *accounts.BalanceError
		optedOut *accounts.OptedOutError
		limit    *accounts.LimitError
	)
	if xe, ok := exterr.As(err); ok {
		// Refusals typed where the condition is known: the router's
		// pipeline and transaction, groups, the session's own checks.
		return reply{smtpErr(xe.Code, gosmtp.EnhancedCode(xe.Enhanced), xe.Message), xe.Reason, false}
	}
	switch {
	// The session's own conditions, whose text needs the session context.
	case errors.Is(err, errShuttingDown):
		return reply{smtpErr(421, gosmtp.EnhancedCode{4, 3, 2}, "shutting down, try again later"), "shutting_down", false}
	case errors.Is(err, errTLSRequired):
		return reply{smtpErr(530, gosmtp.EnhancedCode{5, 7, 0}, "must issue a STARTTLS command first"), "tls_required", false}
	case errors.Is(err, errKeyMismatch):
		return reply{smtpErr(550, gosmtp.EnhancedCode{5, 7, 1}, "the authenticated credential does not belong to the account of "+rc.sender+" and may not send for it"), "key_mismatch", false}
	case errors.Is(err, errTooManyRcpts):
		return reply{smtpErr(452, gosmtp.EnhancedCode{4, 5, 3}, fmt.Sprintf("too many recipients (max %d)", rc.maxRcpt)), "too_many_recipients", false}
	case errors.Is(err, gosmtp.ErrTooLongLine):
		// RFC 5322 §2.1.1 allows 998 characters; this gateway is lenient up
		// to what its reader enforces, and quotes that.
		return reply{smtpErr(554, gosmtp.EnhancedCode{5, 6, 0}, fmt.Sprintf("message has a line longer than %d characters (the limit here; RFC 5322 allows 998): wrap long lines or use quoted-printable", maxLineBytes-2)), "bad_message", false}
	case errors.Is(err, gosmtp.ErrDataTooLarge) && rc.maxBytes > 0:
		// go-smtp's own text ("Maximum message size exceeded") gives no figure.
		return reply{smtpErr(552, gosmtp.EnhancedCode{5, 3, 4}, fmt.Sprintf("message exceeds the size limit of %d bytes", rc.maxBytes)), "too_large", false}
	case errors.Is(err, errBadMessage):
		return reply{smtpErr(554, gosmtp.EnhancedCode{5, 6, 0}, "message cannot be parsed as MIME"), "bad_message", false}
	case errors.Is(err, errAuthFailedBefore):
		// RFC 4954 §6: 530 5.7.0 authentication required.
		return reply{smtpErr(530, gosmtp.EnhancedCode{5, 7, 0}, "authentication failed earlier in this session: authenticate successfully before sending (session "+rc.session+")"), "auth_required", false}
	case errors.Is(err, errPostmasterUnavailable):
		return reply{smtpErr(451, gosmtp.EnhancedCode{4, 3, 0}, "the postmaster's mailbox is not available, try again later (session "+rc.session+")"), "postmaster_unavailable", false}
	case errors.Is(err, errNestedMail):
		return reply{smtpErr(503, gosmtp.EnhancedCode{5, 5, 1}, "nested MAIL command: a transaction is open, send RSET first"), "protocol", false}
	case errors.Is(err, errAuthAvailable):
		return reply{gosmtp.ErrAuthUnsupported, "protocol", false}

	// The account store's conditions (package accounts knows no SMTP).
	case errors.Is(err, accounts.ErrBadKey):
		return reply{smtpErr(535, gosmtp.EnhancedCode{5, 7, 8}, "authentication failed: invalid credentials (an API key as the password, or your email and password)"), "auth_failed", false}
	case errors.Is(err, accounts.ErrTooManyAttempts):
		// RFC 4954 §6: 454 4.7.0 temporary authentication failure.
		return reply{smtpErr(454, gosmtp.EnhancedCode{4, 7, 0}, "too many failed logins for this user; try again later"), "auth_throttled", false}
	case errors.Is(err, accounts.ErrDomainPending):
		domain := rc.sender[strings.LastIndexByte(rc.sender, '@')+1:]
		return reply{smtpErr(550, gosmtp.EnhancedCode{5, 7, 1}, "sender domain "+domain+" is registered but not verified yet: the account administrator publishes the TXT record shown by 'smsgate domain list' and runs 'smsgate domain verify', or asks the operator to approve it"), "domain_pending", false}
	case errors.Is(err, accounts.ErrUnknownSender):
		return reply{smtpErr(550, gosmtp.EnhancedCode{5, 7, 1}, "sender <"+rc.sender+"> is not registered for email to SMS"), "unknown_sender", false}
	case errors.Is(err, accounts.ErrDeactivated):
		return reply{smtpErr(550, gosmtp.EnhancedCode{5, 7, 1}, "account is deactivated"), "deactivated", false}
	case errors.As(err, &optedOut):
		// Every recipient has opted out: nothing was sent or charged. The
		// text names the numbers masked but for their last four digits.
		return reply{smtpErr(550, gosmtp.EnhancedCode{5, 7, 1}, optedOut.Error()), "opted_out", false}
	case errors.Is(err, accounts.ErrOptedOut):
		return reply{smtpErr(550, gosmtp.EnhancedCode{5, 7, 1}, "all recipients have opted out"), "opted_out", false}
	case errors.As(err, &limit):
		return limitReply(limit)
	case errors.As(err, &balance) && rc.hidePricing:
		return reply{smtpErr(554, gosmtp.EnhancedCode{5, 7, 0}, "insufficient balance: the account cannot pay for this message (ask its administrators)"), "insufficient_balance", false}
	case errors.As(err, &balance):
		return reply{smtpErr(554, gosmtp.EnhancedCode{5, 7, 0}, balance.Error()), "insufficient_balance", false}
	case errors.Is(err, accounts.ErrInsufficientBalance):
		return reply{smtpErr(554, gosmtp.EnhancedCode{5, 7, 0}, "insufficient balance"), "insufficient_balance", false}
	case errors.Is(err, accounts.ErrNotFound):
		// The account was deleted while the sender cache still had it, or
		// what the mail names is gone: permanent, never an endless 451.
		return reply{smtpErr(550, gosmtp.EnhancedCode{5, 7, 1}, "the sending account or what the mail refers to no longer exists (session "+rc.session+")"), "not_found", false}
	case errors.Is(err, accounts.ErrInvalid):
		return reply{smtpErr(554, gosmtp.EnhancedCode{5, 6, 0}, detail(err, accounts.ErrInvalid)), "invalid", false}
	case errors.Is(err, phone.ErrInvalid):
		return reply{smtpErr(550, gosmtp.EnhancedCode{5, 1, 3}, detail(err, phone.ErrInvalid)), "invalid_number", false}

	case errors.Is(err, accounts.ErrStorageFull):
		// RFC 3463 4.3.1: mail system full. The sender's MTA retries.
		return reply{smtpErr(452, gosmtp.EnhancedCode{4, 3, 1}, "insufficient system storage; try again later (session "+rc.session+")"), "storage_full", false}
	case errors.Is(err, accounts.ErrNotReplicated):
		return reply{smtpErr(451, gosmtp.EnhancedCode{4, 3, 0}, "not yet stored safely (too few Redis replicas answered); try again later (session "+rc.session+")"), "not_replicated", false}
	case errors.Is(err, context.DeadlineExceeded):
		return reply{smtpErr(451, gosmtp.EnhancedCode{4, 4, 5}, "timed out, try again later (session "+rc.session+")"), "timeout", false}
	case errors.Is(err, context.Canceled):
		return reply{smtpErr(421, gosmtp.EnhancedCode{4, 3, 2}, "shutting down, try again later"), "shutting_down", false}
	case errors.As(err, &protoErr):
		// go-smtp's own replies, e.g. ErrDataTooLarge from the DATA reader.
		return reply{protoErr, protoReason(protoErr), false}
	}
	return reply{smtpErr(451, gosmtp.EnhancedCode{4, 3, 0}, "internal error (ref "+rc.session+")"), "internal", true}
}

// limitReply answers a send refused by one of the account's limits
// (accounts/limits.go); nothing was charged. The per-minute rate is a
// deferral (451 4.7.1): the client's queue retries, and the text says when.
// The daily parts and spend caps are a refusal (550 5.7.1): a deferral
// would hold the mail until the next UTC day and then text it hours late;
// the bounce tells the sender now, naming the cap and when it resets.
// A mail larger than the limit itself (more recipients than the per-minute
// limit) is refused too: no retry would ever pass.
// The metrics reason names the limit.
func limitReply(le *accounts.LimitError) reply {
	if le.Limit == accounts.LimitPerMinute && !le.Never() {
		return reply{smtpErr(451, gosmtp.EnhancedCode{4, 7, 1}, le.Error()), "limit_per_minute", false}
	}
	return reply{smtpErr(550, gosmtp.EnhancedCode{5, 7, 1}, le.Error()), "limit_" + le.Limit, false}
}

func protoReason(e *gosmtp.SMTPError) string {
	if e.Code == 552 {
		return "too_large"
	}
	return "protocol"
}

// detail returns the most specific text in err's chain that still matches
// sentinel: "insufficient balance: need 20, have 10" rather than the bare
// sentinel, without the caller's "accept mail: debit:" wrapping, which
// says nothing to the person sending.
func detail(err, sentinel error) string {
	best := err
	for e := err; e != nil; e = errors.Unwrap(e) {
		if e == sentinel { //nolint:errorlint // identity: stop at the sentinel itself
			break
		}
		if errors.Is(e, sentinel) {
			best = e
		}
	}
	return strings.TrimSpace(best.Error())
}
