package smtp

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/phone"
	"github.com/smsgate/smsgate/router"
)

// maxLoggedRcptErrors caps per-session RCPT refusal logs, so that a client
// trying a thousand bad numbers cannot flood the log (maddy's
// max_logged_rcpt_errors).
const maxLoggedRcptErrors = 5

// session is one SMTP connection. go-smtp calls its methods from the
// connection's goroutine only (BDAT runs Data in a goroutine but no other
// command meanwhile), so it needs no lock.
type session struct {
	b      *Backend
	conn   *gosmtp.Conn
	id     string
	ctx    context.Context // derived from the backend's root; cancelled in Logout
	cancel context.CancelFunc
	log    *slog.Logger
	// commandCtx's context, its deadline and its cancel function.
	cmdCtx      context.Context
	cmdDeadline time.Time
	cmdCancel   context.CancelFunc

	identity *accounts.Identity // set by a successful AUTH; survives RSET
	// authFailed is set by a failed AUTH and cleared by a successful one:
	// a client that tried credentials and failed may not go on to send
	// unauthenticated in the same session.
	authFailed bool

	// body buffers the reading of each mail's DATA, through rr (one each
	// per session).
	body *bufio.Reader
	rr   *recordingReader

	ip netip.Addr // the client's address (invalid if unknown)

	// The current transaction, cleared by Reset.
	sender     *accounts.Sender
	from       string
	txn        Transaction
	rcptLogged int
	groupRcpts int // recipients a group brought (groups.go): not counted against MaxRecipients
	// postmaster.go: a sender refusal deferred from MAIL to RCPT, whether
	// it was counted, and whether the postmaster is a recipient.
	refusal        error
	refusalCounted bool
	postmaster     bool
	// policy.go: the SPF outcome at MAIL FROM, and whether only a DKIM
	// signature at DATA can still authorise the sender (then the
	// recipients wait in pending).
	spfResult   string
	spfErr      error
	dkimPending bool
	pending     []string
}

var (
	_ gosmtp.Session     = (*session)(nil)
	_ gosmtp.AuthSession = (*session)(nil)
)

func newSessionID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// commandCtx bounds a backend call by CommandTimeout. The session's next
// calls share the context while more than half the timeout is left (a
// mail's MAIL, RCPT and DATA come moments apart), so that a mail costs one
// timer rather than three: each call gets at least half the timeout and at
// most all of it. The context ends at its deadline, when a newer one
// replaces it, or with the session (nothing for the caller to cancel).
func (s *session) commandCtx() context.Context {
	t := s.b.opts.CommandTimeout
	if t <= 0 {
		return s.ctx
	}
	now := time.Now()
	if s.cmdCtx == nil || s.cmdDeadline.Sub(now) <= t/2 {
		if s.cmdCancel != nil {
			s.cmdCancel()
		}
		s.cmdDeadline = now.Add(t)
		s.cmdCtx, s.cmdCancel = context.WithDeadline(s.ctx, s.cmdDeadline)
	}
	return s.cmdCtx
}

// refuse maps err to its reply, logs internal errors (their text is never
// sent) and records the command's outcome.
func (s *session) refuse(cmd string, start time.Time, err error) *gosmtp.SMTPError {
	rc := replyContext{session: s.id, sender: s.from, maxRcpt: s.b.opts.MaxRecipients, maxBytes: s.b.opts.MaxMessageBytes}
	if s.sender != nil {
		rc.hidePricing = s.sender.Account.HidesPricing()
	}
	r := toSMTPError(err, rc)
	switch {
	case r.internal:
		s.log.Error("command failed", "command", cmd, "err", err)
	case cmd == "rcpt":
		// The error may quote the number typed, so its text stays at debug.
		if s.rcptLogged < maxLoggedRcptErrors {
			s.rcptLogged++
			s.log.Info("recipient refused", "code", r.err.Code, "reason", r.reason)
		}
		s.log.Debug("recipient refused", "err", err)
	default:
		s.log.Info("command refused", "command", cmd, "code", r.err.Code, "reason", r.reason)
	}
	s.b.metrics.command(cmd, r.err.Code, time.Since(start).Seconds())
	if cmd != "rcpt" && cmd != "auth" {
		s.b.metrics.message(r.err.Code, r.reason)
	}
	return r.err
}

