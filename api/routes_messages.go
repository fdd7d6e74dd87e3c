package api

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/phone"
	"github.com/smsgate/smsgate/router"
)

// MessageSender accepts mail for sending: the router's pipeline
// (*router.Pipeline), which prices, debits and queues it in one atomic
// store step and returns the message ids once the store has them.
type MessageSender interface {
	Accept(ctx context.Context, m *router.Mail) ([]string, error)
}

// MessageStore is what the messages area needs of the account store: the
// log of sent messages. Sending goes through the MessageSender.
type MessageStore interface {
	QueryMessages(ctx context.Context, q accounts.MessageQuery) ([]*accounts.Message, string, error)
	GetMessage(ctx context.Context, id string) (*accounts.Message, error)
}

// messageList is the body of GET /v1/messages. Next is the cursor of the
// next page, absent at the end.
type messageList struct {
	Messages []*accounts.Message `json:"messages"`
	Next     string              `json:"next,omitempty"`
}

// messageRoutes are the routes of the message log (listing, reading and
// exporting sent messages) and of sending over the API. The query helpers
// here serve the inbox routes too (routes_inbox.go).
func (s *server) messageRoutes() []route {
	return []route{
		{"GET /v1/messages", true, s.h(s.listMessages)},
		{"GET /v1/messages/{id}", true, s.h(s.getMessage)},
		{"POST /v1/messages", true, s.h(s.sendMessage)},
		{"GET /v1/messages.csv", true, s.h(s.exportMessages)},
	}
}

// logQuery is what the message and inbox routes read from the query
// string: the account (default: the key's own), authorised for act, and
// the filters. own is the sender a basic user is limited to.
type logQuery struct {
	acct     *accounts.Account
	own      string
	sender   string
	status   accounts.MessageStatus
	statuses []accounts.MessageStatus // several: status=failed,undeliverable
	state    accounts.InboxState      // inbox only
	number   string
	from, to time.Time
	limit    int
	cursor   string
}

// parseLogQuery reads ?account, sender, status, number, from, to, limit and
// cursor, and authorises act on the account. A basic user's sender is
// always themself; asking for another sender's is refused.
func (s *server) parseLogQuery(r *http.Request, act action, withStatus bool) (*logQuery, error) {
	p := principalFrom(r.Context())
	v := r.URL.Query()
	id := v.Get("account")
	if id == "" {
		id = p.acct.ID
	}
	acct, err := s.account(r.Context(), p, id)
	if err != nil {
		return nil, err
	}
	if err := s.allow(p, acct, act); err != nil {
		return nil, err
	}
	q := &logQuery{acct: acct, own: ownOnly(p, act), sender: strings.TrimSpace(v.Get("sender")),
		number: strings.TrimSpace(v.Get("number")), cursor: v.Get("cursor")}
	if q.own != "" {
		if q.sender != "" && !strings.EqualFold(q.sender, q.own) {
			return nil, forbidden("sender: a basic user sees only their own messages and replies (%s), not %s's", q.own, q.sender)
		}
		q.sender = q.own
	}
	if st := v.Get("status"); st != "" {
		if !withStatus {
			return nil, badRequest("status: the inbox has no status filter")
		}
		for one := range strings.SplitSeq(st, ",") {
			ms := accounts.MessageStatus(strings.TrimSpace(one))
			switch ms {
			case accounts.MsgQueued, accounts.MsgSubmitted, accounts.MsgDelivered, accounts.MsgUndeliverable,
				accounts.MsgExpired, accounts.MsgRejected, accounts.MsgFailed:
			default:
				return nil, badRequest("status: %q must be one of queued, submitted, delivered, undeliverable, expired, rejected, failed, or several of them separated by commas", one)
			}
			q.statuses = append(q.statuses, ms)
		}
		if len(q.statuses) == 1 {
			q.status, q.statuses = q.statuses[0], nil
		}
	}
	if st := v.Get("state"); st != "" {
		if withStatus {
			return nil, badRequest("state: messages have no inbox state (read, archived); use status")
		}
		if q.state, err = accounts.ParseInboxState(st); err != nil {
			return nil, badRequest("state: %q must be one of unread, read, archived, all (default: all but archived)", st)
		}
	}
	if q.number != "" && strings.IndexFunc(q.number, func(c rune) bool { return c >= '0' && c <= '9' }) < 0 {
		return nil, badRequest("number: %q has no digits", q.number)
	}
	if q.from, err = dateParam(r, "from", false); err != nil {
		return nil, err
	}
	if q.to, err = dateParam(r, "to", true); err != nil {
		return nil, err
	}
	if !q.from.IsZero() && !q.to.IsZero() && !q.to.After(q.from) {
		return nil, badRequest("to: %s is before from %s", v.Get("to"), v.Get("from"))
	}
	if q.limit, err = limitParam(r); err != nil {
		return nil, err
	}
	return q, nil
}

