package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/smsgate/smsgate/accounts"
)

// settingsData is the settings page's data.
type settingsData struct {
	Account    *accounts.Account
	Profile    bool // may edit the name and contact email
	Messaging  bool // may change how messages are sent
	ReplyRules *replyRules
	Zone       string
}

// replyRules is GET /v1/accounts/{id}/reply-rules.
type replyRules struct {
	MailSender bool     `json:"mail_sender"`
	ForwardTo  []string `json:"forward_to"`
	Webhook    bool     `json:"webhook"`
}

// settings shows the account's profile, messaging settings and reply
// rules, as far as the user may change them, and their time zone.
func (c *Console) settings(w http.ResponseWriter, r *http.Request, s *session) error {
	a := s.me.Account
	d := settingsData{Account: a, Profile: s.may("profile"), Messaging: s.may("settings"), Zone: location(r).String()}
	if d.Messaging {
		d.ReplyRules = &replyRules{}
		if err := c.api.call(r, s.secret, "GET", "/v1/accounts/"+esc(a.ID)+"/reply-rules", nil, nil, d.ReplyRules); err != nil {
			return err
		}
	}
	return c.show(w, r, s, http.StatusOK, "settings", "Settings", "settings", d)
}

// settingsAction saves one form of the settings page.
func (c *Console) settingsAction(w http.ResponseWriter, r *http.Request, s *session) error {
	base := "/v1/accounts/" + esc(s.me.Account.ID)
	switch r.PathValue("op") {
	case "profile":
		body := map[string]string{"name": strings.TrimSpace(r.PostFormValue("name")), "contact_email": strings.TrimSpace(r.PostFormValue("contact_email"))}
		if err := c.api.call(r, s.secret, "PATCH", base, nil, body, nil); err != nil {
			return err
		}
	case "messaging":
		body := map[string]any{"subject_mode": r.PostFormValue("subject_mode"), "long_message": r.PostFormValue("long_message")}
		if v := strings.TrimSpace(r.PostFormValue("max_parts")); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return badForm("max_parts: %q is not a whole number", v)
			}
			body["max_parts"] = n
		}
		if err := c.api.call(r, s.secret, "PATCH", base, nil, body, nil); err != nil {
			return err
		}
	case "replies":
		body := map[string]any{"mail_sender": r.PostFormValue("mail_sender") == "on", "webhook": r.PostFormValue("webhook") == "on",
			"forward_to": splitNumbers(r.PostFormValue("forward_to"))}
		if err := c.api.call(r, s.secret, "PUT", base+"/reply-rules", nil, body, nil); err != nil {
			return err
		}
	case "zone":
		z := strings.TrimSpace(r.PostFormValue("zone"))
		if _, err := time.LoadLocation(z); err != nil || z == "" {
			return badForm("zone: %q is not a time zone name like Australia/Sydney", z)
		}
		http.SetCookie(w, c.cookie(r, tzCookie, url.QueryEscape(z), 365*24*time.Hour))
	default:
		return badForm("there is no such action")
	}
	return c.done(w, r, "/settings", "Saved.")
}