// Reset implements gosmtp.Session: it discards the transaction.
func (s *session) Reset() {
	if s.txn != nil {
		s.txn.Abort()
	}
	if s.sender != nil {
		s.b.endTxn()
	}
	s.sender, s.from, s.txn, s.rcptLogged = nil, "", nil, 0
	s.groupRcpts = 0
	s.refusal, s.refusalCounted, s.postmaster = nil, false, false
	s.spfResult, s.spfErr, s.dkimPending, s.pending = "", nil, false, nil
}

// Logout implements gosmtp.Session: it cancels whatever the session still
// Has in flight.
func (s *session) Logout() error {
	s.Reset()
	s.cancel()
	s.log.Debug("session ended")
	return nil
}

// Mail implements gosmtp.Session (MAIL FROM, RFC 5321 §3.3).
func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	start := time.Now()
	if s.sender != nil || s.refusal != nil {
		// RFC 5321 §4.1.4: MAIL inside an open transaction is a sequence
		// error; the client must end it (RSET, or DATA) first.
		return s.refuse("mail", start, errNestedMail)
	}
	s.Reset()
	s.from = strings.ToLower(from)
	if s.b.draining.Load() {
		return s.refuse("mail", start, errShuttingDown)
	}
	if _, isTLS := s.conn.TLSConnectionState(); s.b.opts.RequireTLS && !isTLS {
		return s.refuse("mail", start, errTLSRequired)
	}
	if s.authFailed && s.identity == nil {
		return s.refuse("mail", start, errAuthFailedBefore)
	}
	ctx := s.commandCtx()
	sender, err := s.b.opts.Resolver.ResolveSender(ctx, s.from)
	if err != nil {
		return s.deferMailRefusal(start, fmt.Errorf("resolve sender: %w", err))
	}
	if sender == nil || sender.Account == nil {
		return s.deferMailRefusal(start, fmt.Errorf("resolve sender: %w", accounts.ErrUnknownSender))
	}
	if sender.Account.Status == accounts.StatusDeactivated {
		return s.deferMailRefusal(start, accounts.ErrDeactivated)
	}
	how, err := s.authorise(ctx, sender) // policy.go
	if err != nil {
		return s.deferMailRefusal(start, err)
	}
	txn, err := s.b.opts.Pipeline.Start(ctx, sender)
	if err != nil {
		return s.refuse("mail", start, fmt.Errorf("start transaction: %w", err))
	}
	s.sender, s.txn = sender, txn
	s.b.beginTxn()
	if how != "" {
		s.b.metrics.senderAuthorised(how)
	}
	if s.log.Enabled(ctx, slog.LevelInfo) { // the arguments cost allocations even when not logged
		s.log.Info("mail from", "account", sender.Account.ID, "match", sender.Match, "auth", s.identity != nil, "authorised", how, "dkim_pending", s.dkimPending)
	}
	s.b.metrics.command("mail", 250, time.Since(start).Seconds())
	return nil
}

