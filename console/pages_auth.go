package console

import (
	"net/http"
	"strings"

	"github.com/smsgate/smsgate/api"
)

// signInForm is the sign-in page's data.
type signInForm struct {
	Email, AccountID, Next, Pre string
	AskAccount                  bool // the user is a member of several accounts
}

// signIn shows the sign-in form (GET) or signs in (POST) through
// POST /v1/auth/login, whose throttling and errors are the API's.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	f := signInForm{Next: localNext(r.URL.Query().Get("next")), Pre: c.preToken(w, r)}
	v := c.view(w, r, nil, "Sign in", "")
	if r.Method == http.MethodGet {
		v.Data = f
		c.render(w, http.StatusOK, "signin", v)
		return
	}
	f.Email = strings.TrimSpace(r.PostFormValue("email"))
	f.AccountID = strings.TrimSpace(r.PostFormValue("account_id"))
	f.Next = localNext(r.PostFormValue("next"))
	f.AskAccount = f.AccountID != ""
	if !validToken(r, f.Pre) {
		c.reshow(w, "signin", v, f, errStaleForm)
		return
	}
	var out struct {
		Secret string `json:"secret"`
	}
	err := c.api.call(r, "", "POST", "/v1/auth/login", nil,
		map[string]string{"email": f.Email, "password": r.PostFormValue("password"), "account_id": f.AccountID}, &out)
	if err != nil {
		p := problemOf(err)
		if p == nil {
			c.fail(w, r, nil, err)
			return
		}
		if strings.HasPrefix(p.Detail, "account_id") {
			f.AskAccount = true
		}
		c.reshow(w, "signin", v, f, p)
		return
	}
	http.SetCookie(w, c.cookie(r, sessionCookie, out.Secret, sessionTTL))
	http.SetCookie(w, c.cookie(r, preCookie, "", -1))
	http.Redirect(w, r, f.Next, http.StatusSeeOther)
}

// signOut ends the session: its key is revoked (POST /v1/auth/logout) and
// the cookie cleared.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.api.call(r, s.secret, "POST", "/v1/auth/logout", nil, nil, nil); err != nil {
		c.log.Warn("console: sign-out", "err", err) // the cookie goes anyway
	}
	http.SetCookie(w, c.cookie(r, sessionCookie, "", -1))
	return c.done(w, r, "/signin", "Signed out.")
}

// inviteForm is the invitation page's data.
type inviteForm struct {
	Token, Name, Pre string
	Accepted         bool
	Email            string
}

// invite accepts an invitation (POST /v1/invitations/accept): the invitee
// chooses a name and password, then signs in.
func (c *Console) invite(w http.ResponseWriter, r *http.Request) {
	f := inviteForm{Token: strings.TrimSpace(r.FormValue("token")), Pre: c.preToken(w, r)}
	v := c.view(w, r, nil, "Accept the invitation", "")
	if r.Method == http.MethodGet {
		v.Data = f
		c.render(w, http.StatusOK, "invite", v)
		return
	}
	f.Name = strings.TrimSpace(r.PostFormValue("name"))
	if !validToken(r, f.Pre) {
		c.reshow(w, "invite", v, f, errStaleForm)
		return
	}
	if pw := r.PostFormValue("password"); pw != r.PostFormValue("password2") {
		c.reshow(w, "invite", v, f, &api.Problem{Status: http.StatusUnprocessableEntity, Detail: "password: the two passwords differ"})
		return
	}
	var out struct {
		User struct {
			Email string `json:"email"`
		} `json:"user"`
	}
	err := c.api.call(r, "", "POST", "/v1/invitations/accept", nil,
		map[string]string{"token": f.Token, "name": f.Name, "password": r.PostFormValue("password")}, &out)
	if err != nil {
		p := problemOf(err)
		if p == nil {
			c.fail(w, r, nil, err)
			return
		}
		c.reshow(w, "invite", v, f, p)
		return
	}
	c.setFlash(w, r, "Invitation accepted: sign in as "+out.User.Email+".")
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// reshow renders a form page again with what was typed and what was wrong,
// with the problem's status.
func (c *Console) reshow(w http.ResponseWriter, page string, v *view, data any, p *api.Problem) {
	v.Data, v.Problem = data, p
	c.render(w, p.Status, page, v)
}
