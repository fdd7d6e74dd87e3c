package api

import (
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/smsgate/smsgate/accounts"
)

// billingRoutes are the money routes beyond credit, debit and the ledger
// (routes_money.go): prices per destination prefix, top-up by the
// sub-account itself, the ledger as CSV, and deleting a sub-account (which
// returns its balance to the parent).
func (s *server) billingRoutes() []route {
	return []route{
		{"GET /v1/accounts/{id}/prices", true, s.h(s.getPrices)},
		{"PUT /v1/accounts/{id}/prices", true, s.h(s.putPrices)},
		{"POST /v1/accounts/{id}/topup", true, s.h(s.topUp)},
		{"GET /v1/accounts/{id}/ledger.csv", true, s.h(s.ledgerCSV)},
		{"DELETE /v1/accounts/{id}", true, s.h(s.deleteAccount)},
		{"GET /v1/accounts/{id}/limits", true, s.h(s.getLimits)},
		{"PUT /v1/accounts/{id}/limits", true, s.h(s.putLimits)},
	}
}

// BillingStore is what the billing area needs of the account store:
// per-prefix prices, top-ups from the parent, the ledger export and
// deleting a sub-account.
type BillingStore interface {
	Prices(ctx context.Context, accountID string) (*accounts.PriceTable, error)
	SetPrices(ctx context.Context, accountID string, prefixes map[string]int64) (*accounts.PriceTable, error)
	TopUp(ctx context.Context, subID string, amount int64, ref, actor string) (parent, sub *accounts.LedgerEntry, err error)
	LedgerPage(ctx context.Context, accountID, before string, limit int) ([]accounts.LedgerEntry, string, error)
	DeleteAccount(ctx context.Context, id, actor string) (*accounts.DeleteResult, error)
	// Sending limits (routes_limits.go).
	Limits(ctx context.Context, accountID string) (*accounts.Limits, error)
	SetLimits(ctx context.Context, accountID string, l accounts.Limits) (*accounts.Limits, error)
}

// pricesBody is the body of PUT /v1/accounts/{id}/prices: the whole prefix
// table, which replaces the stored one.
type pricesBody struct {
	Prefixes map[string]int64 `json:"prefixes"`
}

// getPrices answers the account's price table (flag prices for its own
// members; hidden by hide_pricing).
func (s *server) getPrices(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actPricesView)
	if err != nil {
		return err
	}
	pt, err := s.billing.Prices(r.Context(), acct.ID)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	writeJSON(w, http.StatusOK, pt)
	return nil
}

// putPrices replaces the prefix table: the parent's administrators (on a
// root the operator, through smsgate admin billing), like the default price.
func (s *server) putPrices(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actPrice)
	if err != nil {
		return err
	}
	var in pricesBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Prefixes == nil {
		return badRequest("prefixes: required (an object of prefix to price per part; {} removes every prefix price)")
	}
	pt, err := s.billing.SetPrices(r.Context(), acct.ID, in.Prefixes)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	writeJSON(w, http.StatusOK, pt)
	return nil
}

// checkAmount validates the body of a money move.
func checkAmount(in *transferBody) error {
	in.Ref = strings.TrimSpace(in.Ref)
	switch {
	case in.Amount <= 0:
		return invalid("amount: %d must be a positive number of minor units", in.Amount)
	case in.Amount > maxAmount:
		return invalid("amount: %d is too large", in.Amount)
	case len(in.Ref) > 200:
		return invalid("ref: is longer than 200 characters")
	}
	return accounts.CheckName("ref", in.Ref)
}

// topUp moves credit from the parent to the sub-account {id} (seed 003
// "Can Top Up"): its sub_admin with flag top_up, or the parent's
// administrators. The parent's side of the move (its balance) is shown only
// to the parent's own keys.
func (s *server) topUp(w http.ResponseWriter, r *http.Request) error {
	p, acct, err := s.target(r, actTopUp)
	if err != nil {
		return err
	}
	if acct.ParentID == "" {
		return invalid("id: %s is a parent account; only sub-accounts top up, from their parent", acct.ID)
	}
	var in transferBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := checkAmount(&in); err != nil {
		return err
	}
	pe, se, err := s.billing.TopUp(r.Context(), acct.ID, in.Amount, in.Ref, "key:"+p.key.ID)
	insider := p.acct.ID == acct.ParentID
	switch {
	case errors.Is(err, accounts.ErrInsufficientBalance) && !insider:
		// The parent's balance is not the sub-account's business.
		return problemf(http.StatusUnprocessableEntity, "insufficient-balance",
			"amount: parent account %s cannot fund a top-up of %s", acct.ParentID, accounts.FormatMoney(in.Amount, acct.Currency))
	case err != nil:
		return s.toProblem(r.Context(), err, "account", acct.ParentID)
	}
	if !insider {
		pe = nil
	}
	writeJSON(w, http.StatusOK, transferResult{From: pe, To: se})
	return nil
}

// ledgerCSVPage is how many entries the CSV export reads at a time.
const ledgerCSVPage = 1000

// ledgerCSV streams the whole ledger as CSV, newest first: amounts and
// balances in minor units and formatted with the currency.
func (s *server) ledgerCSV(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actLedger)
	if err != nil {
		return err
	}
	entries, before, err := s.billing.LedgerPage(r.Context(), acct.ID, "", ledgerCSVPage)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="ledger-`+acct.ID+`.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "at", "kind", "amount", "amount_formatted", "balance", "balance_formatted",
		"currency", "ref", "actor"})
	for {
		for _, e := range entries {
			_ = cw.Write([]string{e.ID, e.At.UTC().Format(time.RFC3339Nano), e.Kind,
				strconv.FormatInt(e.Amount, 10), accounts.FormatMoney(e.Amount, ""),
				strconv.FormatInt(e.Balance, 10), accounts.FormatMoney(e.Balance, ""),
				acct.Currency, csvSafe(e.Ref), csvSafe(e.Actor)})
		}
		if before == "" {
			break
		}
		if entries, before, err = s.billing.LedgerPage(r.Context(), acct.ID, before, ledgerCSVPage); err != nil {
			// The header is sent: the truncated file is all the client gets.
			s.log.ErrorContext(r.Context(), "ledger export", "account", acct.ID, "err", err)
			break
		}
	}
	cw.Flush()
	return nil
}

// csvSafe defuses free text that a spreadsheet would run as a formula
// (OWASP "CSV injection"): a leading = + - @ tab or CR gets a quote.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// deleteAccount deletes a sub-account (its parent's administrators): its
// balance goes back to the parent, its domains, addresses and keys are
// released, and it answers 404 from then on. Its records are kept.
func (s *server) deleteAccount(w http.ResponseWriter, r *http.Request) error {
	p, acct, err := s.target(r, actDelete)
	if err != nil {
		return err
	}
	if acct.ParentID == "" {
		return invalid("id: %s is a parent account; only sub-accounts can be deleted", acct.ID)
	}
	res, err := s.billing.DeleteAccount(r.Context(), acct.ID, "key:"+p.key.ID)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
