package console

import (
	"net/http"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// automations lists the account's automation rules: auto-replies by
// keyword, forwards of replies, receipt notices.
func (c *Console) automations(w http.ResponseWriter, r *http.Request, s *session) error {
	if !s.may("automation") {
		return forbidden("manage automation rules")
	}
	var al struct {
		Automations []accounts.Automation `json:"automations"`
	}
	if err := c.api.call(r, s.secret, "GET", "/v1/accounts/"+esc(s.me.Account.ID)+"/automations", nil, nil, &al); err != nil {
		return err
	}
	return c.show(w, r, s, http.StatusOK, "automations", "Automation", "automations", al.Automations)
}

// automationAction creates, switches on or off, or deletes a rule.
func (c *Console) automationAction(w http.ResponseWriter, r *http.Request, s *session) error {
	base := "/v1/accounts/" + esc(s.me.Account.ID) + "/automations"
	id := r.PostFormValue("rule")
	switch r.PathValue("op") {
	case "create":
		body := map[string]any{"name": strings.TrimSpace(r.PostFormValue("name")), "kind": r.PostFormValue("kind")}
		switch r.PostFormValue("kind") {
		case accounts.AutoReply:
			body["keyword"], body["text"] = strings.TrimSpace(r.PostFormValue("keyword")), r.PostFormValue("text")
		case accounts.AutoForward:
			body["keyword"], body["forward_to"] = strings.TrimSpace(r.PostFormValue("keyword")), splitNumbers(r.PostFormValue("forward_to"))
		case accounts.AutoReceiptNotice:
			body["notify"] = r.PostFormValue("notify")
		}
		if err := c.api.call(r, s.secret, "POST", base, nil, body, nil); err != nil {
			return err
		}
		return c.done(w, r, "/automations", "Rule created.")
	case "enable", "disable":
		on := r.PathValue("op") == "enable"
		if err := c.api.call(r, s.secret, "PATCH", base+"/"+esc(id), nil, map[string]bool{"enabled": on}, nil); err != nil {
			return err
		}
		return c.done(w, r, "/automations", "Rule "+r.PathValue("op")+"d.")
	case "delete":
		if err := c.api.call(r, s.secret, "DELETE", base+"/"+esc(id), nil, nil, nil); err != nil {
			return err
		}
		return c.done(w, r, "/automations", "Rule deleted.")
	}
	return badForm("there is no such action")
}
