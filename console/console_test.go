package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/api"
	"github.com/smsgate/smsgate/internal/redistest"
	"github.com/smsgate/smsgate/webhook"
)

// env is a console in front of the real API over a real store on a real
// redis-server: a root account (balance 100.00 AUD) whose administrator
// ann@example.com signs in with password "correct horse battery".
type env struct {
	t    *testing.T
	st   *redisstore.Store
	srv  *httptest.Server
	root *accounts.Account
}

const password = "correct horse battery"

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	rdb := redistest.Start(t)
	st := redisstore.New(rdb, redisstore.Options{PasswordCost: bcrypt.MinCost})
	e := &env{t: t, st: st}
	c, err := New(Options{API: newAPI(rdb, st, slog.New(slog.NewTextHandler(t.Output(), nil))), Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatalf("console: %v", err)
	}
	e.srv = httptest.NewServer(c)
	t.Cleanup(e.srv.Close)
	root, _, err := st.Bootstrap(ctx, accounts.Account{Name: "Root Pty Ltd", DefaultCountry: "AU", Currency: "AUD"})
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	if _, err := st.Credit(ctx, root.ID, 10000, "seed", "test"); err != nil {
		t.Fatalf("credit: %v", err)
	}
	e.root = root
	e.addUser(root.ID, "ann@example.com", accounts.RoleParentAdmin)
	return e
}

// newAPI is the REST API over st, every area served (webhooks too).
func newAPI(rdb *redis.Client, st *redisstore.Store, log *slog.Logger) http.Handler {
	reg := prometheus.NewRegistry()
	return api.New(api.Options{
		Stores: api.Stores{Auth: st, Accounts: st, Registrations: st, Policies: st, Keys: st, Money: st,
			Messages: st, Inbox: st, Users: st, Permissions: st, Billing: st, Stats: st,
			Contacts: st, OptOuts: st, Automations: st, Senders: st, Templates: st, Operator: st},
		Logger: log, Registry: reg, Registerer: reg,
		Webhooks: webhook.New(webhook.Options{Redis: rdb}),
	})
}

// newSub creates a sub-account of the root.
func (e *env) newSub(name string) *accounts.Account {
	e.t.Helper()
	a, err := e.st.CreateAccount(e.t.Context(), accounts.Account{ParentID: e.root.ID, Name: name, DefaultCountry: "AU"})
	if err != nil {
		e.t.Fatalf("create sub-account %s: %v", name, err)
	}
	return a
}

// addUser makes email a member of acct with role.
func (e *env) addUser(acct, email string, role accounts.Role) {
	e.t.Helper()
	ctx := context.Background()
	token, _, err := e.st.CreateInvitation(ctx, accounts.InvitationRequest{AccountID: acct, Email: email, Role: role})
	if err != nil {
		e.t.Fatalf("invite %s: %v", email, err)
	}
	if _, err := e.st.AcceptInvitation(ctx, token, strings.Split(email, "@")[0], password); err != nil {
		e.t.Fatalf("accept %s: %v", email, err)
	}
}

// browser is a client with a cookie jar that does not follow redirects.
type browser struct {
	e    *env
	c    *http.Client
	csrf string // the last form token seen
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// get fetches path and returns the status, body and answer.
func (b *browser) get(path string) (int, string, *http.Response) {
	b.e.t.Helper()
	resp, err := b.c.Get(b.e.srv.URL + path)
	if err != nil {
		b.e.t.Fatalf("GET %s: %v", path, err)
	}
	return b.read(resp)
}

func (b *browser) read(resp *http.Response) (int, string, *http.Response) {
	b.e.t.Helper()
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return resp.StatusCode, string(body), resp
}

// post sends a form (with the last form token unless form has one) and
// returns the status, body and answer; hdr adds request headers.
func (b *browser) post(path string, form url.Values, hdr ...string) (int, string, *http.Response) {
	b.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok && b.csrf != "" {
		form.Set("csrf", b.csrf)
	}
	req, _ := http.NewRequest("POST", b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatalf("POST %s: %v", path, err)
	}
	return b.read(resp)
}

// signIn signs in as email and expects to land on the overview.
func (b *browser) signIn(email string) {
	b.e.t.Helper()
	b.get("/signin")
	st, body, resp := b.post("/signin", url.Values{"email": {email}, "password": {password}})
	if st != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		b.e.t.Fatalf("sign in as %s: %d %s\n%s", email, st, resp.Header.Get("Location"), body)
	}
	b.get("/") // the session's form token
}
