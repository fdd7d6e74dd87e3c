package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/smsgate/smsgate/accounts"
)

// userRoutes are the routes of users, memberships, invitations and login.
// Login and accepting an invitation need no key: they are how a user gets
// one.
func (s *server) userRoutes() []route {
	return []route{
		{"GET /v1/accounts/{id}/members", true, s.h(s.listMembers)},
		{"PATCH /v1/accounts/{id}/members/{user}", true, s.h(s.patchMember)},
		{"DELETE /v1/accounts/{id}/members/{user}", true, s.h(s.removeMember)},
		{"GET /v1/accounts/{id}/invitations", true, s.h(s.listInvitations)},
		{"POST /v1/accounts/{id}/invitations", true, s.h(s.createInvitation)},
		{"DELETE /v1/accounts/{id}/invitations/{inv}", true, s.h(s.revokeInvitation)},
		{"POST /v1/invitations/accept", false, s.h(s.acceptInvitation)},
		{"POST /v1/auth/login", false, s.h(s.login)},
		{"POST /v1/auth/logout", true, s.h(s.logout)},
		{"POST /v1/me/keys", true, s.h(s.createMyKey)},
	}
}

// UserStore is what the users area needs of the account store: members,
// invitations, login with a password and users' own keys.
type UserStore interface {
	ListMembers(ctx context.Context, accountID string) ([]accounts.Member, error)
	UpdateMember(ctx context.Context, accountID, userID string, up accounts.MemberUpdate) (*accounts.Member, error)
	RemoveMember(ctx context.Context, accountID, userID string, maxRole accounts.Role) error
	CreateInvitation(ctx context.Context, req accounts.InvitationRequest) (string, *accounts.Invitation, error)
	ListInvitations(ctx context.Context, accountID string) ([]accounts.Invitation, error)
	RevokeInvitation(ctx context.Context, accountID, invID string) error
	AcceptInvitation(ctx context.Context, token, name, password string) (*accounts.Acceptance, error)
	Login(ctx context.Context, email, password, accountID string) (string, *accounts.APIKey, error)
	CreateUserKey(ctx context.Context, accountID, userID, name string, expiresAt time.Time) (string, *accounts.APIKey, error)
}

// Bodies of this area's routes.
type (
	memberList struct {
		Members []accounts.Member `json:"members"`
	}
	memberPatch struct {
		Role  *accounts.Role `json:"role"`
		Owner *bool          `json:"owner"`
	}
	invitationBody struct {
		Email          string        `json:"email"`
		Role           accounts.Role `json:"role"`
		ExpiresInHours int           `json:"expires_in_hours"`
	}
	// newInvitation is the answer to an invitation; the token is shown
	// only here.
	newInvitation struct {
		// Token is returned only by a gateway without a mail relay: with
		// one, it is mailed to the invitee and never shown to the inviter.
		Token      string               `json:"token,omitempty"`
		Mailed     bool                 `json:"mailed,omitempty"`
		Invitation *accounts.Invitation `json:"invitation"`
	}
	invitationList struct {
		Invitations []accounts.Invitation `json:"invitations"`
	}
	acceptBody struct {
		Token    string `json:"token"`
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	loginBody struct {
		Email     string `json:"email"`
		Password  string `json:"password"`
		AccountID string `json:"account_id"`
	}
	myKeyBody struct {
		Name string `json:"name"`
	}
)

func (s *server) listMembers(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actUsersView)
	if err != nil {
		return err
	}
	ms, err := s.users.ListMembers(r.Context(), acct.ID)
	if err != nil {
		return s.userProblem(r.Context(), err, "account", acct.ID)
	}
	writeJSON(w, http.StatusOK, memberList{Members: ms})
	return nil
}

