package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/internal/redistest"
)

// TestAdminParent: the operator creates the first parent account with
// `admin bootstrap` and every further customer's with `admin parent`, each
// a root account of its own with its own parent_admin key.
func TestAdminParent(t *testing.T) {
	cfg, run := adminTestEnv(t)
	if code, out, errOut := run("bootstrap", "--config", cfg, "--name", "First Customer"); code != 0 || !strings.Contains(out, "First Customer") {
		t.Fatalf("bootstrap: %d %s %s", code, out, errOut)
	}
	code, _, errOut := run("bootstrap", "--config", cfg, "--name", "Second Customer")
	if code != 1 || !strings.Contains(errOut, "smsgate admin parent") {
		t.Fatalf("second bootstrap: %d %s", code, errOut)
	}
	ids := map[string]bool{}
	for _, name := range []string{"Second Customer", "Third Customer"} {
		code, out, errOut := run("parent", "--config", cfg, "--name", name, "--country", "AU", "--currency", "AUD", "--credit", "500")
		if code != 0 || !strings.Contains(out, "("+name+") created") || !strings.Contains(out, "sgk_") {
			t.Fatalf("parent %s: %d %s %s", name, code, out, errOut)
		}
		ids[strings.Fields(out)[1]] = true
	}
	if len(ids) != 2 {
		t.Fatalf("parent accounts %v, want two distinct", ids)
	}
	if code, _, errOut := run("parent", "--config", cfg); code != 2 || !strings.Contains(errOut, "--name is required") {
		t.Fatalf("parent without a name: %d %s", code, errOut)
	}
}

// adminTestEnv starts a redis-server, writes a configuration naming it and
// returns its path and a runner of "smsgate admin ..." commands.
func adminTestEnv(t *testing.T) (cfg string, run func(args ...string) (int, string, string)) {
	t.Helper()
	rs := redistest.StartServer(t, redistest.Options{})
	cfg = filepath.Join(t.TempDir(), "smsgate.yml")
	if err := os.WriteFile(cfg, []byte("roles: {smtp: false, dispatch: false, http: true}\nredis: {addr: \""+rs.Addr+"\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := adminCmd(t.Context(), args, &out, &errOut)
		return code, out.String(), errOut.String()
	}
}
