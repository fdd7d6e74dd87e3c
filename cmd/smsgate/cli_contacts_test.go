package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

func TestCLIContactsAndGroups(t *testing.T) {
	e := newCLIEnv(t)
	acct := e.root.ID
	sub, err := e.store.CreateAccount(t.Context(), accounts.Account{Name: "Sales", ParentID: acct})
	if err != nil {
		t.Fatal(err)
	}

	out := e.must("contact", "add", "--account", acct, "0412 000 001", "--first-name", "Ann", "--field", "team=red")
	cid := regexp.MustCompile(`(?m)^id\s+(c\S+)$`).FindStringSubmatch(out)
	if cid == nil || !strings.Contains(out, "+61412000001") || !strings.Contains(out, "field team") {
		t.Fatalf("contact add:\n%s", out)
	}
	if out := e.must("contact", "update", "--account", acct, cid[1], "--last-name", "Lee"); !strings.Contains(out, "Lee") {
		t.Fatalf("contact update:\n%s", out)
	}
	file := filepath.Join(t.TempDir(), "c.csv")
	if err := os.WriteFile(file, []byte("number,first_name\n0412000002,Bob\nbad,Cy\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out = e.must("group", "create", "--account", acct, "Sales Team")
	gid := regexp.MustCompile(`(?m)^id\s+(g\S+)$`).FindStringSubmatch(out)
	if gid == nil {
		t.Fatalf("group create:\n%s", out)
	}
	out = e.must("contact", "import", "--account", acct, file, "--group", gid[1])
	if !strings.Contains(out, "1 contacts imported, 0 updated, 1 rows refused") || !strings.Contains(out, `row 3: number "bad"`) {
		t.Fatalf("import:\n%s", out)
	}
	if out := e.must("contact", "list", "--account", acct, "--limit", "1"); !strings.Contains(out, "more: --after 61412000001") {
		t.Fatalf("contact list:\n%s", out)
	}
	if out := e.must("contact", "export", "--account", acct); !strings.HasPrefix(out, "number,first_name,last_name,email,team\n+61412000001,Ann,Lee,,red\n") {
		t.Fatalf("export:\n%s", out)
	}
	if out := e.must("group", "add", "--account", acct, gid[1], cid[1], "0412000003"); !strings.Contains(out, "2 added (1 new contacts); group "+gid[1]+" has 3 members") {
		t.Fatalf("group add:\n%s", out)
	}
	if out := e.must("group", "remove", "--account", acct, gid[1], "0412000003"); !strings.Contains(out, "removed from group") {
		t.Fatalf("group remove:\n%s", out)
	}
	if out := e.must("group", "members", "--account", acct, gid[1]); strings.Count(out, "+614") != 2 {
		t.Fatalf("group members:\n%s", out)
	}
	if out := e.must("group", "share", "--account", acct, gid[1], sub.ID); !strings.Contains(out, sub.ID) {
		t.Fatalf("group share:\n%s", out)
	}
	if out := e.must("group", "list", "--account", sub.ID); !strings.Contains(out, "Sales Team") || !strings.Contains(out, "read-only") {
		t.Fatalf("sub's groups:\n%s", out)
	}
	e.must("group", "unshare", "--account", acct, gid[1], sub.ID)
	if out := e.must("group", "list", "--account", sub.ID); strings.Contains(out, "Sales Team") {
		t.Fatalf("unshared group still listed:\n%s", out)
	}
	e.must("group", "delete", "--account", acct, gid[1])
	e.must("contact", "delete", "--account", acct, cid[1])

	cases := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"add without number", []string{"contact", "add", "--account", acct}, 2, "NUMBER is required"},
		{"bad field flag", []string{"contact", "add", "--account", acct, "0412000009", "--field", "novalue"}, 2, "KEY=VALUE"},
		{"update nothing", []string{"contact", "update", "--account", acct, "c0-x"}, 2, "give at least one"},
		{"bad number", []string{"contact", "add", "--account", acct, "12"}, 1, "number:"},
		{"missing file", []string{"contact", "import", "--account", acct, "/nonexistent.csv"}, 1, "no such file"},
		{"share nothing", []string{"group", "share", "--account", acct, "g0-x"}, 2, "SUBACCOUNT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			code, _, stderr := e.run(tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.err) {
				t.Fatalf("exit %d stderr %q, want %d with %q", code, stderr, tc.code, tc.err)
			}
		})
	}
}
