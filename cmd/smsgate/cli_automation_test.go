package main

import (
	"regexp"
	"strings"
	"testing"
)

func TestCLIAutomation(t *testing.T) {
	e := newCLIEnv(t)
	sub := e.createSub("Sales").ID

	out := e.must("automation", "create", "--account", sub, "--name", "Info", "--kind", "auto_reply", "--keyword", "info",
		"--text", "Thanks, we got it")
	m := regexp.MustCompile(`(?m)^id\s+(au_\S+)$`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "INFO") || !regexp.MustCompile(`(?m)^enabled\s+true$`).MatchString(out) {
		t.Fatalf("create output:\n%s", out)
	}
	rule := m[1]
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"list", []string{"automation", "list", "--account", sub}, 0, rule, ""},
		{"get", []string{"automation", "get", "--account", sub, rule}, 0, "Thanks, we got it", ""},
		{"disable", []string{"automation", "disable", "--account", sub, rule}, 0, "false", ""},
		{"enable", []string{"automation", "enable", "--account", sub, rule}, 0, "true", ""},
		{"update", []string{"automation", "update", "--account", sub, rule, "--text", "Thank you"}, 0, "Thank you", ""},
		{"forward", []string{"automation", "create", "--account", sub, "--name", "Orders", "--kind", "forward", "--keyword", "order",
			"--forward-to", "ops@example.com, 0412345678"}, 0, "ops@example.com,61412345678", ""},
		{"notice", []string{"automation", "create", "--account", sub, "--name", "Fails", "--kind", "receipt_notice", "--notify", "failed", "--disabled"},
			0, "failed", ""},
		{"list all", []string{"automation", "list", "--account", sub}, 0, "mail the sender on failures", ""},
		{"no kind", []string{"automation", "create", "--account", sub, "--name", "x"}, 2, "", "--kind is required"},
		{"no name", []string{"automation", "create", "--account", sub, "--kind", "auto_reply"}, 2, "", "--name is required"},
		{"no account", []string{"automation", "list"}, 2, "", "--account"},
		{"no rule", []string{"automation", "get", "--account", sub}, 2, "", "RULE is required"},
		{"nothing to update", []string{"automation", "update", "--account", sub, rule}, 2, "", "nothing to change"},
		{"invalid", []string{"automation", "create", "--account", sub, "--name", "x", "--kind", "auto_reply", "--keyword", "two words", "--text", "t"},
			1, "", `keyword: "TWO WORDS" must be one word`},
		{"delete", []string{"automation", "delete", "--account", sub, rule}, 0, "deleted", ""},
		{"deleted", []string{"automation", "get", "--account", sub, rule}, 1, "", "automation rule " + rule + " not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := e.run(tc.args...)
			if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
		})
	}
}
