package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

// TestSignInOut: a page without a session leads to the sign-in page and
// back; a wrong password is the API's 401; the session cookie is HttpOnly
// and SameSite; signing out revokes the session key, so a copy of the
// cookie no longer works.
func TestSignInOut(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	st, _, resp := b.get("/messages?status=failed")
	if st != http.StatusSeeOther || resp.Header.Get("Location") != "/signin?next="+url.QueryEscape("/messages?status=failed") {
		t.Fatalf("signed out: %d to %q", st, resp.Header.Get("Location"))
	}
	b.get("/signin")
	st, body, _ := b.post("/signin", url.Values{"email": {"ann@example.com"}, "password": {"wrong horse battery"}, "next": {"/messages"}})
	if st != http.StatusUnauthorized || !strings.Contains(body, "wrong email or password") {
		t.Fatalf("wrong password: %d\n%s", st, body)
	}
	st, _, resp = b.post("/signin", url.Values{"email": {"ann@example.com"}, "password": {password}, "next": {"/messages"}})
	if st != http.StatusSeeOther || resp.Header.Get("Location") != "/messages" {
		t.Fatalf("sign in: %d to %q", st, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure || session.MaxAge != int(sessionTTL.Seconds()) {
		t.Fatalf("session cookie %+v", session)
	}
	st, body, _ = b.get("/")
	if st != http.StatusOK || !strings.Contains(body, "Root Pty Ltd") || !strings.Contains(body, "ann@example.com") {
		t.Fatalf("overview: %d\n%s", st, body)
	}
	st, _, resp = b.post("/signout", nil)
	if st != http.StatusSeeOther || resp.Header.Get("Location") != "/signin" {
		t.Fatalf("sign out: %d to %q", st, resp.Header.Get("Location"))
	}
	// The stolen cookie: the key behind it is revoked.
	thief := e.browser()
	u, _ := url.Parse(e.srv.URL)
	thief.c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: session.Value}})
	if st, _, resp := thief.get("/"); st != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
		t.Fatalf("the signed-out session's cookie: %d %q", st, resp.Header.Get("Location"))
	}
}

// TestNoOpenRedirect: after sign-in only a path of the console is followed.
func TestNoOpenRedirect(t *testing.T) {
	for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "evil", "", "/ok\r\nX: y"} {
		if got := localNext(next); got != "/" {
			t.Errorf("localNext(%q) = %q, want /", next, got)
		}
	}
	if got := localNext("/messages?status=failed"); got != "/messages?status=failed" {
		t.Errorf("a local path: %q", got)
	}
}

// TestCSRF: a signed-in user's form without the session's token, with a
// token of another session, or posted from another site is refused; and
// a forged sign-in too.
func TestCSRF(t *testing.T) {
	e := newEnv(t)
	e.addUser(e.root.ID, "bob@example.com", "sub_admin")
	ann, bob := e.browser(), e.browser()
	ann.signIn("ann@example.com")
	bob.signIn("bob@example.com")
	create := url.Values{"name": {"Forged"}}
	for name, try := range map[string]func() (int, string, *http.Response){
		"no token": func() (int, string, *http.Response) {
			f := url.Values{"csrf": {""}, "name": {"Forged"}}
			return ann.post("/team", f)
		},
		"another's token": func() (int, string, *http.Response) {
			f := url.Values{"csrf": {bob.csrf}, "name": {"Forged"}}
			return ann.post("/team", f)
		},
		"cross-site": func() (int, string, *http.Response) { return ann.post("/team", create, "Sec-Fetch-Site", "cross-site") },
		"other origin": func() (int, string, *http.Response) {
			return ann.post("/team", create, "Origin", "https://evil.example")
		},
		"sign-in, no token": func() (int, string, *http.Response) {
			return e.browser().post("/signin", url.Values{"email": {"ann@example.com"}, "password": {password}})
		},
		"sign-in, cross-site": func() (int, string, *http.Response) {
			return e.browser().post("/signin", url.Values{"email": {"ann@example.com"}, "password": {password}, "csrf": {"x"}}, "Sec-Fetch-Site", "cross-site")
		},
	} {
		if st, body, _ := try(); st != http.StatusForbidden || !strings.Contains(strings.ToLower(body), "forgery") && !strings.Contains(body, "security token") {
			t.Errorf("%s: %d\n%s", name, st, body)
		}
	}
	var n int
	if subs, err := e.st.ListSubAccounts(t.Context(), e.root.ID); err != nil {
		t.Fatal(err)
	} else {
		n = len(subs)
	}
	if n != 0 {
		t.Fatalf("a forged form created %d sub-accounts", n)
	}
	if st, body, _ := ann.post("/team", create); st != http.StatusCreated || !strings.Contains(body, "Forged") {
		t.Fatalf("the real form: %d\n%s", st, body)
	}
}

// TestSecurityHeaders: every page has the Content-Security-Policy and the
// other headers of a console holding private data.
func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("ann@example.com")
	if st, _, _ := e.browser().get("/favicon.ico"); st != http.StatusNoContent {
		t.Errorf("/favicon.ico: %d, want 204", st)
	}
	for _, path := range []string{"/signin", "/", "/messages", "/static/console.css", "/nope"} {
		_, _, resp := b.get(path)
		h := resp.Header
		if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", path, h)
		}
		if !strings.HasPrefix(path, "/static/") && h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, h.Get("Cache-Control"))
		}
	}
}

// TestSignInThrottled: guessing passwords through the console meets the
// API's login throttle, and the page says to wait.
func TestSignInThrottled(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.get("/signin")
	var st int
	var body string
	for range accounts.LoginMaxFailures + 1 {
		st, body, _ = b.post("/signin", url.Values{"email": {"ann@example.com"}, "password": {"a wrong guess"}})
	}
	if st != http.StatusTooManyRequests || !strings.Contains(body, "too many failed logins") {
		t.Fatalf("after %d wrong passwords: %d\n%s", accounts.LoginMaxFailures+1, st, body)
	}
	// Even the right password waits now (from an address it never
	// signed in from).
	if st, _, _ := b.post("/signin", url.Values{"email": {"ann@example.com"}, "password": {password}}); st != http.StatusTooManyRequests {
		t.Fatalf("the right password while throttled: %d", st)
	}
}

// TestSecureCookies: behind TLS (an https public URL) every cookie is
// Secure, and the answers carry HSTS.
func TestSecureCookies(t *testing.T) {
	c, err := New(Options{API: http.NotFoundHandler(), PublicURL: "https://sms.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest("GET", "/signin", nil))
	cookies := rec.Result().Cookies()
	if len(cookies) == 0 || rec.Header().Get("Strict-Transport-Security") == "" {
		t.Fatalf("cookies %v, headers %v", cookies, rec.Header())
	}
	for _, ck := range cookies {
		if !ck.Secure || !ck.HttpOnly {
			t.Errorf("cookie %s: Secure %v, HttpOnly %v", ck.Name, ck.Secure, ck.HttpOnly)
		}
	}
	if _, err := New(Options{API: http.NotFoundHandler(), PublicURL: "ftp://x"}); err == nil {
		t.Error("an ftp public URL was taken")
	}
}