func (s *server) patchMember(w http.ResponseWriter, r *http.Request) error {
	p, acct, err := s.target(r, actUsersManage)
	if err != nil {
		return err
	}
	var in memberPatch
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Role == nil && in.Owner == nil {
		return badRequest("body: give role, owner or both")
	}
	up := accounts.MemberUpdate{Owner: in.Owner, MaxRole: p.key.Role}
	if in.Role != nil {
		if err := grantable(p, *in.Role); err != nil {
			return err
		}
		up.Role = *in.Role
	}
	user, err := s.memberID(r, acct.ID)
	if err != nil {
		return err
	}
	m, err := s.users.UpdateMember(r.Context(), acct.ID, user, up)
	if err != nil {
		return s.memberProblem(r.Context(), err, acct.ID, user)
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *server) removeMember(w http.ResponseWriter, r *http.Request) error {
	p, acct, err := s.target(r, actUsersManage)
	if err != nil {
		return err
	}
	user, err := s.memberID(r, acct.ID)
	if err != nil {
		return err
	}
	if err := s.users.RemoveMember(r.Context(), acct.ID, user, p.key.Role); err != nil {
		return s.memberProblem(r.Context(), err, acct.ID, user)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// memberID is the {user} of a member route: a user id, or the email of a
// member of account acct (case-insensitive).
func (s *server) memberID(r *http.Request, acct string) (string, error) {
	user := r.PathValue("user")
	if !strings.Contains(user, "@") {
		return user, nil
	}
	ms, err := s.users.ListMembers(r.Context(), acct)
	if err != nil {
		return "", s.userProblem(r.Context(), err, "account", acct)
	}
	for _, m := range ms {
		if strings.EqualFold(m.Email, user) {
			return m.UserID, nil
		}
	}
	return "", problemf(http.StatusNotFound, "not-found", "user: %s is not a member of account %s", user, acct)
}

func (s *server) listInvitations(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actUsersManage)
	if err != nil {
		return err
	}
	invs, err := s.users.ListInvitations(r.Context(), acct.ID)
	if err != nil {
		return s.userProblem(r.Context(), err, "account", acct.ID)
	}
	writeJSON(w, http.StatusOK, invitationList{Invitations: invs})
	return nil
}

func (s *server) createInvitation(w http.ResponseWriter, r *http.Request) error {
	p, acct, err := s.target(r, actUsersManage)
	if err != nil {
		return err
	}
	var in invitationBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Email) == "" {
		return invalid("email: required")
	}
	if err := grantable(p, in.Role); err != nil {
		return err
	}
	if in.ExpiresInHours < 0 || in.ExpiresInHours > 720 {
		return invalid("expires_in_hours: %d is not between 1 and 720", in.ExpiresInHours)
	}
	by := p.key.UserID
	if by == "" {
		by = p.key.ID
	}
	token, inv, err := s.users.CreateInvitation(r.Context(), accounts.InvitationRequest{
		AccountID: acct.ID, Email: in.Email, Role: in.Role, CreatedBy: by,
		TTL: time.Duration(in.ExpiresInHours) * time.Hour,
	})
	if err != nil {
		return s.userProblem(r.Context(), err, "account", acct.ID)
	}
	w.Header().Set("Cache-Control", "no-store")
	if s.mailer == nil {
		// No relay: the inviter hands the token over. An existing user
		// still accepts only signed in as themselves (AcceptInvitation).
		writeJSON(w, http.StatusCreated, newInvitation{Token: token, Invitation: inv})
		return nil
	}
	// The token goes to the invitee's mailbox only: whoever invites cannot
	// accept in their name.
	body := "You are invited to join account " + acct.Name + " (" + acct.ID + ") on the SMS gateway as " + string(inv.Role) + ".\n\n"
	if s.consoleURL != "" {
		body += "Accept in the web console:\n\n    " + strings.TrimRight(s.consoleURL, "/") + "/invite?token=" + token + "\n\n" +
			"or from the command line or the API. "
	}
	body += "To accept, use this one-time token (valid until " + inv.ExpiresAt.UTC().Format(time.RFC1123) + "):\n\n    " + token + "\n\n" +
		"with the command\n\n    smsgate user accept " + token + "\n\nor POST /v1/invitations/accept {\"token\": \"...\"} on the gateway's API. " +
		"If you already have a user on this gateway, accept signed in as yourself (your session key) or with your password.\n\n" +
		"If you did not expect this, ignore this mail: nothing happens without your acceptance.\n"
	if err := s.mailer(r.Context(), inv.Email, "Invitation to "+acct.Name, body); err != nil {
		s.log.Error("invitation not mailed", "account", acct.ID, "invitation", inv.ID, "err", err)
		return problemf(http.StatusServiceUnavailable, "unavailable", "email: the invitation mail to %s could not be queued; revoke invitation %s and try again", inv.Email, inv.ID)
	}
	writeJSON(w, http.StatusCreated, newInvitation{Mailed: true, Invitation: inv})
	return nil
}

func (s *server) revokeInvitation(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actUsersManage)
	if err != nil {
		return err
	}
	id := r.PathValue("inv")
	if err := s.users.RevokeInvitation(r.Context(), acct.ID, id); err != nil {
		if errors.Is(err, accounts.ErrNotFound) {
			return problemf(http.StatusNotFound, "not-found", "invitation %s: no pending invitation of account %s has this id", id, acct.ID)
		}
		return s.userProblem(r.Context(), err, "invitation", id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) acceptInvitation(w http.ResponseWriter, r *http.Request) error {
	var in acceptBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Token == "" {
		return invalid("token: required")
	}
	// Signed in (a user's session or personal key): an invitation to that
	// user's email is accepted by them as they are.
	ctx := r.Context()
	if secret, ok := bearer(r.Header.Get("Authorization")); ok && s.auth != nil {
		key, _ := s.auth.Authenticate(ctx, secret)
		if key == nil || key.UserID == "" {
			s.unauthorized(w, "authorization: accept signed in with your own session or personal key, or without a key")
			return nil
		}
		ctx = accounts.WithActingUser(ctx, key.UserID)
	}
	ctx = withClientSource(ctx, r) // a password given here is a login
	res, err := s.users.AcceptInvitation(ctx, in.Token, in.Name, in.Password)
	if errors.Is(err, accounts.ErrBadCredentials) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="smsgate"`)
		return problemf(http.StatusUnauthorized, "bad-credentials",
			"password: the invited email has a user, who accepts with their own password or signed in with their own session key")
	}
	if errors.Is(err, accounts.ErrNotFound) {
		return problemf(http.StatusNotFound, "not-found", "token: matches no invitation (check it was copied whole)")
	}
	if err != nil {
		return s.userProblem(r.Context(), err, "invitation", "")
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, res)
	return nil
}

func (s *server) login(w http.ResponseWriter, r *http.Request) error {
	var in loginBody
	if err := decode(r, &in); err != nil {
		return err
	}
	ctx := withClientSource(r.Context(), r)
	secret, key, err := s.users.Login(ctx, in.Email, in.Password, in.AccountID)
	if errors.Is(err, accounts.ErrBadCredentials) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="smsgate"`)
	}
	if errors.Is(err, accounts.ErrTooManyAttempts) {
		w.Header().Set("Retry-After", strconv.Itoa(int(accounts.LoginFailureWindow.Seconds())))
	}
	if err != nil {
		return s.userProblem(r.Context(), err, "account", in.AccountID)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, newKey{Secret: secret, Key: key})
	return nil
}

