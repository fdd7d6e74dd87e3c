package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// permissionRoutes are the routes of a sub-account's permission flags
// (seeds 002 and 003; accounts/flags.go documents what each gates).
func (s *server) permissionRoutes() []route {
	return []route{
		{"GET /v1/accounts/{id}/permissions", true, s.h(s.getPermissions)},
		{"PUT /v1/accounts/{id}/permissions", true, s.h(s.putPermissions)},
	}
}

// PermissionStore is what the permissions area needs of the account
// store: setting an account's flags, and reading the account back.
type PermissionStore interface {
	SetPermissions(ctx context.Context, accountID string, p accounts.Permissions, byParent bool) error
	GetAccount(ctx context.Context, id string) (*accounts.Account, error)
}

// permissionsBody is the body of PUT /v1/accounts/{id}/permissions; an
// absent list is left as it is.
type permissionsBody struct {
	Granted *[]string `json:"granted"`
	Enabled *[]string `json:"enabled"`
}

// permissionsView is the answer of both routes. A parent account has every
// flag (EveryFlag) and nothing to set.
type permissionsView struct {
	AccountID string   `json:"account_id"`
	EveryFlag bool     `json:"every_flag"`
	Granted   []string `json:"granted"`
	Enabled   []string `json:"enabled"`
}

func viewPermissions(a *accounts.Account) permissionsView {
	if a.ParentID == "" {
		return permissionsView{AccountID: a.ID, EveryFlag: true, Granted: accounts.Flags(), Enabled: accounts.Flags()}
	}
	v := permissionsView{AccountID: a.ID, Granted: a.Permissions.Granted, Enabled: a.Permissions.Enabled}
	if v.Granted == nil {
		v.Granted = []string{}
	}
	if v.Enabled == nil {
		v.Enabled = []string{}
	}
	return v
}

// getPermissions: any member of the account, and its parent's
// administrators, may read its flags.
func (s *server) getPermissions(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actRead)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewPermissions(acct))
	return nil
}

// putPermissions: the parent's administrators set granted and enabled
// (actPermissionsGrant); the sub-account's own sub_admin holding
// modify_users switches enabled within granted (actPermissionsSelf). A flag
// beyond granted is a 403 naming it, so that a sub-account never enables
// what it was not granted (the trap seed 002 warns of). The check
// against granted happens in the store's script, atomically with the write.
func (s *server) putPermissions(w http.ResponseWriter, r *http.Request) error {
	p, acct, err := s.target(r, actRead)
	if err != nil {
		return err
	}
	var in permissionsBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Granted == nil && in.Enabled == nil {
		return invalid("body: give granted, enabled or both")
	}
	if acct.ParentID == "" {
		return invalid("permissions: account %s is a parent account; it has every flag and none can be set", acct.ID)
	}
	byParent := authorizeP(p, acct, actPermissionsGrant) == nil
	if !byParent {
		if err := s.allow(p, acct, actPermissionsSelf); err != nil {
			return err
		}
	}
	var perms accounts.Permissions
	if in.Granted != nil {
		perms.Granted = append([]string{}, *in.Granted...)
	}
	if in.Enabled != nil {
		perms.Enabled = append([]string{}, *in.Enabled...)
	}
	if err := s.permissions.SetPermissions(r.Context(), acct.ID, perms, byParent); err != nil {
		if errors.Is(err, accounts.ErrNotPermitted) {
			msg := err.Error()
			if i := strings.Index(msg, accounts.ErrNotPermitted.Error()+": "); i >= 0 {
				msg = msg[i+len(accounts.ErrNotPermitted.Error())+2:]
			}
			return forbidden("%s", msg)
		}
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	updated, err := s.permissions.GetAccount(r.Context(), acct.ID)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	writeJSON(w, http.StatusOK, viewPermissions(updated))
	return nil
}
