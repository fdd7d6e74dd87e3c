package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/api"
	"github.com/smsgate/smsgate/internal/dnstest"
	"github.com/smsgate/smsgate/internal/redistest"
)

// apiStores wires st into every area of the API, as serve does.
func apiStores(st *redisstore.Store) api.Stores {
	return api.Stores{Auth: st, Accounts: st, Registrations: st, Policies: st, Keys: st, Money: st, Messages: st, Inbox: st,
		Users: st, Permissions: st, Billing: st, Stats: st, Contacts: st, OptOuts: st, Automations: st,
		Senders: st, Templates: st}
}

// cliEnv is an API server over a real store and redis-server, with a
// bootstrapped root account holding 10000 minor units.
type cliEnv struct {
	t     *testing.T
	url   string
	key   string
	root  *accounts.Account
	store *redisstore.Store
	dns   *dnstest.Server // the API's resolver for domain verification
	mails *mailbox
}

func newCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	st := redisstore.New(redistest.Start(t), redisstore.Options{})
	e := &cliEnv{t: t, store: st, dns: dnstest.Start(t), mails: &mailbox{}}
	srv := httptest.NewServer(api.New(api.Options{Stores: apiStores(st), Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
		LookupTXT: e.dns.Resolver().LookupTXT,
		Mailer: func(_ context.Context, to, _, body string) error {
			e.mails.mu.Lock()
			defer e.mails.mu.Unlock()
			e.mails.last = map[string]string{to: body}
			return nil
		}}))
	t.Cleanup(srv.Close)
	root, secret, err := st.Bootstrap(t.Context(), accounts.Account{Name: "Root", DefaultCountry: "AU"})
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	if _, err := st.Credit(t.Context(), root.ID, 10000, "seed", "test"); err != nil {
		t.Fatalf("credit: %v", err)
	}
	e.url, e.key, e.root = srv.URL, secret, root
	return e
}

// mailbox keeps the last mail the API sent (address confirmations).
type mailbox struct {
	mu   sync.Mutex
	last map[string]string // to: body
}

// token returns the confirmation token last mailed to addr.
func (e *cliEnv) token(addr string) string {
	e.t.Helper()
	e.mails.mu.Lock()
	defer e.mails.mu.Unlock()
	body := e.mails.last[addr]
	for _, cmd := range []string{"smsgate address confirm ", "smsgate user accept "} {
		if i := strings.Index(body, cmd); i >= 0 {
			return strings.Fields(body[i+len(cmd):])[0]
		}
	}
	e.t.Fatalf("no token mailed to %s", addr)
	return ""
}

// run runs the CLI with the environment's URL and key.
func (e *cliEnv) run(args ...string) (code int, stdout, stderr string) {
	return e.runKey(e.key, args...)
}

func (e *cliEnv) runKey(key string, args ...string) (int, string, string) {
	e.t.Helper()
	env := map[string]string{"SMSGATE_URL": e.url, "SMSGATE_API_KEY": key}
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(e.t.Context(), 10*time.Second)
	defer cancel()
	code := runCLI(ctx, args, func(k string) string { return env[k] }, &out, &errOut)
	return code, out.String(), errOut.String()
}

