package console

import (
	"net/http"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// emailData is the email-to-SMS registrations page's data.
type emailData struct {
	AccountID string
	Accounts  []accounts.Account
	Domains   []string
	Pending   []accounts.DomainChallenge
	Addresses []string
	PendAddrs []accounts.PendingAddress
	Manage    bool
}

// scope checks that the user may do action on account id, as the API
// would answer: their own account by their rights; another account is not
// found unless they administer sub-accounts (then the API decides whether
// it is one of theirs).
func (s *session) scope(id, action, what string) error {
	switch {
	case id == s.me.Account.ID && !s.may(action):
		return forbidden(what)
	case id != s.me.Account.ID && len(s.me.MayOnSubs) == 0:
		return accountNotFound(id)
	case id != s.me.Account.ID && !s.maySub(action):
		return forbidden(what)
	}
	return nil
}

// mayOn reports whether the user may do action on account id: their own
// (may) or one of their sub-accounts (may_on_subs; the API refuses any
// other).
func (s *session) mayOn(id, action string) bool {
	if id == s.me.Account.ID {
		return s.may(action)
	}
	return s.maySub(action)
}

// email lists an account's email-to-SMS registrations: domains with their
// verification state (the TXT record to publish), exact addresses.
func (c *Console) email(w http.ResponseWriter, r *http.Request, s *session) error {
	id := usersAccount(r, s)
	if err := s.scope(id, "read", "see this account's registrations"); err != nil {
		return err
	}
	d := emailData{AccountID: id, Manage: s.mayOn(id, "registrations")}
	base := "/v1/accounts/" + esc(id)
	var dl struct {
		Domains []string                   `json:"domains"`
		Pending []accounts.DomainChallenge `json:"pending"`
	}
	if err := c.api.call(r, s.secret, "GET", base+"/domains", nil, nil, &dl); err != nil {
		return err
	}
	var al struct {
		Addresses []string                  `json:"addresses"`
		Pending   []accounts.PendingAddress `json:"pending"`
	}
	if err := c.api.call(r, s.secret, "GET", base+"/addresses", nil, nil, &al); err != nil {
		return err
	}
	d.Domains, d.Pending, d.Addresses, d.PendAddrs = dl.Domains, dl.Pending, al.Addresses, al.Pending
	var err error
	if d.Accounts, err = c.subAccounts(r, s); err != nil {
		return err
	}
	v := c.view(w, r, s, "Email to SMS", "email")
	v.Data = d
	c.render(w, http.StatusOK, "email", v)
	return nil
}

// emailAction adds, verifies or removes a domain, or adds or removes an
// address.
func (c *Console) emailAction(w http.ResponseWriter, r *http.Request, s *session) error {
	id := usersAccount(r, s)
	base := "/v1/accounts/" + esc(id)
	back := "/email?account=" + esc(id)
	domain := strings.TrimSpace(r.PostFormValue("domain"))
	address := strings.TrimSpace(r.PostFormValue("address"))
	switch op := r.PathValue("op"); op {
	case "add-domain":
		var out struct {
			Status   string `json:"status"`
			TXTName  string `json:"txt_name"`
			TXTValue string `json:"txt_value"`
		}
		if err := c.api.call(r, s.secret, "POST", base+"/domains", nil, map[string]string{"domain": domain}, &out); err != nil {
			return err
		}
		if out.Status == "pending" {
			return c.done(w, r, back, domain+" is pending: publish the TXT record below, then verify.")
		}
		return c.done(w, r, back, domain+" is registered.")
	case "verify":
		if err := c.api.call(r, s.secret, "POST", base+"/domains/"+esc(domain)+"/verify", nil, nil, nil); err != nil {
			return err
		}
		return c.done(w, r, back, domain+" is verified: mail from it is sent as SMS.")
	case "remove-domain":
		if err := c.api.call(r, s.secret, "DELETE", base+"/domains/"+esc(domain), nil, nil, nil); err != nil {
			return err
		}
		return c.done(w, r, back, domain+" removed.")
	case "add-address":
		var out struct {
			Status string `json:"status"`
			Detail string `json:"detail"`
		}
		if err := c.api.call(r, s.secret, "POST", base+"/addresses", nil, map[string]string{"address": address}, &out); err != nil {
			return err
		}
		msg := address + " is registered."
		if out.Status == "pending" {
			msg = address + " is pending: its owner confirms with the link mailed to it."
		}
		return c.done(w, r, back, msg)
	case "remove-address":
		if err := c.api.call(r, s.secret, "DELETE", base+"/addresses/"+esc(address), nil, nil, nil); err != nil {
			return err
		}
		return c.done(w, r, back, address+" removed.")
	}
	return badForm("there is no such action")
}
