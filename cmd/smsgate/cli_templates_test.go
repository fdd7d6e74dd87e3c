package main

import (
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/api"
	"github.com/smsgate/smsgate/internal/redistest"
	"github.com/smsgate/smsgate/router"
)

// newTemplateCLIEnv is newCLIEnv whose API also sends, through a real
// pipeline with templates.
func newTemplateCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	st := redisstore.New(redistest.Start(t), redisstore.Options{})
	pipe := router.NewPipeline(router.PipelineOptions{Store: st, Templates: st})
	srv := httptest.NewServer(api.New(api.Options{Stores: apiStores(st), Sender: pipe, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}))
	t.Cleanup(srv.Close)
	root, secret, err := st.Bootstrap(t.Context(), accounts.Account{Name: "Root", DefaultCountry: "AU"})
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	if _, err := st.Credit(t.Context(), root.ID, 1000, "seed", "test"); err != nil {
		t.Fatal(err)
	}
	return &cliEnv{t: t, url: srv.URL, key: secret, root: root, store: st}
}

func TestCLITemplates(t *testing.T) {
	e := newTemplateCLIEnv(t)
	root := e.root.ID
	sub := e.createSub("Sales").ID
	file := filepath.Join(t.TempDir(), "body.txt")
	if err := os.WriteFile(file, []byte("Hi {{first_name|there}}, {{body}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := e.must("template", "create", "--account", root, "--name", "Reminder", "--body-file", file)
	id := regexp.MustCompile(`(?m)^id\s+(t\S+)$`).FindStringSubmatch(out)
	if id == nil || !strings.Contains(out, "Hi {{first_name|there}}, {{body}}\n") {
		t.Fatalf("create output:\n%s", out)
	}
	if out := e.must("template", "list", "--account", sub); !strings.Contains(out, "Reminder") ||
		!strings.Contains(out, "parent "+root) {
		t.Fatalf("sub's list:\n%s", out)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"get by name", []string{"template", "get", "--account", sub, "reminder"}, 0, "parent " + root, ""},
		{"sub may not change the parent's", []string{"template", "update", "--account", sub, "reminder", "--body", "x"}, 1, "",
			"shared read-only"},
		{"own shadows", []string{"template", "create", "--account", sub, "--name", "reminder", "--body", "Sales {{body}}"}, 0, "own", ""},
		{"list shows shadowed", []string{"template", "list", "--account", sub}, 0, "(shadowed)", ""},
		{"update", []string{"template", "update", "--account", root, id[1], "--body", "Hello {{name|you}}"}, 0, "Hello {{name|you}}", ""},
		{"bad braces", []string{"template", "create", "--account", root, "--name", "x", "--body", "a }} b"}, 1, "",
			`body: at character 3, "}}" closes no "{{"`},
		{"no name", []string{"template", "create", "--account", root, "--body", "b"}, 2, "", "--name is required"},
		{"both bodies", []string{"template", "create", "--account", root, "--name", "n", "--body", "b", "--body-file", file}, 2, "",
			"not both"},
		{"nothing to update", []string{"template", "update", "--account", root, "x"}, 2, "", "give --name"},
		{"no template", []string{"template", "get", "--account", root}, 2, "", "TEMPLATE"},
		{"send with a template", []string{"message", "send", "--template", "Reminder", "--text", "hi", "--to", "0412345678"}, 0,
			"1 message(s) queued for account " + root, ""},
		{"send an unknown template", []string{"message", "send", "--template", "nope", "--to", "0412345678"}, 1, "", `no template named "nope"`},
		{"send nothing", []string{"message", "send", "--to", "0412345678"}, 2, "", "--text or --template is required"},
		{"delete", []string{"template", "delete", "--account", root, "Reminder"}, 0, "deleted", ""},
		{"deleted", []string{"template", "get", "--account", root, "Reminder"}, 1, "", "template Reminder not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := e.run(tc.args...)
			if code != tc.code || !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", tc.args, code, tc.code, stdout, stderr)
			}
		})
	}
	msgs, err := e.store.ListMessages(t.Context(), root, 10)
	if err != nil || len(msgs) != 1 || msgs[0].Text != "Hello you" {
		t.Fatalf("messages %+v, %v; want one \"Hello you\"", msgs, err)
	}
}
