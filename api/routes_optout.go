package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/phone"
)

// optoutRoutes are the routes of opt-outs, the Stop rule and the blocked
// log (accounts/rules, accounts/messages).
//
// Who may do what: reading the opt-out list and the blocked log needs
// blocked_sms (advanced and up: seed 003 "Can See Blocked Sms"); adding a
// number by hand and the Stop rule are messaging settings (sub_admin, flag
// settings); resubscribing is a sub-account administrator's right (seed
// 000 "Resubscribe an unsubscribed contact"), and a number on a parent's
// shared list can only be resubscribed by that parent's administrators.
func (s *server) optoutRoutes() []route {
	return []route{
		{"GET /v1/accounts/{id}/optouts", true, s.h(s.listOptOuts)},
		{"POST /v1/accounts/{id}/optouts", true, s.h(s.addOptOut)},
		{"DELETE /v1/accounts/{id}/optouts/{number}", true, s.h(s.removeOptOut)},
		{"GET /v1/accounts/{id}/stop-rule", true, s.h(s.getStopRule)},
		{"PUT /v1/accounts/{id}/stop-rule", true, s.h(s.putStopRule)},
		{"GET /v1/accounts/{id}/blocked", true, s.h(s.listBlocked(false))},
		{"GET /v1/accounts/{id}/blocked.csv", true, s.h(s.listBlocked(true))},
	}
}

// OptOutStore is what the opt-out area needs of the account store: the
// opt-out list, the STOP rule and the blocked-message log.
type OptOutStore interface {
	OptOutList(acct *accounts.Account) string
	AddOptOut(ctx context.Context, listOwner string, o accounts.OptOut) (bool, error)
	RemoveOptOut(ctx context.Context, listOwner, number string) error
	ListOptOuts(ctx context.Context, listOwner string) ([]accounts.OptOut, error)
	StopRule(ctx context.Context, accountID string) (*accounts.StopRule, error)
	SetStopRule(ctx context.Context, accountID string, r accounts.StopRule) (*accounts.StopRule, error)
	ListBlocked(ctx context.Context, accountID string, limit int, cursor string) ([]*accounts.Message, string, error)
}

// optOutList is the body of GET /v1/accounts/{id}/optouts.
type optOutList struct {
	AccountID string `json:"account_id"`
	// ListOwner is the account whose list governs account_id: its parent's
	// when it shares contacts (seed 002), else itself; Shared says which.
	ListOwner string            `json:"list_owner"`
	Shared    bool              `json:"shared"`
	OptOuts   []accounts.OptOut `json:"optouts"`
}

// optOutBody is the body of POST /v1/accounts/{id}/optouts.
type optOutBody struct {
	Number string `json:"number"`
	Reason string `json:"reason"`
}

// optOutAdded is the answer to POST /v1/accounts/{id}/optouts.
type optOutAdded struct {
	ListOwner string          `json:"list_owner"`
	Added     bool            `json:"added"` // false: it was already on the list (its first record is kept)
	OptOut    accounts.OptOut `json:"optout"`
}

// maxOptOutReason bounds the reason given with a number added by hand.
const maxOptOutReason = 200

func (s *server) listOptOuts(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actBlocked)
	if err != nil {
		return err
	}
	owner := s.optouts.OptOutList(acct)
	list, err := s.optouts.ListOptOuts(r.Context(), owner)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	writeJSON(w, http.StatusOK, optOutList{AccountID: acct.ID, ListOwner: owner, Shared: owner != acct.ID, OptOuts: list})
	return nil
}

// optOutNumber normalises a number given for acct (its default country for
// national forms); field names it in the problem.
func optOutNumber(field, raw string, acct *accounts.Account) (string, error) {
	n, err := phone.Normalize(raw, acct.DefaultCountry)
	if err != nil {
		return "", invalid("%s: %q is not a valid number: %s", field, raw,
			strings.TrimPrefix(err.Error(), phone.ErrInvalid.Error()+": "))
	}
	return n, nil
}

// optOutVia names who acted through the API, for the opt-out record.
func optOutVia(p principal) string {
	if p.key.UserEmail != "" {
		return "user " + p.key.UserEmail
	}
	return "api key " + p.key.ID
}

func (s *server) addOptOut(w http.ResponseWriter, r *http.Request) error {
	p, acct, err := s.target(r, actSettings)
	if err != nil {
		return err
	}
	var in optOutBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Number) == "" {
		return invalid("number: is required")
	}
	n, err := optOutNumber("number", in.Number, acct)
	if err != nil {
		return err
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if len(in.Reason) > maxOptOutReason {
		return invalid("reason: longer than %d characters", maxOptOutReason)
	}
	if in.Reason == "" {
		in.Reason = "added by hand"
	}
	// Adding to a parent's shared list only protects: a sub-account may.
	owner := s.optouts.OptOutList(acct)
	o := accounts.OptOut{Number: n, At: time.Now(), Reason: in.Reason, Via: optOutVia(p)}
	added, err := s.optouts.AddOptOut(r.Context(), owner, o)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	status := http.StatusCreated
	if !added {
		status = http.StatusOK
	}
	writeJSON(w, status, optOutAdded{ListOwner: owner, Added: added, OptOut: o})
	return nil
}

