package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestCLIRegistrations: a domain is verified after its TXT record is
// published, or approved by the operator; an address is confirmed with the
// mailed token by its owner, without an API key.
func TestCLIRegistrations(t *testing.T) {
	e := newCLIEnv(t)
	sub := e.createSub("Sales")
	out := e.must("domain", "add", "--account", sub.ID, "sales.example.com")
	i := strings.Index(out, "\"smsgate-verify=")
	value := strings.Trim(strings.Fields(out[i:])[0], `"`)
	code, _, errOut := e.run("domain", "verify", "--account", sub.ID, "sales.example.com")
	if code != 1 || !strings.Contains(errOut, "no TXT record") || !strings.Contains(errOut, "_smsgate-challenge.sales.example.com") {
		t.Fatalf("verify before publishing: exit %d, %s", code, errOut)
	}
	e.dns.TXT("_smsgate-challenge.sales.example.com", value)
	if out := e.must("domain", "verify", "--account", sub.ID, "sales.example.com"); !strings.Contains(out, "domain sales.example.com registered to account "+sub.ID) {
		t.Fatalf("verify:\n%s", out)
	}
	if out := e.must("domain", "list", "--account", sub.ID); strings.TrimSpace(out) != "sales.example.com" {
		t.Fatalf("list after verifying:\n%s", out)
	}
	// An address inside the verified domain is registered at once.
	if out := e.must("address", "add", "--account", sub.ID, "desk@sales.example.com"); !strings.Contains(out, "address desk@sales.example.com registered") {
		t.Fatalf("address in own domain:\n%s", out)
	}
	// Outside it: pending until the mailbox's owner confirms, keyless.
	e.must("address", "add", "--account", sub.ID, "owner@gmail.com")
	tok := e.token("owner@gmail.com")
	code, out, errOut = e.runKey("", "address", "confirm", tok)
	if code != 0 || !strings.Contains(out, "address owner@gmail.com confirmed") {
		t.Fatalf("confirm: exit %d, %s %s", code, out, errOut)
	}
	if code, _, errOut := e.runKey("", "address", "confirm", tok); code != 1 || !strings.Contains(errOut, "unknown, already used or expired") {
		t.Fatalf("confirm twice: exit %d, %s", code, errOut)
	}
	// The operator approves a domain without DNS.
	e.must("domain", "add", "--account", sub.ID, "other.example.com")
	var stdout, stderr bytes.Buffer
	if code := adminDomainApprove(t.Context(), e.store, sub.ID, "other.example.com", &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "approved") {
		t.Fatalf("approve: %d %s %s", code, stdout.String(), stderr.String())
	}
	if out := e.must("domain", "list", "--account", sub.ID); !strings.Contains(out, "other.example.com\n") || strings.Contains(out, "pending") {
		t.Fatalf("list after approval:\n%s", out)
	}
}
