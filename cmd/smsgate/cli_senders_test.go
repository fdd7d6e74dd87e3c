package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

func TestCLISenders(t *testing.T) {
	e := newCLIEnv(t)
	sub := e.createSub("Sales")
	key, _, err := e.store.CreateKey(t.Context(), sub.ID, accounts.RoleSubAdmin, "admin")
	if err != nil {
		t.Fatal(err)
	}
	// The operator's step, straight to the store (as admin number add does).
	var out, errOut bytes.Buffer
	if code := adminNumberRun(t.Context(), e.store, "add", e.root.ID, "+61480000123", &out, &errOut); code != 0 {
		t.Fatalf("admin number add: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "number 61480000123 allocated to account "+e.root.ID) {
		t.Fatalf("admin number add printed %q", out.String())
	}
	if err := e.store.GrantSenderID(t.Context(), e.root.ID, "ACME"); err != nil { // admin sender-id add
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		key    string
		args   []string
		code   int
		stdout string // a line that must appear
		stderr string
	}{
		{"assign", e.key, []string{"number", "assign", "--account", sub.ID, "+61480000123"}, 0, "number +61480000123 assigned to account " + sub.ID, ""},
		{"assign", e.key, []string{"senderid", "add", "--account", sub.ID, "ACME"}, 0, "sender id ACME assigned", ""},
		{"a brand the operator did not approve", e.key, []string{"senderid", "add", "--account", sub.ID, "PayPal"}, 1, "", "smsgate admin sender-id add"},
		{"default", key, []string{"sender", "default", "--account", sub.ID, "ACME"}, 0, "ACME", ""},
		{"list", key, []string{"sender", "list", "--account", sub.ID}, 0, "+61480000123", ""},
		{"sub approves its own", key, []string{"senderid", "add", "--account", sub.ID, "MINE"}, 1, "", "needs role parent_admin"},
		{"default not allowed", key, []string{"sender", "default", "--account", sub.ID, "EVIL"}, 1, "", `"EVIL" is not one of account`},
		{"default without value", key, []string{"sender", "default", "--account", sub.ID}, 2, "", "NUMBER or SENDERID"},
		{"clear", key, []string{"sender", "default", "--account", sub.ID, "--clear"}, 0, "no default", ""},
		{"release", e.key, []string{"number", "release", "--account", sub.ID, "61480000123"}, 0, "number 61480000123 given back", ""},
		{"withdraw", e.key, []string{"senderid", "remove", "--account", sub.ID, "acme"}, 0, "sender id acme withdrawn", ""},
		{"release again", e.key, []string{"number", "release", "--account", sub.ID, "61480000123"}, 1, "", "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := e.runKey(tc.key, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
		})
	}
	out.Reset()
	if code := adminNumberRun(t.Context(), e.store, "remove", "", "61480000123", &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "taken back from account "+e.root.ID) {
		t.Fatalf("admin number remove: exit %d: %s %s", code, out.String(), errOut.String())
	}
	if code := adminNumberRun(t.Context(), e.store, "remove", "", "61480000123", &out, &errOut); code != 1 {
		t.Fatalf("admin number remove again: exit %d", code)
	}
}

func TestAdminNumberUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"give"},
		{"add", "61480000123"}, // no --config
		{"add", "--config", "x.yml", "61480000123"},        // no --account
		{"remove", "--config", "x.yml"},                    // no number
		{"remove", "--config", "x.yml", "614800", "61480"}, // two numbers
	} {
		var out, errOut bytes.Buffer
		if code := adminNumber(t.Context(), args, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "usage: smsgate admin number add") {
			t.Errorf("admin number %v: exit %d, stderr %q", args, code, errOut.String())
		}
	}
}
