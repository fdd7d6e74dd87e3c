package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/api"
	"github.com/smsgate/smsgate/internal/redistest"
)

// newUserCLIEnv is newCLIEnv over a store whose passwords use bcrypt's
// minimum cost (cost 12 takes seconds a hash under -race).
func newUserCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	st := redisstore.New(redistest.Start(t), redisstore.Options{PasswordCost: bcrypt.MinCost})
	e := &cliEnv{t: t, store: st, mails: &mailbox{}}
	srv := httptest.NewServer(api.New(api.Options{Stores: apiStores(st), Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
		Mailer: func(_ context.Context, to, _, body string) error {
			e.mails.mu.Lock()
			defer e.mails.mu.Unlock()
			if e.mails.last == nil {
				e.mails.last = map[string]string{}
			}
			e.mails.last[to] = body
			return nil
		}}))
	t.Cleanup(srv.Close)
	root, secret, err := st.Bootstrap(t.Context(), accounts.Account{Name: "Root", DefaultCountry: "AU"})
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	e.url, e.key, e.root = srv.URL, secret, root
	return e
}

// runEnv runs the CLI with exactly the environment env.
func runEnv(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	code := runCLI(ctx, args, func(k string) string { return env[k] }, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCLIUsers(t *testing.T) {
	e := newUserCLIEnv(t)
	sub := e.createSub("Sales")
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("correct horse battery\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// invite (--json gives the token), list, accept without a key, log in.
	var inv newInvitationResp
	if err := json.Unmarshal([]byte(e.must("user", "invite", "--account", sub.ID, "--email", "alice@example.com", "--role", "sub_admin", "--json")), &inv); err != nil {
		t.Fatal(err)
	}
	if out := e.must("user", "invitations", "--account", sub.ID); !strings.Contains(out, inv.Invitation.ID) || !strings.Contains(out, "alice@example.com") {
		t.Fatalf("user invitations:\n%s", out)
	}
	if inv.Token != "" || !inv.Mailed {
		t.Fatalf("invite %+v: the token goes to the invitee's mailbox only", inv)
	}
	code, out, errOut := runEnv(t, map[string]string{"SMSGATE_URL": e.url}, "user", "accept", e.token("alice@example.com"), "--name", "Alice", "--password-file", pwFile)
	if code != 0 || !strings.Contains(out, "alice@example.com is now sub_admin of account "+sub.ID) {
		t.Fatalf("user accept: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runEnv(t, map[string]string{"SMSGATE_URL": e.url, "SMSGATE_PASSWORD": "correct horse battery"},
		"login", "--email", "alice@example.com", "--account", sub.ID)
	session := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(session, "sgk_") || strings.Contains(session, "\n") {
		t.Fatalf("login: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = e.runKey(session, "user", "list", "--account", sub.ID)
	if code != 0 || !strings.Contains(out, "alice@example.com") || !strings.Contains(out, "owner") {
		t.Fatalf("user list with the session key: exit %d\n%s", code, out)
	}
	alice, err := e.store.UserByEmail(t.Context(), "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}

	// A second member, managed by alice's session.
	if out := e.must("user", "invite", "--account", sub.ID, "--email", "bob@example.com", "--role", "basic"); !strings.Contains(out, "the token was mailed to bob@example.com") {
		t.Fatalf("user invite:\n%s", out)
	}
	bobToken := e.token("bob@example.com")
	code, _, errOut = runEnv(t, map[string]string{"SMSGATE_URL": e.url, "SMSGATE_PASSWORD": "correct horse battery"}, "user", "accept", bobToken, "--name", "Bob")
	if code != 0 {
		t.Fatalf("bob accepts: %s", errOut)
	}
	bob, err := e.store.UserByEmail(t.Context(), "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	pending := e.must("user", "invite", "--account", sub.ID, "--email", "carol@example.com", "--role", "basic", "--json")
	var carol newInvitationResp
	if err := json.Unmarshal([]byte(pending), &carol); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name   string
		key    string
		args   []string
		code   int
		output string // in stdout (exit 0) or stderr
	}{
		{"promote bob, named by email", session, []string{"user", "set-role", "--account", sub.ID, "Bob@Example.com", "advanced"}, 0, "advanced"},
		{"no such member", session, []string{"user", "set-role", "--account", sub.ID, "nobody@example.com", "advanced"}, 1, "nobody@example.com is not a member"},
		{"alice un-owns herself", session, []string{"user", "owner", "--account", sub.ID, alice.ID, "off"}, 0, alice.ID},
		{"and takes it back", session, []string{"user", "owner", "--account", sub.ID, alice.ID, "on"}, 0, "owner"},
		{"the last admin stays", e.key, []string{"user", "set-role", "--account", sub.ID, alice.ID, "basic"}, 1, "(HTTP 409)"},
		{"owner must be on or off", e.key, []string{"user", "owner", "--account", sub.ID, alice.ID, "maybe"}, 2, "must be on or off"},
		{"set-role needs two arguments", e.key, []string{"user", "set-role", "--account", sub.ID, alice.ID}, 2, "USER and ROLE"},
		{"invite needs --email", e.key, []string{"user", "invite", "--account", sub.ID, "--role", "basic"}, 2, "--email is required"},
		{"revoke carol's invitation", session, []string{"user", "revoke-invite", "--account", sub.ID, carol.Invitation.ID}, 0, "revoked"},
		{"her token is dead", "", []string{"user", "accept", e.token("carol@example.com"), "--name", "Carol", "--password-file", pwFile}, 1, "(HTTP 410)"},
		{"remove bob", session, []string{"user", "remove", "--account", sub.ID, "bob@example.com"}, 0, "member bob@example.com removed"},
		{"bob is gone", session, []string{"user", "remove", "--account", sub.ID, bob.ID}, 1, "(HTTP 404)"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			env := map[string]string{"SMSGATE_URL": e.url, "SMSGATE_API_KEY": st.key}
			code, out, errOut := runEnv(t, env, st.args...)
			got := out
			if st.code != 0 {
				got = errOut
			}
			if code != st.code || !strings.Contains(got, st.output) {
				t.Fatalf("smsgate %s: exit %d, want %d with %q\nstdout: %s\nstderr: %s", strings.Join(st.args, " "), code, st.code, st.output, out, errOut)
			}
		})
	}

	logins := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr string
	}{
		{"no password", map[string]string{"SMSGATE_URL": e.url}, []string{"login", "--email", "alice@example.com"}, 2, "SMSGATE_PASSWORD"},
		{"wrong password", map[string]string{"SMSGATE_URL": e.url, "SMSGATE_PASSWORD": "wrong horse battery"}, []string{"login", "--email", "alice@example.com"}, 1, "wrong email or password (HTTP 401)"},
		{"no email", map[string]string{"SMSGATE_URL": e.url}, []string{"login"}, 2, "--email is required"},
		{"other commands still need a key", map[string]string{"SMSGATE_URL": e.url}, []string{"user", "list", "--account", sub.ID}, 2, "SMSGATE_API_KEY is not set"},
	}
	for _, tt := range logins {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runEnv(t, tt.env, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.stderr) {
				t.Fatalf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", code, tt.code, tt.stderr, out, errOut)
			}
		})
	}
	// Without --account, a member of one account logs into it.
	code, out, errOut = runEnv(t, map[string]string{"SMSGATE_URL": e.url, "SMSGATE_PASSWORD": "correct horse battery"}, "login", "--email", "alice@example.com")
	if code != 0 || !strings.HasPrefix(out, "sgk_") {
		t.Fatalf("login without --account: exit %d\n%s%s", code, out, errOut)
	}
}

func TestCLIConfigFile(t *testing.T) {
	e := newUserCLIEnv(t)
	dir := t.TempDir()
	write := func(name, text string, mode os.FileMode) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.conf", "# smsgate CLI\n\nurl = "+e.url+"/\nkey = "+e.key+"\n", 0o600)
	loose := write("loose.conf", "url="+e.url+"\nkey="+e.key+"\n", 0o644)
	bad := write("bad.conf", "url = "+e.url+"\ntoken = x\n", 0o600)
	noEq := write("noeq.conf", "url "+e.url+"\n", 0o600)
	home := filepath.Join(dir, "home")
	write("home/.config/smsgate/cli.conf", "url = "+e.url+"\nkey = "+e.key+"\n", 0o600)

	tests := []struct {
		name   string
		env    map[string]string
		code   int
		stderr string
	}{
		{"SMSGATE_CONFIG", map[string]string{"SMSGATE_CONFIG": good}, 0, ""},
		{"default path under HOME", map[string]string{"HOME": home}, 0, ""},
		{"environment wins over the file", map[string]string{"SMSGATE_CONFIG": good, "SMSGATE_API_KEY": "sgk_bad"}, 1, "HTTP 401"},
		{"readable by others: a warning", map[string]string{"SMSGATE_CONFIG": loose}, 0, "chmod 600"},
		{"unknown setting", map[string]string{"SMSGATE_CONFIG": bad}, 2, "bad.conf:2: unknown setting \"token\""},
		{"not name = value", map[string]string{"SMSGATE_CONFIG": noEq}, 2, "noeq.conf:1:"},
		{"missing named file", map[string]string{"SMSGATE_CONFIG": filepath.Join(dir, "none.conf")}, 2, "none.conf"},
		{"no file under HOME", map[string]string{"HOME": dir, "SMSGATE_URL": e.url}, 2, "SMSGATE_API_KEY is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runEnv(t, tt.env, "account", "get", e.root.ID)
			if code != tt.code || !strings.Contains(errOut, tt.stderr) {
				t.Fatalf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", code, tt.code, tt.stderr, out, errOut)
			}
			if code == 0 && !strings.Contains(out, e.root.ID) {
				t.Fatalf("account get printed:\n%s", out)
			}
		})
	}
}
