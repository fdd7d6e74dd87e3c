package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/smsgate/smsgate/accounts"
)

// statsRoutes are the routes of statistics and their export.
func (s *server) statsRoutes() []route {
	return []route{
		{"GET /v1/accounts/{id}/stats", true, s.h(s.statsReport(false))},
		{"GET /v1/accounts/{id}/stats.csv", true, s.h(s.statsReport(true))},
	}
}

// StatsStore is what the statistics area needs of the account store: an
// account's statistics, and a root's per-sub-account report.
type StatsStore interface {
	Stats(ctx context.Context, accountID string, from, to time.Time, sender string) (*accounts.Stats, error)
	StatsAccounts(ctx context.Context, ids []string, from, to time.Time) ([]accounts.StatsRow, error)
	ListSubAccounts(ctx context.Context, parentID string) ([]*accounts.Account, error)
}

// statsDefaultDays is the period of a report that names no from: the 30
// days up to to.
const statsDefaultDays = 30

// statsResponse is the body of GET /v1/accounts/{id}/stats.
type statsResponse struct {
	AccountID string              `json:"account_id"`
	From      string              `json:"from"` // first day, YYYY-MM-DD (UTC)
	To        string              `json:"to"`   // last day, inclusive
	By        string              `json:"by"`   // day, sender, day_sender or account
	Sender    string              `json:"sender,omitempty"`
	Rows      []accounts.StatsRow `json:"rows"`
	Total     accounts.StatsRow   `json:"total"`
}

// statsParams reads from, to (UTC days, both inclusive; default the 30 days
// up to today), by and subaccounts.
func statsParams(r *http.Request, now time.Time) (from, to time.Time, by string, subs bool, err error) {
	v := r.URL.Query()
	day := func(name string, def time.Time) (time.Time, error) {
		s := v.Get(name)
		if s == "" {
			return def, nil
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return time.Time{}, badRequest("%s: %q is not a date (YYYY-MM-DD, UTC)", name, s)
		}
		return t, nil
	}
	today := now.UTC().Truncate(24 * time.Hour)
	if to, err = day("to", today); err != nil {
		return
	}
	if from, err = day("from", to.AddDate(0, 0, 1-statsDefaultDays)); err != nil {
		return
	}
	switch {
	case to.Before(from):
		err = badRequest("to: %s is before from %s", to.Format(time.DateOnly), from.Format(time.DateOnly))
		return
	case accounts.StatsDay(to)-accounts.StatsDay(from) >= accounts.StatsMaxDays:
		err = badRequest("to: the period from %s to %s is longer than %d days", from.Format(time.DateOnly),
			to.Format(time.DateOnly), accounts.StatsMaxDays)
		return
	}
	if sv := v.Get("subaccounts"); sv != "" {
		if subs, err = strconv.ParseBool(sv); err != nil {
			err = badRequest("subaccounts: %q must be true or false", sv)
			return
		}
	}
	by = v.Get("by")
	switch {
	case subs && by != "" && by != "account":
		err = badRequest("by: %q does not go with subaccounts=true, whose rows are per account", by)
	case subs:
		by = "account"
	case by == "":
		by = "day"
	case by != "day" && by != "sender" && by != "day_sender":
		err = badRequest("by: %q must be day, sender or day_sender", by)
	}
	return
}

// statsReport serves an account's statistics, as JSON or (export) CSV. A basic
// user gets their own; with subaccounts=true a root's parent_admin gets one
// row per sub-account (seed 004 "full statistics per user", seed 002
// "per-subaccount usage reporting").
func (s *server) statsReport(export bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		act := actStats
		if export {
			act = actStatsExport
		}
		p, acct, err := s.target(r, act) // first, so that another tenant's account is a 404 whatever else is wrong
		if err != nil {
			return err
		}
		if export {
			if err := noBasicExport(p, "statistics"); err != nil {
				return err
			}
		}
		from, to, by, subs, err := statsParams(r, time.Now())
		if err != nil {
			return err
		}
		sender := strings.TrimSpace(r.URL.Query().Get("sender"))
		if own := ownOnly(p, actStats); own != "" {
			if sender != "" && !strings.EqualFold(sender, own) {
				return forbidden("sender: a basic user sees only their own statistics (%s), not %s's", own, sender)
			}
			sender = own
		}
		var res *statsResponse
		if subs {
			if sender != "" {
				return badRequest("sender: does not go with subaccounts=true")
			}
			res, err = s.subStats(r, p, acct, from, to)
		} else {
			res, err = s.accountStats(r.Context(), acct, from, to, by, sender)
		}
		if err != nil {
			return err
		}
		if export {
			statsCSV(w, res)
			return nil
		}
		writeJSON(w, http.StatusOK, res)
		return nil
	}
}

