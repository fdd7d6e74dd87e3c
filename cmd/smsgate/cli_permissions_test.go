package main

import (
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

func TestCLIPermissions(t *testing.T) {
	e := newCLIEnv(t)
	sub := e.createSub("Sales")
	key, _, err := e.store.CreateKey(t.Context(), sub.ID, accounts.RoleSubAdmin, "admin")
	if err != nil {
		t.Fatal(err)
	}
	// Granting and enabling in one step (issue 10).
	out := e.must("permissions", "set", "--account", sub.ID, "--grant", "access_sms,send_bulk,modify_users", "--enable", "modify_users")
	if flat := strings.Join(strings.Fields(out), " "); !strings.Contains(flat, "modify_users yes yes") || !strings.Contains(flat, "analytics - -") {
		t.Fatalf("grant and enable in one step:\n%s", out)
	}
	for _, tc := range []struct {
		name   string
		key    string
		args   []string
		code   int
		stdout string // a line that must appear
		stderr string
	}{
		{"get as parent", e.key, []string{"permissions", "get", "--account", sub.ID}, 0, "modify_users", ""},
		{"parent account", e.key, []string{"permissions", "get", "--account", e.root.ID}, 0, "every flag", ""},
		{"self enables within granted", key, []string{"permissions", "set", "--account", sub.ID, "--enable", "send_bulk"}, 0, "send_bulk", ""},
		{"self disables", key, []string{"permissions", "set", "--account", sub.ID, "--disable", "access_sms"}, 0, "access_sms", ""},
		{"self enables beyond the grant", key, []string{"permissions", "set", "--account", sub.ID, "--enable", "finance"}, 1, "", "flag finance was not granted"},
		{"self grants", key, []string{"permissions", "set", "--account", sub.ID, "--grant", "finance"}, 1, "", "granted"},
		{"unknown flag", e.key, []string{"permissions", "set", "--account", sub.ID, "--grant", "fly"}, 2, "", `unknown flag "fly"`},
		{"nothing to set", e.key, []string{"permissions", "set", "--account", sub.ID}, 2, "", "--grant"},
		{"no account", e.key, []string{"permissions", "get"}, 2, "", "--account"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := e.runKey(tc.key, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
		})
	}
	a, err := e.store.GetAccount(t.Context(), sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(a.Permissions.Granted, ",") != "access_sms,modify_users,send_bulk" || strings.Join(a.Permissions.Enabled, ",") != "modify_users,send_bulk" {
		t.Fatalf("stored %+v", a.Permissions)
	}
}
