package main

import (
	"strings"
	"testing"
)

func TestCLILimits(t *testing.T) {
	e := newCLIEnv(t)
	sub := e.createSub("Sales")
	flat := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	out := e.must("limits", "get", "--account", sub.ID)
	if !strings.Contains(flat(out), "per_minute unlimited") || !strings.Contains(flat(out), "spend_per_day unlimited") {
		t.Fatalf("defaults:\n%s", out)
	}
	out = e.must("limits", "set", "--account", sub.ID, "--per-minute", "30", "--spend-per-day", "2000")
	if !strings.Contains(flat(out), "per_minute 30 messages per sender per minute") || !strings.Contains(flat(out), "spend_per_day 2000 minor units") {
		t.Fatalf("set:\n%s", out)
	}
	// Only the flags given change.
	out = e.must("limits", "set", "--account", sub.ID, "--parts-per-day", "500")
	if !strings.Contains(flat(out), "per_minute 30") || !strings.Contains(flat(out), "parts_per_day 500 SMS parts") {
		t.Fatalf("set one:\n%s", out)
	}
	code, _, errOut := e.run("limits", "set", "--account", sub.ID)
	if code != 2 || !strings.Contains(errOut, "--per-minute") {
		t.Fatalf("set without flags: exit %d, %s", code, errOut)
	}
	code, _, errOut = e.run("limits", "set", "--account", sub.ID, "--per-minute", "-3")
	if code != 1 || !strings.Contains(errOut, "per_minute: -3") {
		t.Fatalf("negative: exit %d, %s", code, errOut)
	}
}
