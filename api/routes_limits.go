package api

import (
	"net/http"

	"github.com/smsgate/smsgate/accounts"
)

// limitsBody is the body of PUT /v1/accounts/{id}/limits: every limit,
// replacing the stored ones (0 or absent: unlimited).
type limitsBody struct {
	PerMinute   *int64 `json:"per_minute"`
	PartsPerDay *int64 `json:"parts_per_day"`
	SpendPerDay *int64 `json:"spend_per_day"`
}

// getLimits answers the account's sending limits: any member, and the
// parent's administrators on a sub-account (actRead).
func (s *server) getLimits(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actRead)
	if err != nil {
		return err
	}
	l, err := s.billing.Limits(r.Context(), acct.ID)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

// putLimits replaces the account's sending limits (actLimits): like its
// price, a sub-account's limits are set by its parent's
// administrators, so a sub-account can neither raise its own spend cap nor
// lift its rate.
func (s *server) putLimits(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actLimits)
	if err != nil {
		return err
	}
	var in limitsBody
	if err := decode(r, &in); err != nil {
		return err
	}
	var l accounts.Limits
	for _, f := range []struct {
		v   *int64
		dst *int64
	}{{in.PerMinute, &l.PerMinute}, {in.PartsPerDay, &l.PartsPerDay}, {in.SpendPerDay, &l.SpendPerDay}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if err := l.Validate(); err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	out, err := s.billing.SetLimits(r.Context(), acct.ID, l)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
