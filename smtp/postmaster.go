package smtp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/smsgate/smsgate/accounts"
)

// RFC 5321 §4.5.1: a server MUST accept mail for "postmaster" (in any case)
// at each of its domains, and "<Postmaster>" without a domain (go-smtp's
// parser refuses that form with 501 before the session sees it; the
// session would accept it). Mail for it
// is not SMS: it is forwarded unchanged to the operator address
// (Options.Postmaster), never priced or charged, and the sender needs no
// registration. When no operator address is configured it is still
// accepted, and logged.
//
// So that an unregistered sender can reach the postmaster, a MAIL FROM that
// the sender policy refuses (unknown sender, deactivated account, a key of
// another account) is accepted provisionally: the refusal is kept and given,
// with its usual code and text, to every RCPT other than postmaster
// (deferMailRefusal, refuseDeferred).

// deferrable reports whether a MAIL FROM refusal is about who the sender is,
// and so is deferred to RCPT. Protocol and server conditions (TLS required,
// shutting down, a failed AUTH, internal errors) still refuse MAIL.
func deferrable(err error) bool {
	return errors.Is(err, accounts.ErrUnknownSender) || errors.Is(err, accounts.ErrDeactivated) ||
		errors.Is(err, errKeyMismatch) || errors.Is(err, errNotAuthorised)
}

// deferMailRefusal keeps err for the RCPT commands of this transaction and
// accepts MAIL FROM provisionally. It returns the refusal itself when err is
// not deferrable.
func (s *session) deferMailRefusal(start time.Time, err error) error {
	if !deferrable(err) {
		return s.refuse("mail", start, err)
	}
	s.refusal = err
	s.log.Info("mail from accepted provisionally: only postmaster may be a recipient", "reason", toSMTPError(err, replyContext{}).reason)
	return nil
}

// refuseDeferred gives a recipient the MAIL FROM refusal kept by
// deferMailRefusal. It is counted as the MAIL refusal it is, once per
// transaction.
func (s *session) refuseDeferred(start time.Time) error {
	if !s.refusalCounted {
		s.refusalCounted = true
		return s.refuse("mail", start, s.refusal)
	}
	return toSMTPError(s.refusal, replyContext{session: s.id, sender: s.from}).err
}

// isPostmaster reports whether to is postmaster@<sms-domain> or the bare
// <postmaster>, case-insensitively.
func (s *session) isPostmaster(to string) bool {
	local, domain, found := strings.Cut(to, "@")
	if !strings.EqualFold(local, "postmaster") {
		return false
	}
	return !found || s.b.domains[strings.ToLower(strings.TrimSuffix(domain, "."))]
}

// rcptPostmaster accepts the postmaster as a recipient of the transaction.
func (s *session) rcptPostmaster(start time.Time) error {
	if s.sender == nil && s.refusal == nil {
		return s.refuse("rcpt", start, badRecipient("MAIL FROM first"))
	}
	s.postmaster = true
	s.b.metrics.recipientAccepted(1)
	s.b.metrics.command("rcpt", 250, time.Since(start).Seconds())
	return nil
}

// dataPostmaster reads the message, forwards it to the operator and, when
// the transaction also has SMS recipients, sends it to them as usual.
func (s *session) dataPostmaster(r io.Reader) error {
	start := time.Now()
	raw, err := io.ReadAll(r)
	if err != nil {
		return s.refuse("data", start, fmt.Errorf("read message: %w", err))
	}
	if fwd := s.b.opts.Postmaster; fwd == nil {
		s.log.Warn("mail for postmaster accepted but not forwarded: smtp.postmaster is not configured", "bytes", len(raw))
	} else {
		ctx := s.commandCtx()
		if err := fwd(ctx, s.from, raw); err != nil {
			s.log.Error("mail for postmaster not forwarded", "err", err)
			return s.refuse("data", start, errPostmasterUnavailable)
		}
		s.log.Info("mail for postmaster forwarded", "bytes", len(raw))
	}
	s.postmaster = false
	if s.txn != nil && (len(s.txn.Recipients()) > 0 || len(s.pending) > 0) {
		return s.Data(bytes.NewReader(raw))
	}
	s.b.metrics.command("data", 250, time.Since(start).Seconds())
	s.b.metrics.message(250, "postmaster")
	return &gosmtp.SMTPError{
		Code:         250,
		EnhancedCode: gosmtp.EnhancedCode{2, 0, 0},
		Message:      "queued for the postmaster (session " + s.id + ")",
	}
}
