package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/smsgate/smsgate/accounts"
)

// moneyRoutes are the routes of money between a parent and its
// sub-accounts: credit, debit and the ledger.
func (s *server) moneyRoutes() []route {
	return []route{
		{"POST /v1/accounts/{id}/credit", true, s.h(s.transfer(true))},
		{"POST /v1/accounts/{id}/debit", true, s.h(s.transfer(false))},
		{"GET /v1/accounts/{id}/ledger", true, s.h(s.ledger)},
	}
}

// MoneyStore is what the money area needs of the account store: transfers
// between a parent and a sub-account, and the ledger.
type MoneyStore interface {
	Transfer(ctx context.Context, fromID, toID string, amount int64, ref, actor string) (from, to *accounts.LedgerEntry, err error)
	LedgerPage(ctx context.Context, accountID, before string, limit int) ([]accounts.LedgerEntry, string, error)
}

// transferBody is the body of POST /v1/accounts/{id}/credit and /debit.
type transferBody struct {
	Amount int64  `json:"amount"` // minor units, > 0
	Ref    string `json:"ref"`
}

// transferResult is the answer to a credit or debit: the ledger entries
// written on both sides.
type transferResult struct {
	From *accounts.LedgerEntry `json:"from"`
	To   *accounts.LedgerEntry `json:"to"`
}

// ledgerList is the body of GET /v1/accounts/{id}/ledger: a page of
// entries, newest first, and the id to pass as ?before= for the next page
// (absent on the last).
type ledgerList struct {
	Entries    []accounts.LedgerEntry `json:"entries"`
	NextBefore string                 `json:"next_before,omitempty"`
}

// maxAmount bounds one transfer (minor units) so that sums cannot overflow.
const maxAmount = 1 << 50

// transfer credits (money moves from the parent's master balance to the
// sub-account, seed 004) or debits (back to the parent) a sub-account.
func (s *server) transfer(credit bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, acct, err := s.target(r, actFinance)
		if err != nil {
			return err
		}
		var in transferBody
		if err := decode(r, &in); err != nil {
			return err
		}
		if err := checkAmount(&in); err != nil {
			return err
		}
		from, to := acct.ParentID, acct.ID
		if !credit {
			from, to = to, from
		}
		fe, te, err := s.money.Transfer(r.Context(), from, to, in.Amount, in.Ref, "key:"+p.key.ID)
		if err != nil {
			return s.toProblem(r.Context(), err, "account", from)
		}
		writeJSON(w, http.StatusOK, transferResult{From: fe, To: te})
		return nil
	}
}

// ledger lists an account's ledger, newest first, ?limit= entries at a
// time, older than ?before= (an entry id, from next_before).
func (s *server) ledger(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actLedger)
	if err != nil {
		return err
	}
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	before := r.URL.Query().Get("before")
	entries, next, err := s.money.LedgerPage(r.Context(), acct.ID, before, limit)
	if errors.Is(err, accounts.ErrInvalid) {
		return badRequest("before: %q is not a ledger entry id (pass next_before of the previous page)", before)
	}
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	if entries == nil {
		entries = []accounts.LedgerEntry{}
	}
	writeJSON(w, http.StatusOK, ledgerList{Entries: entries, NextBefore: next})
	return nil
}