// accountStats is one account's report, its rows chosen by by.
func (s *server) accountStats(ctx context.Context, acct *accounts.Account, from, to time.Time, by, sender string) (*statsResponse, error) {
	st, err := s.stats.Stats(ctx, acct.ID, from, to, sender)
	if err != nil {
		return nil, s.queryProblem(ctx, err, acct.ID)
	}
	res := &statsResponse{AccountID: acct.ID, From: st.From, To: st.To, By: by, Sender: sender, Total: st.Total}
	switch by {
	case "sender":
		res.Rows = st.Senders
	case "day_sender":
		res.Rows = st.Rows
	default:
		res.Rows = st.Days
	}
	return res, nil
}

// subStats is a root's report with one row per sub-account: only a
// parent_admin of that root may have it.
func (s *server) subStats(r *http.Request, p principal, acct *accounts.Account, from, to time.Time) (*statsResponse, error) {
	if acct.ParentID != "" || p.acct.ID != acct.ID || p.key.Role != accounts.RoleParentAdmin {
		return nil, forbidden("subaccounts: only a parent account's parent_admin sees its sub-accounts' statistics")
	}
	subs, err := s.stats.ListSubAccounts(r.Context(), acct.ID)
	if err != nil {
		return nil, s.toProblem(r.Context(), err, "account", acct.ID)
	}
	ids := make([]string, len(subs))
	for i, a := range subs {
		ids[i] = a.ID
	}
	rows, err := s.stats.StatsAccounts(r.Context(), ids, from, to)
	if err != nil {
		return nil, s.queryProblem(r.Context(), err, acct.ID)
	}
	res := &statsResponse{AccountID: acct.ID, From: from.Format(time.DateOnly), To: to.Format(time.DateOnly),
		By: "account", Rows: rows}
	for i := range rows {
		rows[i].Name = subs[i].Name
		res.Total.Messages += rows[i].Messages
		res.Total.Parts += rows[i].Parts
		res.Total.Cost += rows[i].Cost
		res.Total.Delivered += rows[i].Delivered
		res.Total.Failed += rows[i].Failed
		res.Total.Undeliverable += rows[i].Undeliverable
		res.Total.Expired += rows[i].Expired
		res.Total.Rejected += rows[i].Rejected
	}
	return res, nil
}

// statsCSV writes a report as CSV: one line per row, then the total.
func statsCSV(w http.ResponseWriter, res *statsResponse) {
	cw := csvStart(w, "stats-"+res.AccountID+"-"+res.From+"-"+res.To+".csv", []string{"day", "sender", "account_id",
		"name", "messages", "parts", "cost", "delivered", "failed", "undeliverable", "expired", "rejected"})
	line := func(r accounts.StatsRow) {
		n := func(v int64) string { return strconv.FormatInt(v, 10) }
		_ = cw.Write([]string{r.Day, cell(r.Sender), r.AccountID, cell(r.Name), n(r.Messages), n(r.Parts), n(r.Cost),
			n(r.Delivered), n(r.Failed), n(r.Undeliverable), n(r.Expired), n(r.Rejected)})
	}
	for _, r := range res.Rows {
		line(r)
	}
	total := res.Total
	total.Day, total.Sender, total.AccountID, total.Name = "total", "", "", ""
	line(total)
	cw.Flush()
}
