package main

import (
	"strings"
	"testing"
	"time"
)

// TestAdminBilling: what a root pays and the credit it gets are set by the
// operator with `admin billing` (its own administrators cannot through the
// API, api.TestOnlyTheOperatorCreatesMoney).
func TestAdminBilling(t *testing.T) {
	cfg, run := adminTestEnv(t)
	code, out, errOut := run("parent", "--config", cfg, "--name", "Customer", "--currency", "AUD", "--price", "7")
	if code != 0 {
		t.Fatalf("parent: %d %s %s", code, out, errOut)
	}
	id := strings.Fields(out)[1]
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--billing", "postpaid", "--credit-limit", "5000"}, 0, "price 0.07 AUD per part, postpaid, credit limit 50.00 AUD, balance 0.00 AUD"},
		{[]string{"--price", "9", "--prices", "61=5,614=6"}, 0, "price 0.09 AUD per part, postpaid"},
		{[]string{"--billing", "prepaid"}, 0, "prepaid, balance 0.00 AUD"},
		{[]string{"--price", "-1"}, 2, `--price "-1" must be a non-negative integer`},
		{[]string{"--billing", "credit"}, 2, `--billing "credit" must be prepaid or postpaid`},
		{[]string{"--prices", "61:5"}, 2, `--prices: "61:5" is not PREFIX=MINOR`},
	} {
		code, out, errOut := run(append([]string{"billing", "--config", cfg, "--account", id}, tc.args...)...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("billing %v: %d %q %q, want %d %q", tc.args, code, out, errOut, tc.code, tc.want)
		}
	}
	if code, _, errOut := run("billing", "--config", cfg, "--account", "a0-nosuch"); code != 1 || !strings.Contains(errOut, "not found") {
		t.Errorf("unknown account: %d %s", code, errOut)
	}
	// The operator's quotas for the parent's tree.
	if code, out, errOut := run("quotas", "--config", cfg, "--account", id, "--contacts", "5000", "--automation-rules", "50"); code != 0 ||
		!strings.Contains(out, "contacts          5000") || !strings.Contains(out, "automation_rules  50") || !strings.Contains(out, "groups            1000") {
		t.Errorf("quotas: %d %s %s", code, out, errOut)
	}
	if code, out, _ := run("quotas", "--config", cfg, "--account", id, "--contacts", "0"); code != 0 ||
		!strings.Contains(out, "contacts          100000") || !strings.Contains(out, "automation_rules  50") {
		t.Errorf("quotas back to the default: %d %s", code, out)
	}
	if code, _, errOut := run("quotas", "--config", cfg, "--account", id, "--keys", "1000000000"); code != 1 || !strings.Contains(errOut, "keys: 1000000000 must be between") {
		t.Errorf("quota out of range: %d %s", code, errOut)
	}
	// The operator approves brand names for a parent.
	if code, out, errOut := run("sender-id", "add", "--config", cfg, "--account", id, "PayPal"); code != 0 || !strings.Contains(out, "sender id PayPal approved for account "+id) {
		t.Errorf("sender-id add: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := run("sender-id", "add", "--config", cfg, "--account", id, "Pay Pal!"); code != 1 || !strings.Contains(errOut, "letters and digits") {
		t.Errorf("sender-id add malformed: %d %s", code, errOut)
	}
	if code, out, errOut := run("sender-id", "remove", "--config", cfg, "--account", id, "paypal"); code != 0 || !strings.Contains(out, "no longer approved") {
		t.Errorf("sender-id remove: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := run("sender-id", "remove", "--config", cfg, "--account", id, "paypal"); code != 1 || !strings.Contains(errOut, "not found") {
		t.Errorf("sender-id remove again: %d %s", code, errOut)
	}
}

// TestAdminLedgerCompact: the operator folds a parent's old ledger entries
// into one signed-off opening balance; bad flags are usage errors.
func TestAdminLedgerCompact(t *testing.T) {
	cfg, run := adminTestEnv(t)
	code, out, errOut := run("parent", "--config", cfg, "--name", "Customer", "--currency", "AUD")
	if code != 0 {
		t.Fatalf("parent: %d %s %s", code, out, errOut)
	}
	id := strings.Fields(out)[1]
	for _, amt := range []string{"100", "250"} {
		if code, out, errOut := run("credit", "--config", cfg, "--account", id, amt); code != 0 {
			t.Fatalf("credit: %d %s %s", code, out, errOut)
		}
	}
	tomorrow := time.Now().UTC().Add(24 * time.Hour).Format("2006-01-02")
	code, out, errOut = run("ledger", "compact", "--config", cfg, "--account", id, "--before", tomorrow, "--actor", "ops@example.net")
	if code != 0 || !strings.Contains(out, "compacted 2 ledger entries") || !strings.Contains(out, "opening balance of 350") {
		t.Errorf("compact: %d %q %q", code, out, errOut)
	}
	if code, out, _ := run("ledger", "compact", "--config", cfg, "--account", id, "--before", tomorrow, "--actor", "ops@example.net"); code != 0 ||
		!strings.Contains(out, "nothing to compact") {
		t.Errorf("again: %d %q", code, out)
	}
	if code, _, errOut := run("ledger", "compact", "--config", cfg, "--account", id, "--before", "31/01/2026", "--actor", "x"); code != 2 ||
		!strings.Contains(errOut, `--before "31/01/2026" is not a date like 2026-01-31`) {
		t.Errorf("bad date: %d %q", code, errOut)
	}
	if code, _, errOut := run("ledger", "compact", "--config", cfg, "--account", id, "--before", tomorrow); code != 2 ||
		!strings.Contains(errOut, "usage: smsgate admin ledger compact") {
		t.Errorf("no actor: %d %q", code, errOut)
	}
}
