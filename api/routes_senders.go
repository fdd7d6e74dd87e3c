package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"unicode"

	"github.com/smsgate/smsgate/accounts"
)

// senderRoutes are the routes of an account's sender identities (seed 003
// "sender view"): its dedicated numbers, approved alphanumeric sender ids
// and default. Reading needs sender_view; numbers and ids are handed out by
// A root's parent_admin (operators allocate the numbers to the root first:
// smsgate admin number add); the default is a messaging setting.
func (s *server) senderRoutes() []route {
	return []route{
		{"GET /v1/accounts/{id}/senders", true, s.h(s.getSenders)},
		{"POST /v1/accounts/{id}/senders/numbers", true, s.h(s.assignNumber)},
		{"DELETE /v1/accounts/{id}/senders/numbers/{number}", true, s.h(s.unassignNumber)},
		{"POST /v1/accounts/{id}/senders/ids", true, s.h(s.addSenderID)},
		{"DELETE /v1/accounts/{id}/senders/ids/{sender_id}", true, s.h(s.removeSenderID)},
		{"PUT /v1/accounts/{id}/senders/default", true, s.h(s.setDefaultSender)},
	}
}

// SenderStore is what the senders area needs of the account store: an
// account's numbers and sender ids.
type SenderStore interface {
	Senders(ctx context.Context, accountID string) (*accounts.Senders, error)
	AssignNumber(ctx context.Context, accountID, number string) (*accounts.Senders, error)
	UnassignNumber(ctx context.Context, accountID, number string) error
	AddSenderID(ctx context.Context, accountID, id string) (*accounts.Senders, error)
	// SenderIDGranted: the operator approved id for acct's tree.
	SenderIDGranted(ctx context.Context, acct *accounts.Account, id string) (bool, error)
	RemoveSenderID(ctx context.Context, accountID, id string) error
	SetDefaultSender(ctx context.Context, accountID, id string) (*accounts.Senders, error)
}

// Request bodies.
type (
	numberBody struct {
		Number string `json:"number"`
	}
	senderIDBody struct {
		SenderID string `json:"sender_id"`
	}
	defaultSenderBody struct {
		Default *string `json:"default"`
	}
)

func (s *server) getSenders(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actSenderView)
	if err != nil {
		return err
	}
	got, err := s.senders.Senders(r.Context(), acct.ID)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	writeJSON(w, http.StatusOK, got)
	return nil
}

// assignNumber lets the account send from one of its tree's numbers: on a
// sub-account it moves the number from the parent.
func (s *server) assignNumber(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actSenders)
	if err != nil {
		return err
	}
	var in numberBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Number) == "" {
		return invalid("number: required")
	}
	got, err := s.senders.AssignNumber(r.Context(), acct.ID, in.Number)
	if err != nil {
		return s.senderProblem(r.Context(), err, acct)
	}
	writeJSON(w, http.StatusCreated, got)
	return nil
}

// unassignNumber gives a sub-account's number back to its parent.
func (s *server) unassignNumber(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actSenders)
	if err != nil {
		return err
	}
	n := r.PathValue("number")
	if err := s.senders.UnassignNumber(r.Context(), acct.ID, n); err != nil {
		if errors.Is(err, accounts.ErrNotFound) {
			return notFound("number", n+" of account "+acct.ID)
		}
		return s.senderProblem(r.Context(), err, acct)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// addSenderID approves an alphanumeric sender id for the account.
func (s *server) addSenderID(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actSenders)
	if err != nil {
		return err
	}
	var in senderIDBody
	if err := decode(r, &in); err != nil {
		return err
	}
	// A brand name ("PayPal") is the operator's to approve, never the
	// customer's own: a parent hands out only what the operator approved
	// for it, or what the configuration allows everyone.
	id := strings.TrimSpace(in.SenderID)
	wellFormed := len(id) <= 11 && !strings.ContainsFunc(id, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if wellFormed && !slices.ContainsFunc(s.allowedSenderIDs, func(a string) bool { return strings.EqualFold(a, id) }) { // a malformed one: 422 below
		ok, err := s.senders.SenderIDGranted(r.Context(), acct, id)
		if err != nil {
			return s.senderProblem(r.Context(), err, acct)
		}
		if !ok && id != "" && strings.ContainsFunc(id, unicode.IsLetter) {
			return problemf(http.StatusForbidden, "sender-id-not-approved",
				"sender_id: %q is not approved for this parent account: the operator approves alphanumeric sender ids (smsgate admin sender-id add) or allows them in dispatch.allowed_sender_ids", id)
		}
	}
	got, err := s.senders.AddSenderID(r.Context(), acct.ID, in.SenderID)
	if err != nil {
		return s.senderProblem(r.Context(), err, acct)
	}
	writeJSON(w, http.StatusCreated, got)
	return nil
}

func (s *server) removeSenderID(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actSenders)
	if err != nil {
		return err
	}
	id := r.PathValue("sender_id")
	if err := s.senders.RemoveSenderID(r.Context(), acct.ID, id); err != nil {
		if errors.Is(err, accounts.ErrNotFound) {
			return notFound("sender id", id+" of account "+acct.ID)
		}
		return s.senderProblem(r.Context(), err, acct)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setDefaultSender makes one of the account's identities its default (its
// sender_id setting), or clears it with "".
func (s *server) setDefaultSender(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actSettings)
	if err != nil {
		return err
	}
	var in defaultSenderBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Default == nil {
		return invalid(`default: required (a number or sender id of the account, or "" for the gateway's default)`)
	}
	got, err := s.senders.SetDefaultSender(r.Context(), acct.ID, *in.Default)
	if err != nil {
		return s.senderProblem(r.Context(), err, acct)
	}
	writeJSON(w, http.StatusOK, got)
	return nil
}

// senderProblem maps the store's sender identity errors:
//
//	409 number-taken           another sub-account of the tree holds it
//	422 number-not-allocated   the operator has not allocated it to the tree
//
// and anything else as every route does.
func (s *server) senderProblem(ctx context.Context, err error, acct *accounts.Account) *Problem {
	tail := func(sentinel error) string {
		msg := strings.TrimSuffix(err.Error(), ": "+sentinel.Error())
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		return msg
	}
	switch {
	case errors.Is(err, accounts.ErrNumberTaken):
		return problemf(http.StatusConflict, "number-taken", "number: %s; take it back there first", tail(accounts.ErrNumberTaken))
	case errors.Is(err, accounts.ErrNumberNotOwned):
		return problemf(http.StatusUnprocessableEntity, "number-not-allocated",
			"number: %s; operators allocate numbers to parent accounts (smsgate admin number add)", tail(accounts.ErrNumberNotOwned))
	}
	return s.toProblem(ctx, err, "account", acct.ID)
}
