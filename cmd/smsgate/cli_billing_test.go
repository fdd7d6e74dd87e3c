package main

import (
	"strings"
	"testing"
)

func TestCLIBilling(t *testing.T) {
	e := newCLIEnv(t)
	sub := e.createSub("Sales")
	steps := []struct {
		name string
		args []string
		want []string // substrings of stdout
	}{
		{"money settings", []string{"account", "set", sub.ID, "--billing", "postpaid", "--credit-limit", "500",
			"--auto-recharge-threshold", "100", "--auto-recharge-amount", "200", "--low-balance", "50"},
			[]string{"billing  postpaid", "credit_limit  5.00", "auto_recharge  2.00", "when below 1.00", "low_balance  0.50"}},
		{"half of auto-recharge keeps the other", []string{"account", "set", sub.ID, "--auto-recharge-amount", "300"},
			[]string{"auto_recharge  3.00", "when below 1.00"}},
		{"rename", []string{"account", "rename", sub.ID, "Sales AU"}, []string{"name             Sales AU"}},
		{"price set", []string{"price", "set", "--account", sub.ID, "614", "9"}, []string{"614        0.09"}},
		{"price set another", []string{"price", "set", "--account", sub.ID, "61", "7"}, []string{"61         0.07", "614        0.09"}},
		{"price remove", []string{"price", "remove", "--account", sub.ID, "614"}, []string{"61         0.07"}},
		{"price list", []string{"price", "list", "--account", sub.ID}, []string{"(default)", "61 "}},
		{"top-up by the parent", []string{"balance", "topup", "--account", sub.ID, "250", "--ref", "po 9"},
			[]string{"top-up of 250 minor units done", sub.ID + "  +250"}},
		{"export", []string{"balance", "export", "--account", sub.ID},
			[]string{"id,at,kind,amount,amount_formatted,balance,balance_formatted,currency,ref,actor", ",topup_in,250,2.50,250,2.50,", "po 9"}},
		{"delete", []string{"account", "delete", sub.ID}, []string{"account " + sub.ID + " deleted", "balance of 2.50", "returned to " + e.root.ID}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			out := e.must(st.args...)
			flat := strings.Join(strings.Fields(out), " ") // tabwriter pads with spaces
			for _, w := range st.want {
				if !strings.Contains(flat, strings.Join(strings.Fields(w), " ")) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	code, _, errOut := e.run("account", "get", sub.ID)
	if code != 1 || !strings.Contains(errOut, "not found") {
		t.Fatalf("get deleted: exit %d, %s", code, errOut)
	}
	code, _, errOut = e.run("account", "set", sub.ID)
	if code != 2 || !strings.Contains(errOut, "nothing to set") {
		t.Fatalf("set without flags: exit %d, %s", code, errOut)
	}
	code, _, errOut = e.run("price", "set", "--account", e.root.ID, "61", "-3")
	if code != 2 || !strings.Contains(errOut, "PRICE") {
		t.Fatalf("negative price: exit %d, %s", code, errOut)
	}
}