// dateParam reads a date query parameter: YYYY-MM-DD (a UTC day) or an RFC
// 3339 time. A day given as "to" is inclusive, so it returns the start of
// the next day (the bound is exclusive). Absent: the zero time.
func dateParam(r *http.Request, name string, end bool) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, badRequest("%s: %q is not a date (YYYY-MM-DD, UTC) or an RFC 3339 time", name, v)
}

// messageQuery turns a logQuery into the store's query.
func (q *logQuery) messageQuery() accounts.MessageQuery {
	return accounts.MessageQuery{AccountID: q.acct.ID, Sender: q.sender, Status: q.status, AnyStatus: q.statuses, Number: q.number,
		From: q.from, To: q.to, Limit: q.limit, Cursor: q.cursor}
}

// queryProblem maps a query's store error: a bad cursor is the client's
// mistake (400), the rest as usual.
func (s *server) queryProblem(ctx context.Context, err error, acct string) *Problem {
	p := s.toProblem(ctx, err, "account", acct)
	if errors.Is(err, accounts.ErrInvalid) {
		return badRequest("%s", p.Detail)
	}
	return p
}

// owned checks that the key may see, under act, what belongs to accountID
// and was sent by sender (a basic user sees only their own); anything else
// reads as "<what> <id> not found".
func (s *server) owned(r *http.Request, act action, accountID, sender, what, id string) error {
	p := principalFrom(r.Context())
	if accountID == "" {
		return notFound(what, id)
	}
	acct, err := s.account(r.Context(), p, accountID)
	if err != nil {
		var prob *Problem
		if errors.As(err, &prob) && prob.Status == http.StatusNotFound {
			return notFound(what, id)
		}
		return err
	}
	if authorize(p.key, p.acct, acct, act) != nil {
		return notFound(what, id)
	}
	if own := ownOnly(p, act); own != "" && !strings.EqualFold(own, sender) {
		return notFound(what, id)
	}
	return nil
}

func (s *server) listMessages(w http.ResponseWriter, r *http.Request) error {
	q, err := s.parseLogQuery(r, actMessages, true)
	if err != nil {
		return err
	}
	msgs, next, err := s.messages.QueryMessages(r.Context(), q.messageQuery())
	if err != nil {
		return s.queryProblem(r.Context(), err, q.acct.ID)
	}
	if msgs == nil {
		msgs = []*accounts.Message{}
	}
	writeJSON(w, http.StatusOK, messageList{Messages: msgs, Next: next})
	return nil
}

