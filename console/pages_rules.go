package console

import (
	"net/http"
	"strings"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/webhook"
)

// templatesData is the templates page's data.
type templatesData struct {
	Templates []accounts.TemplateListing
	Manage    bool
}

// templates lists the account's templates (and its parent's, inherited).
func (c *Console) templates(w http.ResponseWriter, r *http.Request, s *session) error {
	var tl struct {
		Templates []accounts.TemplateListing `json:"templates"`
	}
	if err := c.api.call(r, s.secret, "GET", "/v1/accounts/"+esc(s.me.Account.ID)+"/templates", nil, nil, &tl); err != nil {
		return err
	}
	return c.show(w, r, s, http.StatusOK, "templates", "Templates", "templates", templatesData{Templates: tl.Templates, Manage: s.may("templates")})
}

// templateAction creates, changes or deletes a template.
func (c *Console) templateAction(w http.ResponseWriter, r *http.Request, s *session) error {
	base := "/v1/accounts/" + esc(s.me.Account.ID) + "/templates"
	name, body := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("body")
	switch r.PathValue("op") {
	case "create":
		if err := c.api.call(r, s.secret, "POST", base, nil, map[string]string{"name": name, "body": body}, nil); err != nil {
			return err
		}
		return c.done(w, r, "/templates", "Template "+name+" saved.")
	case "update":
		if err := c.api.call(r, s.secret, "PATCH", base+"/"+esc(r.PostFormValue("template")), nil, map[string]string{"name": name, "body": body}, nil); err != nil {
			return err
		}
		return c.done(w, r, "/templates", "Template "+name+" saved.")
	case "delete":
		if err := c.api.call(r, s.secret, "DELETE", base+"/"+esc(r.PostFormValue("template")), nil, nil, nil); err != nil {
			return err
		}
		return c.done(w, r, "/templates", "Template deleted.")
	}
	return badForm("there is no such action")
}

// optOutsData is the opt-outs page's data.
type optOutsData struct {
	OptOuts     []accounts.OptOut
	ListOwner   string
	Shared      bool
	Resubscribe bool
}

// optOuts lists the numbers that opted out (the account's list, or its
// parent's when shared), with resubscribe for its administrators.
func (c *Console) optOuts(w http.ResponseWriter, r *http.Request, s *session) error {
	var ol struct {
		ListOwner string            `json:"list_owner"`
		Shared    bool              `json:"shared"`
		OptOuts   []accounts.OptOut `json:"optouts"`
	}
	if err := c.api.call(r, s.secret, "GET", "/v1/accounts/"+esc(s.me.Account.ID)+"/optouts", nil, nil, &ol); err != nil {
		return err
	}
	d := optOutsData{OptOuts: ol.OptOuts, ListOwner: ol.ListOwner, Shared: ol.Shared, Resubscribe: s.may("resubscribe")}
	return c.show(w, r, s, http.StatusOK, "optouts", "Opt-outs", "optouts", d)
}

// optOutAction adds a number to the list, or resubscribes one.
func (c *Console) optOutAction(w http.ResponseWriter, r *http.Request, s *session) error {
	base := "/v1/accounts/" + esc(s.me.Account.ID) + "/optouts"
	switch r.PathValue("op") {
	case "add":
		body := map[string]string{"number": r.PostFormValue("number"), "reason": strings.TrimSpace(r.PostFormValue("reason"))}
		if err := c.api.call(r, s.secret, "POST", base, nil, body, nil); err != nil {
			return err
		}
		return c.done(w, r, "/optouts", "The number will get no more messages.")
	case "resubscribe":
		if err := c.api.call(r, s.secret, "DELETE", base+"/"+esc(r.PostFormValue("number")), nil, nil, nil); err != nil {
			return err
		}
		return c.done(w, r, "/optouts", "Resubscribed.")
	}
	return badForm("there is no such action")
}

// webhooksData is the webhooks page's data.
type webhooksData struct {
	Webhooks  []*webhook.Webhook
	NewSecret string // shown once
	Events    []string
}

// webhooks lists the account's webhooks.
func (c *Console) webhooks(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.webhooksPage(w, r, s, http.StatusOK, "")
}

func (c *Console) webhooksPage(w http.ResponseWriter, r *http.Request, s *session, status int, secret string) error {
	if !s.may("webhooks") {
		return forbidden("manage webhooks")
	}
	var wl struct {
		Webhooks []*webhook.Webhook `json:"webhooks"`
	}
	if err := c.api.call(r, s.secret, "GET", "/v1/accounts/"+esc(s.me.Account.ID)+"/webhooks", nil, nil, &wl); err != nil {
		return err
	}
	return c.show(w, r, s, status, "webhooks", "Webhooks", "webhooks", webhooksData{Webhooks: wl.Webhooks, NewSecret: secret, Events: webhook.Types()})
}

// webhookAction creates (the signing secret shown once), tests, enables,
// rotates or deletes a webhook.
func (c *Console) webhookAction(w http.ResponseWriter, r *http.Request, s *session) error {
	base := "/v1/accounts/" + esc(s.me.Account.ID) + "/webhooks"
	id := r.PostFormValue("webhook")
	var out struct {
		Secret string `json:"secret"`
	}
	switch r.PathValue("op") {
	case "create":
		body := map[string]any{"url": strings.TrimSpace(r.PostFormValue("url")), "events": r.PostForm["events"]}
		if err := c.api.call(r, s.secret, "POST", base, nil, body, &out); err != nil {
			return err
		}
		return c.webhooksPage(w, r, s, http.StatusCreated, out.Secret)
	case "rotate":
		if err := c.api.call(r, s.secret, "POST", base+"/"+esc(id)+"/rotate-secret", nil, nil, &out); err != nil {
			return err
		}
		return c.webhooksPage(w, r, s, http.StatusOK, out.Secret)
	case "test":
		if err := c.api.call(r, s.secret, "POST", base+"/"+esc(id)+"/test", nil, nil, nil); err != nil {
			return err
		}
		return c.done(w, r, "/webhooks/"+esc(id), "A test event is on its way.")
	case "enable":
		if err := c.api.call(r, s.secret, "POST", base+"/"+esc(id)+"/enable", nil, nil, nil); err != nil {
			return err
		}
		return c.done(w, r, "/webhooks", "Webhook enabled.")
	case "delete":
		if err := c.api.call(r, s.secret, "DELETE", base+"/"+esc(id), nil, nil, nil); err != nil {
			return err
		}
		return c.done(w, r, "/webhooks", "Webhook deleted.")
	}
	return badForm("there is no such action")
}

// webhookData is a webhook's page: its delivery log.
type webhookData struct {
	Webhook    webhook.Webhook
	Deliveries []webhook.Attempt
}

// webhookLog shows a webhook and its latest delivery attempts.
func (c *Console) webhookLog(w http.ResponseWriter, r *http.Request, s *session) error {
	if !s.may("webhooks") {
		return forbidden("manage webhooks")
	}
	base := "/v1/accounts/" + esc(s.me.Account.ID) + "/webhooks/" + esc(r.PathValue("wh"))
	var d webhookData
	if err := c.api.call(r, s.secret, "GET", base, nil, nil, &d.Webhook); err != nil {
		return err
	}
	var dl struct {
		Deliveries []webhook.Attempt `json:"deliveries"`
	}
	if err := c.api.call(r, s.secret, "GET", base+"/deliveries", nil, nil, &dl); err != nil {
		return err
	}
	d.Deliveries = dl.Deliveries
	return c.show(w, r, s, http.StatusOK, "webhook", "Webhook "+d.Webhook.ID, "webhooks", d)
}
