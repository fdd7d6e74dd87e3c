package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/smsgate/smsgate/accounts"
)

// Cookies of the console. The session cookie holds the session key that
// POST /v1/auth/login returned (it expires with it); the pre-session cookie
// a random value that the sign-in and invitation forms echo (double
// submit), so that a forged sign-in is refused too; the flash cookie the
// outcome of the last action, shown once after its redirect.
const (
	sessionCookie = "smsgate_session"
	preCookie     = "smsgate_pre"
	flashCookie   = "smsgate_flash"
	tzCookie      = "smsgate_tz"
	csrfField     = "csrf"
)

// cookie is a console cookie: HttpOnly, SameSite=Lax (a link from a mail
// signs in; a cross-site form post carries no session), Secure when the
// console is served over TLS (its public URL is https, or the request came
// over TLS).
func (c *Console) cookie(r *http.Request, name, value string, maxAge time.Duration) *http.Cookie {
	ck := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: c.secure || r.TLS != nil}
	switch {
	case maxAge < 0:
		ck.MaxAge = -1
	case maxAge > 0:
		ck.MaxAge = int(maxAge.Seconds())
	}
	return ck
}

// csrfToken is the form token of a session: an HMAC of a fixed label
// under the session secret. It needs no storage, changes with every
// session, and cannot be made without the secret, which the HttpOnly cookie
// keeps from scripts and other sites.
func csrfToken(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("smsgate console csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validToken reports whether the form's token matches want.
func validToken(r *http.Request, want string) bool {
	got := r.PostFormValue(csrfField)
	return want != "" && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// preToken returns the pre-session token of r, setting a new one when r has
// none (the sign-in and invitation pages).
func (c *Console) preToken(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(preCookie); err == nil && len(ck.Value) >= 32 {
		return ck.Value
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, c.cookie(r, preCookie, v, time.Hour))
	return v
}

// setFlash records the outcome of an action for the page after the
// redirect.
func (c *Console) setFlash(w http.ResponseWriter, r *http.Request, msg string) {
	http.SetCookie(w, c.cookie(r, flashCookie, url.QueryEscape(msg), time.Minute))
}

// takeFlash returns and clears the flash message.
func (c *Console) takeFlash(w http.ResponseWriter, r *http.Request) string {
	ck, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, c.cookie(r, flashCookie, "", -1))
	msg, _ := url.QueryUnescape(ck.Value)
	return msg
}

// location is the user's time zone: the browser's, told by the console's
// script (a cookie), else UTC.
func location(r *http.Request) *time.Location {
	if ck, err := r.Cookie(tzCookie); err == nil {
		name, _ := url.QueryUnescape(ck.Value)
		if name != "" && len(name) < 64 && !strings.Contains(name, "..") {
			if loc, err := time.LoadLocation(name); err == nil {
				return loc
			}
		}
	}
	return time.UTC
}

// localNext is where to go after signing in: a path of this site only,
// never another host (an open redirect).
func localNext(s string) string {
	if s == "" || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") || strings.ContainsAny(s, "\r\n") {
		return "/"
	}
	return s
}

// sessionTTL is how long a session cookie lives: the session key's life.
const sessionTTL = accounts.SessionTTL