// Rcpt implements gosmtp.Session (RCPT TO): only <number>@<sms-domain>,
// or a group's name (groups.go). Each recipient is checked on its own
// (Transaction.AddRcpt), so a refusal here leaves the others in place.
// Repeated numbers, however written, collapse into one recipient.
func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	start := time.Now()
	if s.isPostmaster(to) {
		return s.rcptPostmaster(start)
	}
	if s.refusal != nil {
		return s.refuseDeferred(start)
	}
	if s.dkimPending {
		return s.rcptPending(start, to) // policy.go
	}
	if s.isGroupRecipient(to) {
		return s.rcptGroup(start, to)
	}
	number, err := s.recipient(to)
	if err != nil {
		s.b.metrics.recipients.WithLabelValues(rcptRejected).Inc()
		return s.refuse("rcpt", start, err)
	}
	dup := s.txn.Has(number)
	if max := s.b.opts.MaxRecipients; max > 0 && !dup && len(s.txn.Recipients())-s.groupRcpts >= max {
		s.b.metrics.recipients.WithLabelValues(rcptRejected).Inc()
		return s.refuse("rcpt", start, errTooManyRcpts)
	}
	ctx := s.commandCtx()
	if err := s.txn.AddRcpt(ctx, number); err != nil {
		s.b.metrics.recipients.WithLabelValues(rcptRejected).Inc()
		return s.refuse("rcpt", start, fmt.Errorf("add recipient: %w", err))
	}
	if dup {
		s.b.metrics.recipients.WithLabelValues(rcptDuplicate).Inc()
	} else {
		s.b.metrics.recipientAccepted(1)
	}
	s.b.metrics.command("rcpt", 250, time.Since(start).Seconds())
	return nil
}

// recipient checks the domain and normalises the local part to E.164.
func (s *session) recipient(to string) (string, error) {
	at := strings.LastIndexByte(to, '@')
	if at <= 0 || at == len(to)-1 {
		return "", badRecipient("expected <number>@<sms-domain>")
	}
	local, domain := to[:at], strings.ToLower(strings.TrimSuffix(to[at+1:], "."))
	if !s.b.domains[domain] {
		return "", notSMSDomain(domain)
	}
	if s.txn == nil {
		return "", badRecipient("MAIL FROM first")
	}
	local = strings.Trim(local, `"`)
	number, err := phone.Normalize(local, s.sender.Account.DefaultCountry)
	if err != nil {
		return "", fmt.Errorf("normalise recipient: %w", err)
	}
	return number, nil
}

// Data implements gosmtp.Session. The reply is 250 only once the pipeline
// Has accepted the mail; its text names the message ids and the session.
func (s *session) Data(r io.Reader) error {
	if s.postmaster {
		return s.dataPostmaster(r) // postmaster.go
	}
	if s.dkimPending {
		return s.dataPending(r) // policy.go
	}
	start := time.Now()
	if s.rr == nil {
		s.rr = &recordingReader{sum: sha256.New()}
	}
	rr := s.rr
	rr.r, rr.err = r, nil
	rr.sum.Reset()
	defer func() { rr.r = nil }() // not the mail's reader beyond its DATA
	if s.body == nil {
		s.body = bufio.NewReader(rr)
	} else {
		s.body.Reset(rr)
	}
	parsed, err := TextFromMIME(s.body)
	s.body.Reset(nil) // the buffer stays for the session's next mail, not the reader
	if err == nil {
		// Read the rest (an epilogue, or what a lenient parse skipped) so
		// that an oversized message is refused rather than half-accepted.
		_, err = io.Copy(io.Discard, rr)
	}
	if rr.err != nil {
		// A transport error, e.g. go-smtp's ErrDataTooLarge (552 5.3.4).
		return s.refuse("data", start, fmt.Errorf("read message: %w", rr.err))
	}
	if err != nil {
		return s.refuse("data", start, fmt.Errorf("%w: %w", errBadMessage, err))
	}
	if s.txn == nil {
		return s.refuse("data", start, badRecipient("MAIL FROM first"))
	}
	mail := &router.Mail{
		MailID:  parsed.MessageID,
		Subject: parsed.Subject,
		Text:    parsed.Text,
		// "Subject: template: <name>" or "[template:<name>]" sends a template
		// (router/template.go); the body then fills {{body}}.
		Template: router.SubjectTemplate(parsed.Subject),
	}
	if mail.MailID == "" {
		// No Message-ID to recognise a retry by: a client that lost our
		// reply sends the same bytes again (its Date header included), so
		// the digest of the whole message names it instead. A mail written
		// again by a person has another Date and is another mail.
		mail.IdempotencyKey = "data:" + hex.EncodeToString(rr.sum.Sum(nil)[:16])
	}
	ctx := s.commandCtx()
	ids, err := s.txn.Commit(ctx, mail)
	if err != nil {
		return s.refuse("data", start, fmt.Errorf("accept mail: %w", err))
	}
	if s.log.Enabled(ctx, slog.LevelInfo) {
		s.log.Info("mail queued", "account", s.sender.Account.ID, "recipients", len(mail.Recipients), "message_ids", ids)
	}
	s.b.metrics.command("data", 250, time.Since(start).Seconds())
	s.b.metrics.message(250, "ok")
	// go-smtp sends an *SMTPError's code and text as they are, so a 250
	// "error" is how a backend chooses its success text.
	return &gosmtp.SMTPError{
		Code:         250,
		EnhancedCode: gosmtp.EnhancedCode{2, 0, 0},
		Message:      queuedText(ids, s.id),
	}
}

