package console

import (
	"net/http"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// keysData is the API keys page's data.
type keysData struct {
	AccountID string
	Accounts  []accounts.Account
	Keys      []accounts.APIKey
	Roles     []accounts.Role
	NewSecret string // a key's secret just made: shown once
	NewName   string
}

// keys lists an account's API keys (their prefixes, never a secret).
func (c *Console) keys(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.keysPage(w, r, s, http.StatusOK, "", "")
}

func (c *Console) keysPage(w http.ResponseWriter, r *http.Request, s *session, status int, secret, name string) error {
	id := usersAccount(r, s)
	if err := s.scope(id, "keys", "manage this account's API keys"); err != nil {
		return err
	}
	d := keysData{AccountID: id, NewSecret: secret, NewName: name, Roles: grantableRoles(s.me.Role, id != s.me.Account.ID || s.me.Account.ParentID != "")}
	var kl struct {
		Keys []accounts.APIKey `json:"keys"`
	}
	if err := c.api.call(r, s.secret, "GET", "/v1/accounts/"+esc(id)+"/keys", nil, nil, &kl); err != nil {
		return err
	}
	d.Keys = kl.Keys
	var err error
	if d.Accounts, err = c.subAccounts(r, s); err != nil {
		return err
	}
	return c.show(w, r, s, status, "keys", "API keys", "keys", d)
}

// keyAction creates, rotates or revokes a key. A new secret is shown on the
// answer itself, once; the console never stores it.
func (c *Console) keyAction(w http.ResponseWriter, r *http.Request, s *session) error {
	id := usersAccount(r, s)
	base := "/v1/accounts/" + esc(id) + "/keys"
	var out struct {
		Secret string          `json:"secret"`
		Key    accounts.APIKey `json:"key"`
	}
	switch r.PathValue("op") {
	case "create":
		body := map[string]string{"name": strings.TrimSpace(r.PostFormValue("name")), "role": r.PostFormValue("role")}
		if r.PostFormValue("relay") == "on" {
			body["scope"] = accounts.ScopeSMTPRelay
			delete(body, "role")
		}
		if err := c.api.call(r, s.secret, "POST", base, nil, body, &out); err != nil {
			return err
		}
	case "rotate":
		if err := c.api.call(r, s.secret, "POST", base+"/"+esc(r.PostFormValue("key"))+"/rotate", nil, nil, &out); err != nil {
			return err
		}
	case "revoke":
		if err := c.api.call(r, s.secret, "DELETE", base+"/"+esc(r.PostFormValue("key")), nil, nil, nil); err != nil {
			return err
		}
		return c.done(w, r, "/keys?account="+esc(id), "Key "+r.PostFormValue("key")+" revoked.")
	default:
		return badForm("there is no such action")
	}
	w.Header().Set("Cache-Control", "no-store")
	return c.keysPage(w, r, s, http.StatusCreated, out.Secret, out.Key.ID)
}
