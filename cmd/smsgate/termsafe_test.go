package main

import (
	"strings"
	"testing"
)

func TestTermSafe(t *testing.T) {
	for in, want := range map[string]string{
		"plain Café ✓":         "plain Café ✓",
		"\x1b[2Jwiped":         `\x1b[2Jwiped`,
		"a\r\nb\tc":            `a\x0d\x0ab\x09c`,
		"pay\u202egnp.exe":     `pay\u202egnp.exe`,
		"\u2066iso\u2069":      `\u2066iso\u2069`,
		"bad \xff byte":        `bad \xff byte`,
		"c1 \u009b31m control": `c1 \u009b31m control`,
	} {
		if got := termSafe(in); got != want {
			t.Errorf("termSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCLIEscapesServerText: what a tenant stored (here an account name
// written before names were checked) cannot drive the terminal of whoever
// lists it; key list shows each key's creator and last use.
func TestCLIEscapesServerText(t *testing.T) {
	e := newCLIEnv(t)
	sub := e.createSub("Sales")
	key, err := e.store.AcctKey(sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.RDB.HSet(t.Context(), key, "name", "Sales\x1b]0;owned\x07\r\nroot\tadmin").Err(); err != nil {
		t.Fatal(err)
	}
	out := e.must("account", "list")
	if strings.ContainsAny(out, "\x1b\x07\r") || !strings.Contains(out, `Sales\x1b]0;owned\x07\x0d\x0aroot\x09admin`) {
		t.Fatalf("account list:\n%q", out)
	}
	e.must("key", "create", "--account", sub.ID, "--role", "advanced", "--name", "desk")
	out = e.must("key", "list", "--account", sub.ID)
	if !strings.Contains(out, "CREATED BY") || !strings.Contains(out, "LAST USED") || !strings.Contains(out, "  key k") {
		t.Fatalf("key list:\n%s", out)
	}
	code, _, errOut := e.run("key", "create", "--account", sub.ID, "--role", "basic")
	if code != 1 || !strings.Contains(errOut, "basic is a user's role") {
		t.Fatalf("basic key: %d %s", code, errOut)
	}
}

// TestCLITeamPage: creating a sub-account returns its own API key, and
// `account list` is the team page: name, contact email, key prefixes,
// balance and status.
func TestCLITeamPage(t *testing.T) {
	e := newCLIEnv(t)
	out := e.must("account", "create", "--name", "Dispatch", "--contact-email", "ops@dispatch.example")
	i := strings.Index(out, "sgk_")
	if i < 0 || !strings.Contains(out, "its API key") {
		t.Fatalf("account create:\n%s", out)
	}
	secret := strings.Fields(out[i:])[0]
	if code, _, errOut := e.runKey(secret, "account", "list"); code != 0 {
		t.Fatalf("the new key does not work: %s", errOut)
	}
	out = e.must("account", "list")
	prefix := secret[:len("sgk_")+11]
	for _, want := range []string{"CONTACT", "API KEYS", "BALANCE", "STATUS", "Dispatch", "ops@dispatch.example", prefix, "active"} {
		if !strings.Contains(out, want) {
			t.Errorf("account list lacks %q:\n%s", want, out)
		}
	}
}
