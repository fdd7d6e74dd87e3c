package api

import (
	"context"
	"net/http"

	"github.com/smsgate/smsgate/accounts"
)

// policyRoutes are the routes of an account's sender policy: which
// unauthenticated mail from its registered senders it accepts (networks,
// SPF, DKIM). SMTP AUTH always authorises.
func (s *server) policyRoutes() []route {
	return []route{
		{"GET /v1/accounts/{id}/sender-policy", true, s.h(s.getSenderPolicy)},
		{"PUT /v1/accounts/{id}/sender-policy", true, s.h(s.putSenderPolicy)},
	}
}

// PolicyStore is what the sender-policy area needs of the account store.
type PolicyStore interface {
	SenderPolicy(ctx context.Context, accountID string) (*accounts.PolicyView, error)
	// SetSenderPolicy stores the account's own policy; nil inherits.
	SetSenderPolicy(ctx context.Context, accountID string, p *accounts.SenderPolicy) (*accounts.PolicyView, error)
}

// policyBody is the body of PUT /v1/accounts/{id}/sender-policy: the whole
// policy, or {"inherit": true} to drop the account's own and use its
// parent's (or, for a root account, the default).
type policyBody struct {
	Networks []string `json:"networks"`
	SPF      *bool    `json:"spf"`
	DKIM     *bool    `json:"dkim"`
	Inherit  bool     `json:"inherit"`
}

// getSenderPolicy answers the policy in force and where it comes from:
// any member, and the parent's administrators on a sub-account (actRead).
func (s *server) getSenderPolicy(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actRead)
	if err != nil {
		return err
	}
	v, err := s.policies.SenderPolicy(r.Context(), acct.ID)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// putSenderPolicy replaces the account's own policy: those who manage its
// email-to-SMS registrations (actRegistrations: sub_admin and up, and the
// parent's administrators on a sub-account).
func (s *server) putSenderPolicy(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actRegistrations)
	if err != nil {
		return err
	}
	var in policyBody
	if err := decode(r, &in); err != nil {
		return err
	}
	var p *accounts.SenderPolicy
	switch {
	case in.Inherit && (in.Networks != nil || in.SPF != nil || in.DKIM != nil):
		return invalid("inherit: give either inherit or networks, spf and dkim, not both")
	case !in.Inherit:
		if in.SPF == nil || in.DKIM == nil || in.Networks == nil {
			return invalid("networks, spf and dkim are all required (the whole policy), or inherit: true")
		}
		nets, err := accounts.ParseNetworks(in.Networks)
		if err != nil {
			return s.toProblem(r.Context(), err, "account", acct.ID)
		}
		p = &accounts.SenderPolicy{Networks: nets, SPF: *in.SPF, DKIM: *in.DKIM}
	}
	v, err := s.policies.SetSenderPolicy(r.Context(), acct.ID, p)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
