package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// keyRoutes are the routes of an account's API keys.
func (s *server) keyRoutes() []route {
	return []route{
		{"GET /v1/accounts/{id}/keys", true, s.h(s.listKeys)},
		{"POST /v1/accounts/{id}/keys", true, s.h(s.createKey)},
		{"DELETE /v1/accounts/{id}/keys/{key}", true, s.h(s.revokeKey)},
		{"POST /v1/accounts/{id}/keys/{key}/rotate", true, s.h(s.rotateKey)},
	}
}

// KeyStore is what the keys area needs of the account store: an account's
// API keys.
type KeyStore interface {
	ListKeys(ctx context.Context, accountID string) ([]accounts.APIKey, error)
	// CreateKeyBy creates an account key recording its creator: removing
	// the creating user from the account of their membership revokes it.
	CreateKeyBy(ctx context.Context, accountID string, role accounts.Role, name string, by *accounts.KeyCreator) (secret string, key *accounts.APIKey, err error)
	RevokeKey(ctx context.Context, accountID, keyID string) error
	RotateKey(ctx context.Context, accountID, keyID string) (string, *accounts.APIKey, error)
	// CreateRelayKeyBy creates an SMTP relay credential (scope smtp_relay).
	CreateRelayKeyBy(ctx context.Context, accountID, name string, by *accounts.KeyCreator) (secret string, key *accounts.APIKey, err error)
}

// keyBody is the body of POST /v1/accounts/{id}/keys.
type keyBody struct {
	Role accounts.Role `json:"role"`
	Name string        `json:"name"`
	// Scope "smtp_relay" makes a relay key: SMTP AUTH for the account and
	// its sub-accounts, refused by the API; it takes no role.
	Scope string `json:"scope"`
}

// newKey is the answer to a key creation; the secret is shown only here.
type newKey struct {
	Secret string           `json:"secret"`
	Key    *accounts.APIKey `json:"key"`
}

// keyList is the body of GET /v1/accounts/{id}/keys.
type keyList struct {
	Keys []accounts.APIKey `json:"keys"`
}

func (s *server) listKeys(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actKeys)
	if err != nil {
		return err
	}
	keys, err := s.keys.ListKeys(r.Context(), acct.ID)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	if keys == nil {
		keys = []accounts.APIKey{}
	}
	writeJSON(w, http.StatusOK, keyList{Keys: keys})
	return nil
}

func (s *server) createKey(w http.ResponseWriter, r *http.Request) error {
	p, acct, err := s.target(r, actKeys)
	if err != nil {
		return err
	}
	var in keyBody
	if err := decode(r, &in); err != nil {
		return err
	}
	in.Name = strings.TrimSpace(in.Name)
	by := accounts.CreatorOf(p.key)
	switch {
	case in.Scope != "" && in.Scope != accounts.ScopeSMTPRelay:
		return invalid("scope: %q must be smtp_relay, or absent for an API key", in.Scope)
	case in.Scope == accounts.ScopeSMTPRelay && in.Role != "":
		return invalid("role: a relay key (scope smtp_relay) takes no role")
	case in.Scope == accounts.ScopeSMTPRelay && acct.ParentID == "" && p.key.Role != accounts.RoleParentAdmin:
		// A root's relay key sends for every sub-account too.
		return forbidden("scope: a relay key of root account %s sends for all its sub-accounts: only a parent_admin creates it", acct.ID)
	case in.Scope == accounts.ScopeSMTPRelay && len(in.Name) > 100:
		return invalid("name: is longer than 100 characters")
	case in.Scope == accounts.ScopeSMTPRelay:
		secret, key, err := s.keys.CreateRelayKeyBy(r.Context(), acct.ID, in.Name, &by)
		if err != nil {
			return s.toProblem(r.Context(), err, "account", acct.ID)
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusCreated, newKey{Secret: secret, Key: key})
		return nil
	case in.Role == accounts.RoleBasic:
		return invalid("role: basic is a user's role (a basic user sees only their own messages, replies and statistics): give an account key role advanced or sub_admin, or invite the user")
	case !in.Role.Valid():
		return invalid("role: %q must be one of parent_admin, sub_admin, advanced", in.Role)
	case rank(in.Role) > rank(p.key.Role):
		return forbidden("role: a %s key cannot create a %s key", p.key.Role, in.Role)
	case in.Role == accounts.RoleParentAdmin && acct.ParentID != "":
		return invalid("role: parent_admin keys belong to parent accounts; account %s is a sub-account", acct.ID)
	case len(in.Name) > 100:
		return invalid("name: is longer than 100 characters")
	}
	secret, key, err := s.keys.CreateKeyBy(r.Context(), acct.ID, in.Role, in.Name, &by)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, newKey{Secret: secret, Key: key})
	return nil
}

func (s *server) revokeKey(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actKeys)
	if err != nil {
		return err
	}
	id := r.PathValue("key")
	if err := s.keys.RevokeKey(r.Context(), acct.ID, id); err != nil {
		return s.toProblem(r.Context(), err, "key", id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// rotateKey replaces a key's secret, keeping its id and role.
func (s *server) rotateKey(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actKeys)
	if err != nil {
		return err
	}
	id := r.PathValue("key")
	secret, key, err := s.keys.RotateKey(r.Context(), acct.ID, id)
	if err != nil {
		return s.toProblem(r.Context(), err, "key", id)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, newKey{Secret: secret, Key: key})
	return nil
}
