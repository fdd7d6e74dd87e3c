package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/router"
)

// templateRoutes are the routes of message templates. An
// account's templates are listed with its parent's, which are shared with
// every sub-account read-only (seed 001); {tpl} is a template id or name.
// Any member (and the parent's administrators) reads them; sub_admin and up
// manage them (actTemplates). Sending with one: POST /v1/messages with
// "template", or a mail whose subject is "template: <name>".
func (s *server) templateRoutes() []route {
	return []route{
		{"GET /v1/accounts/{id}/templates", true, s.h(s.listTemplates)},
		{"POST /v1/accounts/{id}/templates", true, s.h(s.createTemplate)},
		{"GET /v1/accounts/{id}/templates/{tpl}", true, s.h(s.getTemplate)},
		{"PATCH /v1/accounts/{id}/templates/{tpl}", true, s.h(s.patchTemplate)},
		{"DELETE /v1/accounts/{id}/templates/{tpl}", true, s.h(s.deleteTemplate)},
	}
}

// TemplateStore is what the templates area needs of the account store:
// an account's message templates.
type TemplateStore interface {
	CreateTemplate(ctx context.Context, accountID, name, body string) (*accounts.Template, error)
	UpdateTemplate(ctx context.Context, accountID, id string, u accounts.TemplateUpdate) (*accounts.Template, error)
	DeleteTemplate(ctx context.Context, accountID, id string) error
	LookupTemplate(ctx context.Context, accountID, ref string) (*accounts.Template, error)
	ListTemplates(ctx context.Context, accountID string) ([]accounts.TemplateListing, error)
}

// templateBody is the body of POST and PATCH; PATCH leaves absent fields.
type templateBody struct {
	Name *string `json:"name"`
	Body *string `json:"body"`
}

// templateList is the answer of the list route.
type templateList struct {
	AccountID string                     `json:"account_id"`
	Templates []accounts.TemplateListing `json:"templates"`
}

// templateProblem maps the store's template errors: a taken name is a 409,
// A missing template a 404 naming the reference.
func (s *server) templateProblem(ctx context.Context, err error, acct *accounts.Account, ref string) *Problem {
	switch {
	case errors.Is(err, accounts.ErrTemplateNameTaken):
		return problemf(http.StatusConflict, "template-name-taken",
			"name: another template of account %s is already named %q (names are case-insensitive)", acct.ID, ref)
	case errors.Is(err, accounts.ErrNotFound):
		return notFound("template", ref)
	}
	return s.toProblem(ctx, err, "account", acct.ID)
}

func (s *server) listTemplates(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actRead)
	if err != nil {
		return err
	}
	list, err := s.templates.ListTemplates(r.Context(), acct.ID)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	writeJSON(w, http.StatusOK, templateList{AccountID: acct.ID, Templates: list})
	return nil
}

func (s *server) createTemplate(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actTemplates)
	if err != nil {
		return err
	}
	var in templateBody
	if err := decode(r, &in); err != nil {
		return err
	}
	switch {
	case in.Name == nil:
		return invalid("name: required")
	case in.Body == nil:
		return invalid("body: required")
	}
	t, err := s.templates.CreateTemplate(r.Context(), acct.ID, *in.Name, *in.Body)
	if err != nil {
		return s.templateProblem(r.Context(), err, acct, *in.Name)
	}
	writeJSON(w, http.StatusCreated, accounts.TemplateListing{Template: *t})
	return nil
}

// lookupTemplate finds {tpl} as the target account sees it (its own, then
// its parent's).
func (s *server) lookupTemplate(r *http.Request, acct *accounts.Account) (*accounts.Template, error) {
	ref := r.PathValue("tpl")
	t, err := s.templates.LookupTemplate(r.Context(), acct.ID, ref)
	if err != nil {
		return nil, s.templateProblem(r.Context(), err, acct, ref)
	}
	return t, nil
}

func (s *server) getTemplate(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actRead)
	if err != nil {
		return err
	}
	t, err := s.lookupTemplate(r, acct)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, accounts.TemplateListing{Template: *t, Inherited: t.AccountID != acct.ID})
	return nil
}

// ownTemplate finds {tpl} for a change: a parent's template seen from a
// sub-account is read-only there (403 that says how to shadow it).
func (s *server) ownTemplate(r *http.Request) (*accounts.Account, *accounts.Template, error) {
	_, acct, err := s.target(r, actTemplates)
	if err != nil {
		return nil, nil, err
	}
	t, err := s.lookupTemplate(r, acct)
	if err != nil {
		return nil, nil, err
	}
	if t.AccountID != acct.ID {
		return nil, nil, forbidden("template %s (%q) belongs to parent account %s and is shared read-only with "+
			"sub-account %s; change it on %s, or create a template of the same name on %s to shadow it",
			t.ID, t.Name, t.AccountID, acct.ID, t.AccountID, acct.ID)
	}
	return acct, t, nil
}

func (s *server) patchTemplate(w http.ResponseWriter, r *http.Request) error {
	acct, t, err := s.ownTemplate(r)
	if err != nil {
		return err
	}
	var in templateBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Name == nil && in.Body == nil {
		return invalid("body: give name, body or both")
	}
	updated, err := s.templates.UpdateTemplate(r.Context(), acct.ID, t.ID, accounts.TemplateUpdate{Name: in.Name, Body: in.Body})
	if err != nil {
		ref := t.ID
		if in.Name != nil && errors.Is(err, accounts.ErrTemplateNameTaken) {
			ref = *in.Name
		}
		return s.templateProblem(r.Context(), err, acct, ref)
	}
	writeJSON(w, http.StatusOK, accounts.TemplateListing{Template: *updated})
	return nil
}

func (s *server) deleteTemplate(w http.ResponseWriter, r *http.Request) error {
	acct, t, err := s.ownTemplate(r)
	if err != nil {
		return err
	}
	if err := s.templates.DeleteTemplate(r.Context(), acct.ID, t.ID); err != nil {
		return s.templateProblem(r.Context(), err, acct, t.ID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// templateSendProblem maps the refusals of a send with a template that
// concern the template (nil for the others): 422 no-template, or empty
// when the filled template has no text for a number.
func templateSendProblem(err error, name string) *Problem {
	var te *router.TemplateError
	switch {
	case errors.As(err, &te):
		return problemf(http.StatusUnprocessableEntity, "no-template", "template: %s", te.Error())
	case errors.Is(err, router.ErrNoTemplate):
		return problemf(http.StatusUnprocessableEntity, "no-template", "template: %q not found", name)
	case errors.Is(err, router.ErrEmpty):
		return problemf(http.StatusUnprocessableEntity, "empty",
			"template: %q filled for one of the numbers has no text (give text for {{body}}, or defaults)", name)
	}
	return nil
}