// recordingReader remembers the first error of the underlying reader other
// than io.EOF, so that transport errors are told apart from MIME errors,
// and hashes what it reads (the message's digest).
type recordingReader struct {
	r   io.Reader
	err error
	sum hash.Hash
}

func (rr *recordingReader) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	rr.sum.Write(p[:n])
	if err != nil && err != io.EOF && rr.err == nil { //nolint:errorlint // io.EOF is returned unwrapped by contract
		rr.err = err
	}
	return n, err
}

// AuthMechanisms implements gosmtp.AuthSession. go-smtp offers them only
// over TLS unless AllowInsecureAuth is set.
func (s *session) AuthMechanisms() []string {
	if s.b.opts.Keys == nil {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

// Auth implements gosmtp.AuthSession. The credential is an API key as the
// password (an account's, a user's personal key, or a relay key; any user
// name), or a user's email and password (KeyChecker.AuthenticateSMTP). It is
// never logged; a failure does not say which part was wrong.
func (s *session) Auth(mech string) (sasl.Server, error) {
	if s.b.opts.Keys == nil {
		return nil, toSMTPError(errAuthAvailable, replyContext{}).err
	}
	check := func(username, password string) error {
		start := time.Now()
		ctx := s.commandCtx()
		if ip := s.remoteIP(); ip.IsValid() { // the login throttle counts per source address too
			ctx = accounts.WithLoginSource(ctx, ip.String())
		}
		id, err := s.b.opts.Keys.AuthenticateSMTP(ctx, username, password)
		if err != nil {
			kind := accounts.IdentityUserPassword
			if strings.HasPrefix(password, "sgk_") {
				kind = "key"
			}
			result := "failure"
			if errors.Is(err, accounts.ErrTooManyAttempts) {
				result = "throttled"
			}
			s.b.metrics.auth.WithLabelValues(kind, result).Inc()
			s.log.Info("authentication failed", "mechanism", mech, "kind", kind, "result", result)
			s.log.Debug("authentication failed", "err", err)
			s.identity, s.authFailed = nil, true
			return s.refuse("auth", start, fmt.Errorf("authenticate: %w", err))
		}
		s.identity, s.authFailed = id, false
		s.b.metrics.auth.WithLabelValues(id.Kind, "success").Inc()
		s.log.Info("authenticated", "mechanism", mech, "kind", id.Kind, "account", id.AccountID, "key", id.KeyID, "user", id.UserID)
		s.b.metrics.command("auth", 235, time.Since(start).Seconds())
		return nil
	}
	switch strings.ToUpper(mech) {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, username, password string) error { return check(username, password) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, gosmtp.ErrAuthUnknownMechanism
}

// loginServer is the server side of the obsolete but widespread LOGIN
// mechanism (draft-murchison-sasl-login), which go-sasl implements only as
// A client.
type loginServer struct {
	step     int
	username string
	check    func(username, password string) error
}

// Next implements sasl.Server.
func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if response == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough // initial response carried the user name
	case 1:
		l.step = 2
		l.username = string(response)
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.username, string(response))
	}
	return nil, false, sasl.ErrUnexpectedClientResponse
}
