package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// automationRoutes are the routes of automation rules (seed 000 "Create
// Automation Rules": sub-account administrators, and the parent's
// administrators on a child). Every route authorises actAutomation on the
// account of the path; a rule of another account answers 404.
func (s *server) automationRoutes() []route {
	const base = "/v1/accounts/{id}/automations"
	return []route{
		{"GET " + base, true, s.h(s.listAutomations)},
		{"POST " + base, true, s.h(s.createAutomation)},
		{"GET " + base + "/{rule}", true, s.h(s.getAutomation)},
		{"PATCH " + base + "/{rule}", true, s.h(s.patchAutomation)},
		{"DELETE " + base + "/{rule}", true, s.h(s.deleteAutomation)},
	}
}

// AutomationStore is what the automation area needs of the account store:
// an account's automation rules.
type AutomationStore interface {
	CreateAutomation(ctx context.Context, accountID string, a accounts.Automation) (*accounts.Automation, error)
	ListAutomations(ctx context.Context, accountID string) ([]accounts.Automation, error)
	GetAutomation(ctx context.Context, accountID, id string) (*accounts.Automation, error)
	UpdateAutomation(ctx context.Context, accountID, id string, p accounts.AutomationPatch) (*accounts.Automation, error)
	DeleteAutomation(ctx context.Context, accountID, id string) error
}

// Bodies of this area's routes.
type (
	automationBody struct {
		Name      string   `json:"name"`
		Kind      string   `json:"kind"`
		Keyword   string   `json:"keyword"`
		Text      string   `json:"text"`
		ForwardTo []string `json:"forward_to"`
		Notify    string   `json:"notify"`
		Enabled   *bool    `json:"enabled"` // default true
	}
	automationPatch struct {
		Name      *string   `json:"name"`
		Kind      *string   `json:"kind"` // may only repeat the rule's kind
		Keyword   *string   `json:"keyword"`
		Text      *string   `json:"text"`
		ForwardTo *[]string `json:"forward_to"`
		Notify    *string   `json:"notify"`
		Enabled   *bool     `json:"enabled"`
	}
	automationList struct {
		Automations []accounts.Automation `json:"automations"`
	}
)

// automationProblem maps the store's errors; id is the rule of the path.
func (s *server) automationProblem(ctx context.Context, err error, accountID, id string) *Problem {
	switch {
	case errors.Is(err, accounts.ErrNotFound) && id != "":
		return notFound("automation rule", id)
	}
	return s.toProblem(ctx, err, "account", accountID)
}

func (s *server) listAutomations(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actAutomation)
	if err != nil {
		return err
	}
	rules, err := s.automations.ListAutomations(r.Context(), acct.ID)
	if err != nil {
		return s.automationProblem(r.Context(), err, acct.ID, "")
	}
	if rules == nil {
		rules = []accounts.Automation{}
	}
	writeJSON(w, http.StatusOK, automationList{Automations: rules})
	return nil
}

func (s *server) createAutomation(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actAutomation)
	if err != nil {
		return err
	}
	var in automationBody
	if err := decode(r, &in); err != nil {
		return err
	}
	a := accounts.Automation{Name: in.Name, Kind: in.Kind, Keyword: in.Keyword, Text: in.Text,
		ForwardTo: in.ForwardTo, Notify: in.Notify, Enabled: in.Enabled == nil || *in.Enabled}
	got, err := s.automations.CreateAutomation(r.Context(), acct.ID, a)
	if err != nil {
		return s.automationProblem(r.Context(), err, acct.ID, "")
	}
	w.Header().Set("Location", "/v1/accounts/"+acct.ID+"/automations/"+got.ID)
	writeJSON(w, http.StatusCreated, got)
	return nil
}

func (s *server) getAutomation(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actAutomation)
	if err != nil {
		return err
	}
	id := r.PathValue("rule")
	got, err := s.automations.GetAutomation(r.Context(), acct.ID, id)
	if err != nil {
		return s.automationProblem(r.Context(), err, acct.ID, id)
	}
	writeJSON(w, http.StatusOK, got)
	return nil
}

func (s *server) patchAutomation(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actAutomation)
	if err != nil {
		return err
	}
	id := r.PathValue("rule")
	var in automationPatch
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Kind != nil {
		cur, err := s.automations.GetAutomation(r.Context(), acct.ID, id)
		if err != nil {
			return s.automationProblem(r.Context(), err, acct.ID, id)
		}
		if strings.TrimSpace(*in.Kind) != cur.Kind {
			return invalid("kind: cannot change from %s to %q; create a new rule", cur.Kind, *in.Kind)
		}
	}
	got, err := s.automations.UpdateAutomation(r.Context(), acct.ID, id, accounts.AutomationPatch{Name: in.Name, Keyword: in.Keyword,
		Text: in.Text, ForwardTo: in.ForwardTo, Notify: in.Notify, Enabled: in.Enabled})
	if err != nil {
		return s.automationProblem(r.Context(), err, acct.ID, id)
	}
	writeJSON(w, http.StatusOK, got)
	return nil
}

func (s *server) deleteAutomation(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actAutomation)
	if err != nil {
		return err
	}
	id := r.PathValue("rule")
	if err := s.automations.DeleteAutomation(r.Context(), acct.ID, id); err != nil {
		return s.automationProblem(r.Context(), err, acct.ID, id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