// logout ends the caller's login session: its session key is revoked at
// once (it would otherwise expire after accounts.SessionTTL). Only a
// session key may end itself this way: an account key or a user's own
// long-lived key is revoked by DELETE on the account's keys.
func (s *server) logout(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	if p.key.UserID == "" || p.key.ExpiresAt.IsZero() {
		return problemf(http.StatusBadRequest, "not-a-session", "authorization: key %s is not a login session; revoke it with DELETE /v1/accounts/%s/keys/%s", p.key.ID, p.acct.ID, p.key.ID)
	}
	if s.keys == nil {
		return problemf(http.StatusServiceUnavailable, "unavailable", "the keys area is not served by this instance")
	}
	if err := s.keys.RevokeKey(r.Context(), p.acct.ID, p.key.ID); err != nil {
		return s.toProblem(r.Context(), err, "key", p.key.ID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) createMyKey(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	if p.key.UserID == "" {
		return forbidden("key %s belongs to account %s, not to a user; log in (POST /v1/auth/login) to create personal keys", p.key.ID, p.acct.ID)
	}
	var in myKeyBody
	if err := decode(r, &in); err != nil {
		return err
	}
	in.Name = strings.TrimSpace(in.Name)
	if len(in.Name) > 100 {
		return invalid("name: is longer than 100 characters")
	}
	secret, key, err := s.users.CreateUserKey(r.Context(), p.acct.ID, p.key.UserID, in.Name, time.Time{})
	if err != nil {
		return s.userProblem(r.Context(), err, "account", p.acct.ID)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, newKey{Secret: secret, Key: key})
	return nil
}

// grantable checks that the caller may hand out role: a known role no
// stronger than the caller's own (the store checks that the account can
// have it: parent_admin only in parent accounts).
func grantable(p principal, role accounts.Role) error {
	switch {
	case !role.Valid():
		return invalid("role: %q must be one of parent_admin, sub_admin, advanced, basic", role)
	case rank(role) > rank(p.key.Role):
		return forbidden("role: a %s cannot grant %s, a role above their own", p.key.Role, role)
	}
	return nil
}

// memberProblem is userProblem for a member route: a user who is not a
// member of the account is not found, whether or not the user exists.
func (s *server) memberProblem(ctx context.Context, err error, acct, user string) *Problem {
	if errors.Is(err, accounts.ErrNotFound) {
		return problemf(http.StatusNotFound, "not-found", "member %s: no such member of account %s", user, acct)
	}
	return s.userProblem(ctx, err, "account", acct)
}

// userProblem maps this area's store errors to problems; the store's text
// after the sentinel names the field and the value. Anything else goes
// through toProblem.
func (s *server) userProblem(ctx context.Context, err error, what, id string) *Problem {
	mapping := []struct {
		sentinel error
		status   int
		kind     string
	}{
		{accounts.ErrLastAdmin, http.StatusConflict, "last-admin"},
		{accounts.ErrOwnerNotAdmin, http.StatusConflict, "owner-not-admin"},
		{accounts.ErrAlreadyMember, http.StatusConflict, "already-member"},
		{accounts.ErrInvitePending, http.StatusConflict, "invitation-pending"},
		{accounts.ErrInvitationTaken, http.StatusConflict, "invitation-accepted"},
		{accounts.ErrEmailTaken, http.StatusConflict, "email-taken"},
		{accounts.ErrInvitationGone, http.StatusGone, "invitation-gone"},
		{accounts.ErrRoleAbove, http.StatusForbidden, "forbidden"},
		{accounts.ErrNotMember, http.StatusForbidden, "not-member"},
	}
	for _, m := range mapping {
		if errors.Is(err, m.sentinel) {
			return problemf(m.status, m.kind, "%s", detailAfter(err, m.sentinel))
		}
	}
	if errors.Is(err, accounts.ErrBadCredentials) {
		return problemf(http.StatusUnauthorized, "bad-credentials", "email or password: wrong email or password")
	}
	if errors.Is(err, accounts.ErrTooManyAttempts) {
		return problemf(http.StatusTooManyRequests, "too-many-attempts",
			"email: too many failed logins for this email or from this address within %s: try again later", accounts.LoginFailureWindow)
	}
	return s.toProblem(ctx, err, what, id)
}

// detailAfter returns the text that follows sentinel in err's message
// ("<sentinel>: <detail>"), or the whole message.
func detailAfter(err, sentinel error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, sentinel.Error()+": "); i >= 0 {
		return msg[i+len(sentinel.Error())+2:]
	}
	return msg
}

// withClientSource returns ctx carrying the client's address for the login
// throttle (the direct peer: a proxy in front of smsgate makes every login
// one source).
func withClientSource(ctx context.Context, r *http.Request) context.Context {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	return accounts.WithLoginSource(ctx, host)
}