func (s *server) getMessage(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	m, err := s.messages.GetMessage(r.Context(), id)
	if err != nil {
		return s.toProblem(r.Context(), err, "message", id)
	}
	if err := s.owned(r, actMessages, m.AccountID, m.Sender, "message", id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// noBasicExport refuses exports to basic users, whatever their flags: seed
// 000 gives them no reporting beyond their own list.
func noBasicExport(p principal, what string) error {
	if p.key != nil && p.key.Role == accounts.RoleBasic {
		return forbidden("export: basic users cannot export the %s", what)
	}
	return nil
}

// csvStart sends the headers of a CSV download and returns its writer.
// Under hide_pricing (a *pricingWriter) the money columns are left out.
func csvStart(w http.ResponseWriter, filename string, header []string) *csvOut {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	cw := &csvOut{Writer: csv.NewWriter(w)}
	if _, hide := w.(*pricingWriter); hide {
		for i, h := range header {
			if moneyKeys[h] {
				cw.drop = append(cw.drop, i)
			}
		}
	}
	_ = cw.Write(header)
	return cw
}

// csvOut is a CSV download: a csv.Writer that leaves out the columns drop.
type csvOut struct {
	*csv.Writer
	drop []int // ascending column indexes
}

// Write writes one record without the dropped columns.
func (c *csvOut) Write(record []string) error {
	if len(c.drop) == 0 {
		return c.Writer.Write(record)
	}
	kept := make([]string, 0, len(record))
	for i, v := range record {
		if !slices.Contains(c.drop, i) {
			kept = append(kept, v)
		}
	}
	return c.Writer.Write(kept)
}

// csvAbort ends a download that failed after its headers were sent: the
// error is logged and the connection cut, so that the client sees a broken
// transfer rather than a file that looks complete.
func (s *server) csvAbort(ctx context.Context, what string, err error) {
	s.log.ErrorContext(ctx, "export failed", "what", what, "err", err)
	panic(http.ErrAbortHandler)
}

// cell protects a text cell against formula injection in spreadsheets
// (OWASP "CSV injection"): a leading =, +, -, @, tab or CR gets a quote.
func cell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// exportPage is the page size of CSV exports; each page is one store
// query, bounded by its scan limit.
const exportPage = 1000

func (s *server) exportMessages(w http.ResponseWriter, r *http.Request) error {
	q, err := s.parseLogQuery(r, actMessagesExport, true) // first, so that another tenant's account is a 404, not a 403
	if err == nil {
		err = noBasicExport(principalFrom(r.Context()), "message log")
	}
	if err != nil {
		return err
	}
	mq := q.messageQuery()
	mq.Limit = exportPage
	// The first page is read before anything is sent, so that a bad cursor
	// or an unreachable store is still a problem document.
	msgs, next, err := s.messages.QueryMessages(r.Context(), mq)
	if err != nil {
		return s.queryProblem(r.Context(), err, q.acct.ID)
	}
	cw := csvStart(w, "messages-"+q.acct.ID+".csv", []string{"id", "created_at", "account_id", "sender", "to",
		"status", "parts", "price", "link", "error", "done_at", "text"})
	for {
		for _, m := range msgs {
			_ = cw.Write([]string{m.ID, csvTime(m.CreatedAt), m.AccountID, cell(m.Sender), m.To, string(m.Status),
				strconv.Itoa(m.Parts), strconv.FormatInt(m.Price, 10), cell(m.Link), cell(m.Error),
				csvTime(m.DoneAt), cell(m.Text)})
		}
		cw.Flush()
		if err := cw.Error(); err != nil || next == "" {
			return nil // a write error: the client has gone
		}
		mq.Cursor = next
		if msgs, next, err = s.messages.QueryMessages(r.Context(), mq); err != nil {
			s.csvAbort(r.Context(), "messages of "+q.acct.ID, err)
		}
	}
}

// sendBody is the body of POST /v1/messages.
type sendBody struct {
	Account string   `json:"account"` // default: the key's own account
	To      []string `json:"to"`
	Text    string   `json:"text"`
	Subject string   `json:"subject"` // used as the account's subject_mode says, as for mail
	// Template names a template of the account (or its parent) to send
	// instead of text, filled per recipient from their contact; text, if
	// given, fills {{body}} and the subject is not used (router/template.go).
	Template string `json:"template"`
}

// sendResult is the answer to POST /v1/messages: one message id per
// distinct number, in request order.
type sendResult struct {
	AccountID string   `json:"account_id"`
	IDs       []string `json:"ids"`
}

// Send limits.
const (
	maxSendRecipients = 1000
	maxIdempotencyKey = 200
)

// sendMessage sends one text to one or more numbers through the same
// pipeline as mail. The sender recorded (whose replies and statistics these
// are) is the key's user, or "api:<key id>" for an account key. With an
// Idempotency-Key header, a repeated request returns the first one's ids and
// is charged once (for 24 hours).
func (s *server) sendMessage(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	if s.sender == nil {
		return problemf(http.StatusServiceUnavailable, "sending-disabled",
			"sending: this instance does not accept messages over the API; use one that runs the SMTP role")
	}
	var in sendBody
	if err := decode(r, &in); err != nil {
		return err
	}
	// Line ends as clients write them are one line feed in an SMS; any
	// other control character is refused (it would reach phones and logs).
	in.Text = strings.ReplaceAll(in.Text, "\r\n", "\n")
	if err := accounts.CheckText("text", in.Text); err != nil {
		return s.toProblem(r.Context(), err, "message", "")
	}
	idem := r.Header.Get("Idempotency-Key")
	if len(idem) > maxIdempotencyKey {
		return badRequest("Idempotency-Key: longer than %d characters", maxIdempotencyKey)
	}
	id := in.Account
	if id == "" {
		id = p.acct.ID
	}
	acct, err := s.account(r.Context(), p, id)
	if err != nil {
		return err
	}
	if err := s.allow(p, acct, actSend); err != nil {
		return err
	}
	if acct.Status != accounts.StatusActive {
		return problemf(http.StatusConflict, "account-deactivated", "account: %s is deactivated and sends nothing", acct.ID)
	}
	to, err := sendNumbers(in.To, acct.DefaultCountry)
	if err != nil {
		return err
	}
	sender := p.key.UserEmail
	if sender == "" {
		sender = "api:" + p.key.ID
	}
	mail := &router.Mail{
		Sender:     &accounts.Sender{Account: acct, Address: sender, Match: "api"},
		Recipients: to,
		Subject:    in.Subject,
		Text:       in.Text,
		Template:   strings.TrimSpace(in.Template),
	}
	if idem != "" {
		// The client's key, hashed, names the request for the pipeline's
		// duplicate check (sender + key + recipients) and becomes a
		// Message-ID it cannot use to inject anything into reply mail
		// headers.
		sum := sha256.Sum256([]byte(idem))
		mail.MailID = "<" + hex.EncodeToString(sum[:16]) + "@api.smsgate.invalid>"
		mail.IdempotencyKey = hex.EncodeToString(sum[:16])
	}
	ids, err := s.sender.Accept(r.Context(), mail)
	if err != nil && mail.Template != "" {
		if p := templateSendProblem(err, mail.Template); p != nil {
			return p
		}
	}
	if err != nil {
		return s.sendProblem(r.Context(), err, acct)
	}
	writeJSON(w, http.StatusCreated, sendResult{AccountID: acct.ID, IDs: ids})
	return nil
}

// sendNumbers normalises the recipients to E.164 with the account's default
// country and drops repeats (a number given twice is sent and charged once).
func sendNumbers(raw []string, country string) ([]string, error) {
	switch {
	case len(raw) == 0:
		return nil, invalid("to: at least one number is required")
	case len(raw) > maxSendRecipients:
		return nil, invalid("to: %d numbers, at most %d per request", len(raw), maxSendRecipients)
	}
	out := make([]string, 0, len(raw))
	seen := make(map[string]bool, len(raw))
	for i, n := range raw {
		e164, err := phone.Normalize(n, country)
		if err != nil {
			return nil, invalid("to[%d]: %q is not a valid number: %s", i, n,
				strings.TrimPrefix(err.Error(), phone.ErrInvalid.Error()+": "))
		}
		if !seen[e164] {
			seen[e164] = true
			out = append(out, e164)
		}
	}
	return out, nil
}

// sendProblem maps the pipeline's refusals:
//
//	422 too-long, empty   the text (too many parts for the account, or none)
//	422 no-route          no carrier link serves a number's prefix
//	402 insufficient-balance  with need and have, in minor units
//	409 account-deactivated   the account or its parent
//	422 opted-out         every number has opted out (none was sent or charged)
//
// and anything else as every route does.
func (s *server) sendProblem(ctx context.Context, err error, acct *accounts.Account) *Problem {
	var tl *router.TooLongError
	var be *accounts.BalanceError
	var pe *router.PermissionError
	var oo *accounts.OptedOutError
	switch {
	case errors.As(err, &pe): // the account's flags (send_bulk, global_sending)
		return forbidden("account %s: %s", acct.ID, pe.Error())
	case errors.Is(err, router.ErrSenderNotAllowed): // "[from:<id>]" in the subject (router/sender.go)
		msg, se := router.ErrSenderNotAllowed.Error(), (*router.SenderError)(nil)
		if errors.As(err, &se) {
			msg = se.Error()
		}
		return forbidden("subject: %s (account %s; see GET /v1/accounts/%s/senders)", msg, acct.ID, acct.ID)
	case errors.As(err, &tl):
		return problemf(http.StatusUnprocessableEntity, "too-long", "text: %s", tl.Error())
	case errors.Is(err, router.ErrTooLong):
		return problemf(http.StatusUnprocessableEntity, "too-long", "text: needs more SMS parts than account %s allows", acct.ID)
	case errors.Is(err, router.ErrEmpty):
		return problemf(http.StatusUnprocessableEntity, "empty", "text: is empty (and so is the subject, or the account ignores subjects)")
	case errors.Is(err, router.ErrNoRoute):
		return problemf(http.StatusUnprocessableEntity, "no-route", "to: no carrier route serves one of the numbers (%s)", sendErrTail(err))
	case errors.As(err, &be):
		p := problemf(http.StatusPaymentRequired, "insufficient-balance", "account %s: %s", acct.ID, be.Error())
		need, have := be.Need, be.Have
		p.Need, p.Have = &need, &have
		return p
	case errors.Is(err, accounts.ErrInsufficientBalance):
		return problemf(http.StatusPaymentRequired, "insufficient-balance", "account %s: insufficient balance", acct.ID)
	case errors.Is(err, accounts.ErrDeactivated):
		return problemf(http.StatusConflict, "account-deactivated", "account: %s (or its parent) is deactivated and sends nothing", acct.ID)
	case errors.As(err, &oo): // nothing sent or charged; the blocked log has them
		return problemf(http.StatusUnprocessableEntity, "opted-out", "to: %s", oo.Error())
	case errors.Is(err, router.ErrPoolExhausted): // nothing sent or charged
		p := problemf(http.StatusServiceUnavailable, "pool-exhausted", "to: every shared source number has an open conversation with %s for another sender; try again later, or ask the operator for a dedicated number", sendErrTail(err))
		p.RetryAfter = 3600
		return p
	}
	return s.toProblem(ctx, err, "account", acct.ID)
}

// sendErrTail is the last part of a wrapped error ("****5678: no route to
// destination" from "accept for a0-x: ****5678: no route to destination"),
// which names the number masked.
func sendErrTail(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "*"); i >= 0 {
		return msg[i:]
	}
	return router.ErrNoRoute.Error()
}
