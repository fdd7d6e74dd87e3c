package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/smsgate/smsgate/webhook"
)

// WebhookService is what the API needs of *webhook.Service: managing an
// account's webhooks and reading their delivery logs. Every method is
// scoped by account id, so another account's webhook is not found.
type WebhookService interface {
	Create(ctx context.Context, accountID, url string, events []string) (*webhook.Webhook, string, error)
	List(ctx context.Context, accountID string) ([]*webhook.Webhook, error)
	Get(ctx context.Context, accountID, id string) (*webhook.Webhook, error)
	Delete(ctx context.Context, accountID, id string) error
	Enable(ctx context.Context, accountID, id string) (*webhook.Webhook, error)
	RotateSecret(ctx context.Context, accountID, id string) (*webhook.Webhook, string, error)
	Test(ctx context.Context, accountID, id string) (eventID string, err error)
	Deliveries(ctx context.Context, accountID, id string, limit int) ([]webhook.Attempt, error)
}

var _ WebhookService = (*webhook.Service)(nil)

// webhookRoutes are the routes of this area. Every route authorises
// actWebhooks on the account of the path.
func (s *server) webhookRoutes() []route {
	const base = "/v1/accounts/{id}/webhooks"
	return []route{
		{"GET " + base, true, s.h(s.listWebhooks)},
		{"POST " + base, true, s.h(s.createWebhook)},
		{"GET " + base + "/{wh}", true, s.h(s.getWebhook)},
		{"DELETE " + base + "/{wh}", true, s.h(s.deleteWebhook)},
		{"POST " + base + "/{wh}/enable", true, s.h(s.enableWebhook)},
		{"POST " + base + "/{wh}/rotate-secret", true, s.h(s.rotateWebhookSecret)},
		{"POST " + base + "/{wh}/test", true, s.h(s.testWebhook)},
		{"GET " + base + "/{wh}/deliveries", true, s.h(s.webhookDeliveries)},
	}
}

// webhookBody is the body of POST /v1/accounts/{id}/webhooks.
type webhookBody struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// newWebhook answers a creation or a secret rotation: the only times the
// secret is shown.
type newWebhook struct {
	Secret  string           `json:"secret"`
	Webhook *webhook.Webhook `json:"webhook"`
}

// webhookList is the body of GET /v1/accounts/{id}/webhooks.
type webhookList struct {
	Webhooks []*webhook.Webhook `json:"webhooks"`
}

// deliveryList is the body of GET .../webhooks/{wh}/deliveries.
type deliveryList struct {
	Deliveries []webhook.Attempt `json:"deliveries"`
}

// testResult is the body of POST .../webhooks/{wh}/test.
type testResult struct {
	EventID string `json:"event_id"`
}

// webhookTarget authorises the request on its account and returns the
// account id, or a problem when the instance runs no webhook service.
func (s *server) webhookTarget(r *http.Request) (string, error) {
	_, acct, err := s.target(r, actWebhooks)
	if err != nil {
		return "", err
	}
	if s.webhooks == nil {
		return "", problemf(http.StatusServiceUnavailable, "unavailable", "webhooks are not enabled on this instance")
	}
	return acct.ID, nil
}

// webhookProblem maps the webhook package's errors; id is the webhook of
// the path (empty for creation).
func (s *server) webhookProblem(ctx context.Context, err error, accountID, id string) *Problem {
	switch {
	case errors.Is(err, webhook.ErrNotFound) && id != "":
		return notFound("webhook", id)
	case errors.Is(err, webhook.ErrNotFound):
		return notFound("account", accountID)
	case errors.Is(err, webhook.ErrInvalid):
		// The message names the field: "invalid webhook: url: ...".
		return invalid("%s", strings.TrimPrefix(err.Error(), webhook.ErrInvalid.Error()+": "))
	case errors.Is(err, webhook.ErrLimit):
		return problemf(http.StatusConflict, "quota-exceeded", "%s",
			strings.Replace(strings.TrimPrefix(err.Error(), webhook.ErrLimit.Error()+": "), "account has", "account "+accountID+" has", 1))
	}
	return s.toProblem(ctx, err, "account", accountID)
}

func (s *server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	acct, err := s.webhookTarget(r)
	if err != nil {
		return err
	}
	hooks, err := s.webhooks.List(r.Context(), acct)
	if err != nil {
		return s.webhookProblem(r.Context(), err, acct, "")
	}
	if hooks == nil {
		hooks = []*webhook.Webhook{}
	}
	writeJSON(w, http.StatusOK, webhookList{Webhooks: hooks})
	return nil
}

func (s *server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	acct, err := s.webhookTarget(r)
	if err != nil {
		return err
	}
	var in webhookBody
	if err := decode(r, &in); err != nil {
		return err
	}
	hook, secret, err := s.webhooks.Create(r.Context(), acct, in.URL, in.Events)
	if err != nil {
		return s.webhookProblem(r.Context(), err, acct, "")
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", "/v1/accounts/"+acct+"/webhooks/"+hook.ID)
	writeJSON(w, http.StatusCreated, newWebhook{Secret: secret, Webhook: hook})
	return nil
}

func (s *server) getWebhook(w http.ResponseWriter, r *http.Request) error {
	acct, err := s.webhookTarget(r)
	if err != nil {
		return err
	}
	id := r.PathValue("wh")
	hook, err := s.webhooks.Get(r.Context(), acct, id)
	if err != nil {
		return s.webhookProblem(r.Context(), err, acct, id)
	}
	writeJSON(w, http.StatusOK, hook)
	return nil
}

func (s *server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	acct, err := s.webhookTarget(r)
	if err != nil {
		return err
	}
	id := r.PathValue("wh")
	if err := s.webhooks.Delete(r.Context(), acct, id); err != nil {
		return s.webhookProblem(r.Context(), err, acct, id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) enableWebhook(w http.ResponseWriter, r *http.Request) error {
	acct, err := s.webhookTarget(r)
	if err != nil {
		return err
	}
	id := r.PathValue("wh")
	hook, err := s.webhooks.Enable(r.Context(), acct, id)
	if err != nil {
		return s.webhookProblem(r.Context(), err, acct, id)
	}
	writeJSON(w, http.StatusOK, hook)
	return nil
}

func (s *server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	acct, err := s.webhookTarget(r)
	if err != nil {
		return err
	}
	id := r.PathValue("wh")
	hook, secret, err := s.webhooks.RotateSecret(r.Context(), acct, id)
	if err != nil {
		return s.webhookProblem(r.Context(), err, acct, id)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, newWebhook{Secret: secret, Webhook: hook})
	return nil
}

func (s *server) testWebhook(w http.ResponseWriter, r *http.Request) error {
	acct, err := s.webhookTarget(r)
	if err != nil {
		return err
	}
	id := r.PathValue("wh")
	evID, err := s.webhooks.Test(r.Context(), acct, id)
	if err != nil {
		return s.webhookProblem(r.Context(), err, acct, id)
	}
	writeJSON(w, http.StatusAccepted, testResult{EventID: evID})
	return nil
}

func (s *server) webhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	acct, err := s.webhookTarget(r)
	if err != nil {
		return err
	}
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	id := r.PathValue("wh")
	log, err := s.webhooks.Deliveries(r.Context(), acct, id, limit)
	if err != nil {
		return s.webhookProblem(r.Context(), err, acct, id)
	}
	if log == nil {
		log = []webhook.Attempt{}
	}
	writeJSON(w, http.StatusOK, deliveryList{Deliveries: log})
	return nil
}
