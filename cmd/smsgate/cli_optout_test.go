package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

func TestCLIOptOut(t *testing.T) {
	e := newCLIEnv(t)
	sub := e.createSub("Sales")
	acct := sub.ID

	if out := e.must("optout", "add", "--account", acct, "0412 345 678", "--reason", "asked by phone"); !strings.Contains(out, "+61412345678 added to the opt-out list of "+acct) {
		t.Errorf("add output:\n%s", out)
	}
	if out := e.must("optout", "add", "--account", acct, "+61412345678"); !strings.Contains(out, "already on the opt-out list") {
		t.Errorf("second add output:\n%s", out)
	}
	if out := e.must("optout", "list", "--account", acct); !strings.Contains(out, "+61412345678") || !strings.Contains(out, "asked by phone") {
		t.Errorf("list output:\n%s", out)
	}

	// A blocked send shows in the blocked log and its export.
	_, err := e.store.Accept(t.Context(), accounts.AcceptRequest{AccountID: acct, Messages: []*accounts.Message{{
		Sender: "jo@example.com", To: "61412345678", Text: "hi", Parts: 1}}})
	if !errors.Is(err, accounts.ErrOptedOut) {
		t.Fatalf("accept: %v", err)
	}
	if out := e.must("blocked", "list", "--account", acct); !strings.Contains(out, "+61412345678") || !strings.Contains(out, "jo@example.com") {
		t.Errorf("blocked list output:\n%s", out)
	}
	if out := e.must("blocked", "export", "--account", acct); !strings.HasPrefix(out, "id,created_at,sender,to") || !strings.Contains(out, "61412345678") {
		t.Errorf("blocked export output:\n%s", out)
	}

	if out := e.must("optout", "remove", "--account", acct, "+61412345678"); !strings.Contains(out, "resubscribed") {
		t.Errorf("remove output:\n%s", out)
	}
	if code, _, errOut := e.run("optout", "remove", "--account", acct, "+61412345678"); code != 1 || !strings.Contains(errOut, "HTTP 404") {
		t.Errorf("second remove: exit %d, stderr %s", code, errOut)
	}

	if out := e.must("stoprule", "get", "--account", acct); !strings.Contains(out, "STOP, STOPALL") || !strings.Contains(out, accounts.DefaultStopConfirmation) {
		t.Errorf("stoprule get output:\n%s", out)
	}
	out := e.must("stoprule", "set", "--account", acct, "--keywords", "halt, stop", "--allow-start", "--confirmation", "")
	for _, want := range []string{"HALT, STOP", "allow_start         true", "confirmation        (none)", "START, UNSTOP"} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("stoprule set output lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := e.run("stoprule", "set", "--account", acct, "--keywords", ","); code != 1 || !strings.Contains(errOut, "at least one stop keyword") {
		t.Errorf("empty keywords: exit %d, stderr %s", code, errOut)
	}
	if code, _, _ := e.run("optout", "add", "--account", acct); code != 2 {
		t.Errorf("add without NUMBER: exit %d, want 2", code)
	}
}
