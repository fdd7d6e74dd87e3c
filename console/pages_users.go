package console

import (
	"net/http"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// usersData is the users page's data.
type usersData struct {
	AccountID   string
	Accounts    []accounts.Account // the accounts whose users the user may see
	Members     []accounts.Member
	Invitations []accounts.Invitation
	Manage      bool
	Roles       []accounts.Role
	Token       string // an invitation token, when the gateway cannot mail it
}

// usersAccount is the account the users page is about: ?account= (a
// parent administrator's sub-account) or the user's own.
func usersAccount(r *http.Request, s *session) string {
	if id := strings.TrimSpace(r.FormValue("account")); id != "" {
		return id
	}
	return s.me.Account.ID
}

// users lists an account's members and pending invitations.
func (c *Console) users(w http.ResponseWriter, r *http.Request, s *session) error {
	id := usersAccount(r, s)
	if err := s.scope(id, "users_view", "view the users of this account"); err != nil {
		return err
	}
	d := usersData{AccountID: id, Manage: s.mayOn(id, "users_manage")}
	var ml struct {
		Members []accounts.Member `json:"members"`
	}
	base := "/v1/accounts/" + esc(id)
	if err := c.api.call(r, s.secret, "GET", base+"/members", nil, nil, &ml); err != nil {
		return err
	}
	d.Members = ml.Members
	if d.Manage {
		var il struct {
			Invitations []accounts.Invitation `json:"invitations"`
		}
		if err := c.api.call(r, s.secret, "GET", base+"/invitations", nil, nil, &il); err != nil {
			return err
		}
		d.Invitations = il.Invitations
		d.Roles = grantableRoles(s.me.Role, id != s.me.Account.ID || s.me.Account.ParentID != "")
	}
	var err error
	if d.Accounts, err = c.subAccounts(r, s); err != nil {
		return err
	}
	v := c.view(w, r, s, "Users", "users")
	v.Data = d
	c.render(w, http.StatusOK, "users", v)
	return nil
}

// grantableRoles are the roles the user may hand out: none above their
// own; parent_admin only in a root account.
func grantableRoles(mine accounts.Role, sub bool) []accounts.Role {
	all := []accounts.Role{accounts.RoleParentAdmin, accounts.RoleSubAdmin, accounts.RoleAdvanced, accounts.RoleBasic}
	var out []accounts.Role
	seen := false
	for _, r := range all {
		if r == mine {
			seen = true
		}
		if seen && !(sub && r == accounts.RoleParentAdmin) {
			out = append(out, r)
		}
	}
	return out
}

// inviteUser sends an invitation; without a mail relay its token is shown
// once for the inviter to hand over.
func (c *Console) inviteUser(w http.ResponseWriter, r *http.Request, s *session) error {
	id := usersAccount(r, s)
	var out struct {
		Token  string `json:"token"`
		Mailed bool   `json:"mailed"`
	}
	body := map[string]any{"email": strings.TrimSpace(r.PostFormValue("email")), "role": r.PostFormValue("role")}
	if err := c.api.call(r, s.secret, "POST", "/v1/accounts/"+esc(id)+"/invitations", nil, body, &out); err != nil {
		return err
	}
	msg := "Invitation mailed to " + body["email"].(string) + "."
	if !out.Mailed {
		msg = "Invitation created for " + body["email"].(string) + ". This gateway has no mail relay: send them this link (shown once): /invite?token=" + out.Token
	}
	return c.done(w, r, "/users?account="+esc(id), msg)
}

// revokeInvitation revokes a pending invitation.
func (c *Console) revokeInvitation(w http.ResponseWriter, r *http.Request, s *session) error {
	id := usersAccount(r, s)
	if err := c.api.call(r, s.secret, "DELETE", "/v1/accounts/"+esc(id)+"/invitations/"+esc(r.PathValue("inv")), nil, nil, nil); err != nil {
		return err
	}
	return c.done(w, r, "/users?account="+esc(id), "Invitation revoked.")
}

// memberAction changes a member's role, makes them the owner, or removes
// them.
func (c *Console) memberAction(w http.ResponseWriter, r *http.Request, s *session) error {
	id := usersAccount(r, s)
	path := "/v1/accounts/" + esc(id) + "/members/" + esc(r.PathValue("user"))
	var msg string
	switch r.PathValue("op") {
	case "role":
		if err := c.api.call(r, s.secret, "PATCH", path, nil, map[string]string{"role": r.PostFormValue("role")}, nil); err != nil {
			return err
		}
		msg = "Role changed: it applies at once, to every session of theirs."
	case "owner":
		if err := c.api.call(r, s.secret, "PATCH", path, nil, map[string]bool{"owner": true}, nil); err != nil {
			return err
		}
		msg = "Owner changed."
	case "remove":
		if err := c.api.call(r, s.secret, "DELETE", path, nil, nil, nil); err != nil {
			return err
		}
		msg = "Member removed; their keys and sessions no longer work."
	default:
		return badForm("there is no such action")
	}
	return c.done(w, r, "/users?account="+esc(id), msg)
}

// resendInvitation revokes a pending invitation and sends a new one to the
// same address with the same role (a fresh token, a fresh expiry).
func (c *Console) resendInvitation(w http.ResponseWriter, r *http.Request, s *session) error {
	id := usersAccount(r, s)
	base := "/v1/accounts/" + esc(id) + "/invitations"
	var il struct {
		Invitations []accounts.Invitation `json:"invitations"`
	}
	if err := c.api.call(r, s.secret, "GET", base, nil, nil, &il); err != nil {
		return err
	}
	var inv *accounts.Invitation
	for i := range il.Invitations {
		if il.Invitations[i].ID == r.PathValue("inv") {
			inv = &il.Invitations[i]
		}
	}
	if inv == nil {
		return badForm("invitation %s: no pending invitation of this account has this id", r.PathValue("inv"))
	}
	if err := c.api.call(r, s.secret, "DELETE", base+"/"+esc(inv.ID), nil, nil, nil); err != nil {
		return err
	}
	r.PostForm.Set("email", inv.Email)
	r.PostForm.Set("role", string(inv.Role))
	return c.inviteUser(w, r, s)
}
