package main

import (
	"strings"
	"testing"
)

func TestCLIPolicy(t *testing.T) {
	e := newCLIEnv(t)
	sub := e.createSub("Sales")
	flat := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	out := flat(e.must("policy", "get", "--account", sub.ID))
	if !strings.Contains(out, "networks none") || !strings.Contains(out, "spf on") || !strings.Contains(out, "dkim off") || !strings.Contains(out, "source default") {
		t.Fatalf("default:\n%s", out)
	}
	out = flat(e.must("policy", "set", "--account", sub.ID, "--networks", "192.0.2.0/24, 2001:db8::/48", "--spf", "off"))
	if !strings.Contains(out, "networks 192.0.2.0/24, 2001:db8::/48") || !strings.Contains(out, "spf off") || !strings.Contains(out, "source this account") {
		t.Fatalf("set:\n%s", out)
	}
	// Only the flags given change.
	out = flat(e.must("policy", "set", "--account", sub.ID, "--dkim", "on"))
	if !strings.Contains(out, "networks 192.0.2.0/24") || !strings.Contains(out, "spf off") || !strings.Contains(out, "dkim on") {
		t.Fatalf("set one:\n%s", out)
	}
	out = flat(e.must("policy", "set", "--account", sub.ID, "--inherit"))
	if !strings.Contains(out, "source default") || !strings.Contains(out, "spf on") {
		t.Fatalf("inherit:\n%s", out)
	}
	code, _, errOut := e.run("policy", "set", "--account", sub.ID, "--networks", "0.0.0.0/0")
	if code != 1 || !strings.Contains(errOut, "networks[0]: 0.0.0.0/0 is broader than /8") {
		t.Fatalf("too broad: exit %d, %s", code, errOut)
	}
	code, _, errOut = e.run("policy", "set", "--account", sub.ID, "--spf", "maybe")
	if code != 2 || !strings.Contains(errOut, `--spf: "maybe" is not on or off`) {
		t.Fatalf("bad flag: exit %d, %s", code, errOut)
	}
	code, _, errOut = e.run("policy", "set", "--account", sub.ID)
	if code != 2 || !strings.Contains(errOut, "--inherit") {
		t.Fatalf("no flags: exit %d, %s", code, errOut)
	}
}