// removeOptOut resubscribes a number. On a shared list (the parent's) only
// the parent's administrators may: a sub-account's resubscription would
// reach its parent and every sibling.
func (s *server) removeOptOut(w http.ResponseWriter, r *http.Request) error {
	p, acct, err := s.target(r, actResubscribe)
	if err != nil {
		return err
	}
	n, err := optOutNumber("number", r.PathValue("number"), acct)
	if err != nil {
		return err
	}
	owner := s.optouts.OptOutList(acct)
	if owner != acct.ID && p.acct.ID != owner {
		return forbidden("account %s: uses the shared opt-out list of parent account %s (permission %s); "+
			"only that account's administrators can resubscribe a number", acct.ID, owner, accounts.FlagShareContacts)
	}
	if err := s.optouts.RemoveOptOut(r.Context(), owner, n); err != nil {
		return s.toProblem(r.Context(), err, "opt-out of number", "+"+n)
	}
	s.log.InfoContext(r.Context(), "number resubscribed", "account", acct.ID, "list", owner, "by", p.key.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) getStopRule(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actSettings)
	if err != nil {
		return err
	}
	rule, err := s.optouts.StopRule(r.Context(), acct.ID)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	writeJSON(w, http.StatusOK, rule)
	return nil
}

// stopRuleBody is the body of PUT /v1/accounts/{id}/stop-rule: the whole
// rule; a field left out takes its default (confirmation "" means none).
type stopRuleBody struct {
	Keywords          []string `json:"keywords"`
	StartKeywords     []string `json:"start_keywords"`
	AllowStart        bool     `json:"allow_start"`
	Confirmation      *string  `json:"confirmation"`
	StartConfirmation *string  `json:"start_confirmation"`
}

func (s *server) putStopRule(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actSettings)
	if err != nil {
		return err
	}
	var in stopRuleBody
	if err := decode(r, &in); err != nil {
		return err
	}
	rule := accounts.DefaultStopRule()
	if in.Keywords != nil {
		rule.Keywords = in.Keywords
	}
	if in.StartKeywords != nil {
		rule.StartKeywords = in.StartKeywords
	}
	rule.AllowStart = in.AllowStart
	if in.Confirmation != nil {
		rule.Confirmation = *in.Confirmation
	}
	if in.StartConfirmation != nil {
		rule.StartConfirmation = *in.StartConfirmation
	}
	stored, err := s.optouts.SetStopRule(r.Context(), acct.ID, rule)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	writeJSON(w, http.StatusOK, stored)
	return nil
}

// blockedList is the body of GET /v1/accounts/{id}/blocked.
type blockedList struct {
	Messages []*accounts.Message `json:"messages"`
	Next     string              `json:"next,omitempty"` // cursor of the next page
}

// listBlocked serves the blocked log, a page as JSON or (export) all of it
// as CSV.
func (s *server) listBlocked(export bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		act := actBlocked
		if export {
			act = actBlockedExport
		}
		p, acct, err := s.target(r, act)
		if err != nil {
			return err
		}
		if export {
			if err := noBasicExport(p, "blocked messages"); err != nil {
				return err
			}
			return s.blockedCSV(w, r, acct)
		}
		limit, err := limitParam(r)
		if err != nil {
			return err
		}
		msgs, next, err := s.optouts.ListBlocked(r.Context(), acct.ID, limit, r.URL.Query().Get("cursor"))
		if err != nil {
			return s.queryProblem(r.Context(), err, acct.ID) // a bad cursor: 400
		}
		writeJSON(w, http.StatusOK, blockedList{Messages: msgs, Next: next})
		return nil
	}
}

// blockedCSV writes every blocked message of acct, newest first.
func (s *server) blockedCSV(w http.ResponseWriter, r *http.Request, acct *accounts.Account) error {
	ctx := r.Context()
	page, next, err := s.optouts.ListBlocked(ctx, acct.ID, maxLimit, "")
	if err != nil {
		return s.toProblem(ctx, err, "account", acct.ID)
	}
	cw := csvStart(w, "blocked-"+acct.ID+".csv", []string{"id", "created_at", "sender", "to", "parts", "status", "reason", "text"})
	for {
		for _, m := range page {
			_ = cw.Write([]string{m.ID, csvTime(m.CreatedAt), cell(m.Sender), m.To, strconv.Itoa(m.Parts),
				string(m.Status), cell(m.Error), cell(m.Text)})
		}
		if next == "" {
			break
		}
		if page, next, err = s.optouts.ListBlocked(ctx, acct.ID, maxLimit, next); err != nil {
			cw.Flush()
			s.csvAbort(ctx, "blocked "+acct.ID, err)
			return nil
		}
	}
	cw.Flush()
	return nil
}
