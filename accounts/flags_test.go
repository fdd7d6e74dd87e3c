package accounts

import (
	"slices"
	"strings"
	"testing"
)

func TestFlagsList(t *testing.T) {
	fs := Flags()
	if len(fs) != 29 {
		t.Fatalf("%d flags, want 29 (seeds 002 and 003)", len(fs))
	}
	if !slices.IsSorted(fs) || len(slices.Compact(slices.Clone(fs))) != len(fs) {
		t.Fatalf("flags not sorted or duplicated: %v", fs)
	}
	for _, f := range fs {
		if !ValidFlag(f) || f != strings.ToLower(f) {
			t.Errorf("flag %q", f)
		}
	}
	if ValidFlag("root") || ValidFlag("") {
		t.Fatal("unknown flag accepted")
	}
	d := DefaultPermissions()
	for _, f := range d.Granted {
		if !ValidFlag(f) {
			t.Errorf("default flag %q unknown", f)
		}
	}
	for _, off := range []string{FlagModifyUsers, FlagBilling, FlagFinance, FlagTopUp, FlagGlobalSending,
		FlagReportingAll, FlagHidePricing, FlagAnalyticsExport, FlagIncomingSMSExport, FlagBlockedSMSExport} {
		if slices.Contains(d.Granted, off) || slices.Contains(d.Enabled, off) {
			t.Errorf("default permissions include %s", off)
		}
	}
	for _, on := range []string{FlagAccessSMS, FlagSendBulk, FlagUseDatabase, FlagAnalytics, FlagIncomingSMS, FlagPrices, FlagProfileEdit, FlagSettings} {
		if !slices.Contains(d.Enabled, on) {
			t.Errorf("default permissions lack %s", on)
		}
	}
}

func TestCan(t *testing.T) {
	root := &Account{ID: "a0-r"}
	sub := &Account{ID: "a0-s", ParentID: "a0-r", Permissions: Permissions{
		Granted: []string{FlagAccessSMS, FlagSendBulk}, Enabled: []string{FlagAccessSMS}}}
	// Enabled outside Granted (never written by the store) does not count.
	odd := &Account{ID: "a0-o", ParentID: "a0-r", Permissions: Permissions{Enabled: []string{FlagFinance}}}
	for _, tc := range []struct {
		name string
		a    *Account
		flag string
		want bool
	}{
		{"root has every flag", root, FlagFinance, true},
		{"sub enabled", sub, FlagAccessSMS, true},
		{"sub granted, not enabled", sub, FlagSendBulk, false},
		{"sub not granted", sub, FlagFinance, false},
		{"enabled without grant", odd, FlagFinance, false},
		{"nil account", nil, FlagAccessSMS, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.Can(tc.flag); got != tc.want {
				t.Fatalf("Can(%s) = %v", tc.flag, got)
			}
		})
	}
}
