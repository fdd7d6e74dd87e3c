// Package console is smsgate's web console: server-rendered pages for the
// administrators and staff of the account holders, served by the http role
// under "/" (the REST API keeps /v1).
//
// The console is a client of the REST API in the same process (backend):
// every page reads, and every action writes, through the API handler with
// the signed-in user's session key. Authorisation is therefore the API's
// one rule table (GET /v1/me names what the user may do, so that pages and
// actions they may not use are not shown, and the API refuses them if
// forced); validation, hide_pricing and error texts are the API's too.
//
// Pages are html/template, styles and the few scripts embedded; every page
// works without JavaScript. Forms carry a token bound to the session
// (HMAC of the session key) and cross-origin posts are refused
// (http.CrossOriginProtection); the Content-Security-Policy allows only the
// console's own scripts and styles.
package console

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/smsgate/smsgate/api"
)

var (
	//go:embed templates/*.html
	templateFS embed.FS
	//go:embed static
	staticFS embed.FS
)

// Options configures the console.
type Options struct {
	// API is the REST API's handler (api.New): the console's backend.
	API http.Handler
	// Logger receives the console's errors; default discards.
	Logger *slog.Logger
	// PublicURL is the console's address as users reach it
	// ("https://sms.example.com"); with https, cookies are Secure. Empty:
	// Secure only on requests that came over TLS.
	PublicURL string
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

// Console is the web console's handler.
type Console struct {
	api    backend
	log    *slog.Logger
	secure bool
	now    func() time.Time
	pages  map[string]*template.Template
	mux    *http.ServeMux
	cop    *http.CrossOriginProtection
}

// contentSecurityPolicy allows the console's own scripts, styles and
// images only: no inline script, no framing, forms post only here.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// New builds the console.
func New(opts Options) (*Console, error) {
	if opts.API == nil {
		return nil, errors.New("console: Options.API is required")
	}
	c := &Console{api: backend{api: opts.API}, log: opts.Logger, now: opts.Now, cop: http.NewCrossOriginProtection()}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if opts.PublicURL != "" {
		u, err := url.Parse(opts.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("console: public URL %q is not an http(s) URL", opts.PublicURL)
		}
		c.secure = u.Scheme == "https"
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c.pages = pages
	c.mux = http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	c.mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles(static)))
	for _, rt := range c.routes() {
		c.mux.Handle(rt.pattern, rt.h)
	}
	return c, nil
}

// ServeHTTP serves the console: security headers on every answer, then
// cross-origin posts refused, then the page.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	if c.secure || r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	if err := c.cop.Check(r); err != nil {
		c.fail(w, r, nil, &api.Problem{Status: http.StatusForbidden, Title: "Forbidden", Type: "csrf",
			Detail: "this form was sent from another site: refused (cross-site request forgery)"})
		return
	}
	c.mux.ServeHTTP(w, r)
}

// route is one page or action of the console.
type route struct {
	pattern string
	h       http.Handler
}

// session is the signed-in user of a request.
type session struct {
	secret string
	me     api.Me
	csrf   string
	loc    *time.Location
}

// may reports whether the user may do action on their own account.
func (s *session) may(action string) bool {
	for _, a := range s.me.May {
		if a == action {
			return true
		}
	}
	return false
}

// maySub reports whether the user may do action on their sub-accounts.
func (s *session) maySub(action string) bool {
	for _, a := range s.me.MayOnSubs {
		if a == action {
			return true
		}
	}
	return false
}

// maxForm bounds a posted form (not a file upload).
const maxForm = 256 << 10

// handler is a page or action of a signed-in user. It returns an error to
// show: an *api.Problem with its status, anything else a 500.
type handler func(w http.ResponseWriter, r *http.Request, s *session) error

// signedIn wraps h: the session cookie's key must authenticate (else the
// sign-in page, with the way back), and every POST must carry the
// session's form token.
func (c *Console) signedIn(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(sessionCookie)
		if err != nil || ck.Value == "" {
			c.toSignIn(w, r)
			return
		}
		if r.Method == http.MethodPost {
			// A form is small; a CSV import is a file, bounded too.
			limit := int64(maxForm)
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
				limit = maxUpload
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		s := &session{secret: ck.Value, csrf: csrfToken(ck.Value), loc: location(r)}
		if err := c.api.call(r, s.secret, "GET", "/v1/me", nil, nil, &s.me); err != nil {
			if p := problemOf(err); p != nil && p.Status == http.StatusUnauthorized {
				http.SetCookie(w, c.cookie(r, sessionCookie, "", -1))
				c.toSignIn(w, r)
				return
			}
			c.fail(w, r, nil, err)
			return
		}
		if r.Method == http.MethodPost && !validToken(r, s.csrf) {
			c.fail(w, r, s, errStaleForm)
			return
		}
		if err := h(w, r, s); err != nil {
			c.fail(w, r, s, err)
		}
	})
}

// errStaleForm refuses a form whose token is missing or not the session's.
var errStaleForm = &api.Problem{Status: http.StatusForbidden, Title: "Forbidden", Type: "csrf",
	Detail: "the form's security token is missing or stale: reload the page and try again"}

// toSignIn sends the browser to the sign-in page, to come back to r's page
// (a GET) afterwards.
func (c *Console) toSignIn(w http.ResponseWriter, r *http.Request) {
	next := "/"
	if r.Method == http.MethodGet {
		next = r.URL.RequestURI()
	}
	http.Redirect(w, r, "/signin?next="+url.QueryEscape(next), http.StatusSeeOther)
}

// fail shows err as a page: a problem with its status and detail, any
// other error as a 500 with a reference that the log has in full.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	p := problemOf(err)
	if p == nil {
		ref := newRef()
		c.log.Error("console error", "ref", ref, "method", r.Method, "path", r.URL.Path, "err", err)
		p = &api.Problem{Status: http.StatusInternalServerError, Title: "Internal error", Detail: "internal error (ref " + ref + ")"}
	}
	w.Header().Del("Content-Disposition")
	v := c.view(w, r, s, p.Title, "")
	v.Problem = p
	c.render(w, p.Status, "error", v)
}

// newRef is a short reference of an internal error.
func newRef() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// done ends an action: its outcome is flashed and the browser goes to
// page (post/redirect/get).
func (c *Console) done(w http.ResponseWriter, r *http.Request, page, msg string) error {
	if msg != "" {
		c.setFlash(w, r, msg)
	}
	http.Redirect(w, r, page, http.StatusSeeOther)
	return nil
}

// staticFiles serves the embedded assets; they change only with the
// binary, so browsers may keep them an hour.
func staticFiles(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}