// must runs a command that must succeed and returns its stdout.
func (e *cliEnv) must(args ...string) string {
	e.t.Helper()
	code, out, errOut := e.run(args...)
	if code != 0 {
		e.t.Fatalf("smsgate %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	e.t.Logf("$ smsgate %s\n%s", strings.Join(args, " "), out)
	return out
}

// createSub creates a sub-account with --json and returns it.
func (e *cliEnv) createSub(name string) accounts.Account {
	e.t.Helper()
	var a accounts.Account
	if err := json.Unmarshal([]byte(e.must("account", "create", "--name", name, "--json")), &a); err != nil {
		e.t.Fatalf("account create --json: %v", err)
	}
	return a
}

func TestCLIWorkflow(t *testing.T) {
	e := newCLIEnv(t)
	a := e.createSub("Sales")
	b := e.createSub("Support")
	if a.ParentID != e.root.ID || a.DefaultCountry != "AU" {
		t.Fatalf("created %+v", a)
	}

	steps := []struct {
		name string
		args []string
		want []string // substrings of stdout
	}{
		{"account list", []string{"account", "list"}, []string{"ID", "NAME", "Sales", "Support", a.ID, e.root.ID}},
		{"account get", []string{"account", "get", a.ID}, []string{"name", "Sales", "status", "active"}},
		{"domain add", []string{"domain", "add", "--account", a.ID, "sales.example.com"}, []string{"domain sales.example.com is pending", "_smsgate-challenge.sales.example.com  TXT  \"smsgate-verify=", "smsgate domain verify --account " + a.ID + " sales.example.com"}},
		{"domain list", []string{"domain", "list", "--account", a.ID}, []string{"sales.example.com", "pending: TXT _smsgate-challenge.sales.example.com"}},
		{"address add, flags last", []string{"address", "add", "Jo@Example.org", "--account", b.ID}, []string{"address jo@example.org is pending: a one-time confirmation token was mailed to jo@example.org"}},
		{"address list", []string{"address", "list", "--account", b.ID}, []string{"jo@example.org"}},
		{"address remove", []string{"address", "remove", "--account", b.ID, "jo@example.org"}, []string{"removed"}},
		{"credit", []string{"balance", "credit", "--account", a.ID, "2500", "--ref", "PO-1"}, []string{"credit of 2500", a.ID, "+2500", "-2500", "7500"}},
		{"debit", []string{"balance", "debit", "--account", a.ID, "500"}, []string{"debit of 500", "2000"}},
		{"balance get", []string{"balance", "get", "--account", a.ID}, []string{"20.00 USD", "2000 minor units"}},
		{"ledger", []string{"balance", "ledger", "--account", a.ID, "--limit", "5"}, []string{"KIND", "transfer_in", "PO-1"}},
		{"deactivate", []string{"account", "deactivate", b.ID}, []string{"deactivated"}},
		{"activate", []string{"account", "activate", b.ID}, []string{"active"}},
		{"message list", []string{"message", "list", "--account", a.ID}, []string{"ID", "STATUS"}},
		{"inbox list", []string{"inbox", "list", "--limit", "3"}, []string{"FROM"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			out := e.must(s.args...)
			for _, w := range s.want {
				if !strings.Contains(out, w) {
					t.Fatalf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	if got := mustAccount(t, e.store, e.root.ID).Balance; got != 8000 {
		t.Fatalf("root balance %d after credit 2500 and debit 500, want 8000", got)
	}

	// Keys: create a basic key, use it, revoke it.
	out := e.must("key", "create", "--account", a.ID, "--role", "sub_admin", "--name", "ops")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	secret := lines[len(lines)-1]
	if !strings.HasPrefix(secret, "sgk_") || !strings.Contains(out, "shown once") {
		t.Fatalf("key create output:\n%s", out)
	}
	if code, out, _ := e.runKey(secret, "domain", "list", "--account", a.ID); code != 0 || !strings.Contains(out, "sales.example.com") {
		t.Fatalf("new key: exit %d, %s", code, out)
	}
	keyID := strings.Fields(lines[0])[1]
	if out := e.must("key", "list", "--account", a.ID); !strings.Contains(out, keyID) || !strings.Contains(out, "ops") {
		t.Fatalf("key list:\n%s", out)
	}
	e.must("key", "revoke", "--account", a.ID, keyID)
	if code, _, errOut := e.runKey(secret, "account", "list"); code != 1 || !strings.Contains(errOut, "(HTTP 401)") {
		t.Fatalf("revoked key: exit %d, %s", code, errOut)
	}
	// A relay key: listed as such, refused by the API.
	out = e.must("key", "create", "--account", a.ID, "--relay", "--name", "exchange")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	relay := lines[len(lines)-1]
	if !strings.HasPrefix(relay, "sgk_") || !strings.Contains(out, "relay key") || !strings.Contains(out, "SMTP AUTH only") {
		t.Fatalf("relay key create:\n%s", out)
	}
	if out := e.must("key", "list", "--account", a.ID); !strings.Contains(out, "smtp relay") {
		t.Fatalf("key list lacks the relay key:\n%s", out)
	}
	if code, _, errOut := e.runKey(relay, "domain", "list", "--account", a.ID); code != 1 || !strings.Contains(errOut, "SMTP relay credential") {
		t.Fatalf("relay key on the API: exit %d, %s", code, errOut)
	}
	if code, _, errOut := e.run("key", "create", "--account", a.ID, "--relay", "--role", "basic"); code != 2 || !strings.Contains(errOut, "--relay takes no --role") {
		t.Fatalf("relay with role: exit %d, %s", code, errOut)
	}
}

func mustAccount(t *testing.T, st *redisstore.Store, id string) *accounts.Account {
	t.Helper()
	a, err := st.GetAccount(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCLIErrors(t *testing.T) {
	e := newCLIEnv(t)
	a := e.createSub("Sales")
	b := e.createSub("Support")
	e.must("domain", "add", "--account", a.ID, "sales.example.com")
	if err := e.store.ApproveDomain(t.Context(), a.ID, "sales.example.com"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		key    string
		args   []string
		code   int
		stderr string
	}{
		{"domain taken", e.key, []string{"domain", "add", "--account", b.ID, "sales.example.com"}, 1,
			"smsgate: domain: sales.example.com is already registered to another account (HTTP 409)\n"},
		{"public domain", e.key, []string{"domain", "add", "--account", b.ID, "gmail.com"}, 1, "gmail.com is a public suffix or a free mail domain"},
		{"credit beyond balance", e.key, []string{"balance", "credit", "--account", a.ID, "10001"}, 1, "needs 100.01 USD, balance is 100.00 USD (HTTP 422)"},
		{"unknown account", e.key, []string{"account", "get", "a0-nothing"}, 1, "account a0-nothing not found (HTTP 404)"},
		{"bad key", "sgk_nope", []string{"account", "list"}, 1, "(HTTP 401)"},
		{"missing --account", e.key, []string{"domain", "add", "x.example.com"}, 2, "domain add: --account is required"},
		{"missing domain", e.key, []string{"domain", "add", "--account", a.ID}, 2, "domain add: DOMAIN is required"},
		{"extra argument", e.key, []string{"account", "get", a.ID, "more"}, 2, `unexpected argument "more"`},
		{"bad amount", e.key, []string{"balance", "credit", "--account", a.ID, "1.50"}, 2, "must be a positive whole number"},
		{"missing name", e.key, []string{"account", "create"}, 2, "account create: --name is required"},
		{"missing role", e.key, []string{"key", "create", "--account", a.ID}, 2, "key create: --role (or --relay) is required"},
		{"unknown flag", e.key, []string{"account", "list", "--colour"}, 2, "flag provided but not defined"},
		{"unknown verb", e.key, []string{"domain", "frob"}, 2, `unknown command "domain frob"`},
		{"no verb", e.key, []string{"balance"}, 2, "balance get"},
		{"no api key", "", []string{"account", "list"}, 2, "SMSGATE_API_KEY is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := e.runKey(tc.key, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d (want %d)\nstderr: %s\nwant it to contain: %s\nstdout: %s", code, tc.code, errOut, tc.stderr, out)
			}
		})
	}
}

func TestCLIUnreachable(t *testing.T) {
	srv := httptest.NewServer(nil)
	url := srv.URL
	srv.Close() // nothing listens there now
	env := map[string]string{"SMSGATE_URL": url, "SMSGATE_API_KEY": "k"}
	var out, errOut bytes.Buffer
	code := runCLI(t.Context(), []string{"account", "list"}, func(k string) string { return env[k] }, &out, &errOut)
	if code != 1 || !strings.HasPrefix(errOut.String(), "smsgate: ") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
}

func TestCLIJSON(t *testing.T) {
	e := newCLIEnv(t)
	a := e.createSub("Sales")
	var list struct {
		Accounts []accounts.Account `json:"accounts"`
	}
	if err := json.Unmarshal([]byte(e.must("account", "list", "--json")), &list); err != nil {
		t.Fatalf("account list --json: %v", err)
	}
	if len(list.Accounts) != 2 || list.Accounts[1].ID != a.ID {
		t.Fatalf("accounts %+v", list.Accounts)
	}
	out := e.must("balance", "credit", "--json", "--account", a.ID, "100")
	var tr map[string]accounts.LedgerEntry
	if err := json.Unmarshal([]byte(out), &tr); err != nil || tr["to"].Balance != 100 {
		t.Fatalf("credit --json: %v\n%s", err, out)
	}
}
