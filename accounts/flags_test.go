package accounts

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/smsgate/smsgate/internal/redistest"
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

func TestCreateAccountPermissions(t *testing.T) {
	acctEachShards(t, func(t *testing.T, s *Store) {
		root := acctMustCreate(t, s, Account{Name: "Root"})
		if len(root.Permissions.Granted) != 0 || !root.Can(FlagFinance) {
			t.Fatalf("root permissions %+v", root.Permissions)
		}
		sub := acctMustCreate(t, s, Account{Name: "Sub", ParentID: root.ID})
		got, err := s.GetAccount(acctTestCtx(t), sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := DefaultPermissions(); !slices.Equal(got.Permissions.Granted, want.Granted) || !slices.Equal(got.Permissions.Enabled, want.Enabled) {
			t.Fatalf("stored %+v, want defaults %+v", got.Permissions, want)
		}
		given := acctMustCreate(t, s, Account{Name: "Given", ParentID: root.ID, Permissions: Permissions{
			Granted: []string{"send_bulk", "access_sms", "access_sms"}, Enabled: []string{"access_sms"}}})
		if !slices.Equal(given.Permissions.Granted, []string{"access_sms", "send_bulk"}) {
			t.Fatalf("given permissions %+v", given.Permissions)
		}
		for _, tc := range []struct {
			name, detail string
			p            Permissions
		}{
			{"unknown flag", `granted: unknown permission flag "fly"`, Permissions{Granted: []string{"fly"}}},
			{"enabled beyond granted", "enabled: flag finance is not granted", Permissions{Granted: []string{"access_sms"}, Enabled: []string{"finance"}}},
			{"enabled without granted", "enabled: flag access_sms is not granted", Permissions{Enabled: []string{"access_sms"}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.CreateAccount(acctTestCtx(t), Account{Name: "X", ParentID: root.ID, Permissions: tc.p})
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.detail) {
					t.Fatalf("err = %v, want ErrInvalid with %q", err, tc.detail)
				}
			})
		}
	})
}

func TestSetPermissions(t *testing.T) {
	acctEachShards(t, func(t *testing.T, s *Store) {
		ctx := acctTestCtx(t)
		root := acctMustCreate(t, s, Account{Name: "Root"})
		for _, tc := range []struct {
			name     string
			byParent bool
			p        Permissions
			err      error  // nil: success
			detail   string // part of the error text
			want     Permissions
		}{
			{"parent grants and enables", true, Permissions{Granted: []string{"modify_users", "access_sms", "send_bulk"}, Enabled: []string{"access_sms", "modify_users"}},
				nil, "", Permissions{Granted: []string{"access_sms", "modify_users", "send_bulk"}, Enabled: []string{"access_sms", "modify_users"}}},
			{"self enables within granted", false, Permissions{Enabled: []string{"access_sms", "send_bulk", "modify_users"}},
				nil, "", Permissions{Granted: []string{"access_sms", "modify_users", "send_bulk"}, Enabled: []string{"access_sms", "modify_users", "send_bulk"}}},
			{"self disables", false, Permissions{Enabled: []string{"modify_users"}},
				nil, "", Permissions{Granted: []string{"access_sms", "modify_users", "send_bulk"}, Enabled: []string{"modify_users"}}},
			{"seed 002 trap: self enables beyond granted", false, Permissions{Enabled: []string{"modify_users", "finance"}},
				ErrNotPermitted, "flag finance was not granted", Permissions{}},
			{"self changes granted", false, Permissions{Granted: []string{"access_sms", "finance", "modify_users", "send_bulk"}},
				ErrNotPermitted, "granted: only the parent", Permissions{}},
			{"self repeats granted unchanged", false, Permissions{Granted: []string{"send_bulk", "access_sms", "modify_users"}, Enabled: []string{"access_sms"}},
				nil, "", Permissions{Granted: []string{"access_sms", "modify_users", "send_bulk"}, Enabled: []string{"access_sms"}}},
			{"unknown flag", true, Permissions{Granted: []string{"teleport"}}, ErrInvalid, `granted: unknown permission flag "teleport"`, Permissions{}},
			{"parent enables beyond granted", true, Permissions{Enabled: []string{"finance"}}, ErrInvalid, "enabled: flag finance is not granted", Permissions{}},
			{"parent narrows granted: enabled clipped", true, Permissions{Granted: []string{"modify_users", "send_bulk"}},
				nil, "", Permissions{Granted: []string{"modify_users", "send_bulk"}, Enabled: []string{"modify_users"}}},
			{"parent clears", true, Permissions{Granted: []string{}, Enabled: []string{}}, nil, "", Permissions{Granted: []string{}, Enabled: []string{}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				sub := acctMustCreate(t, s, Account{Name: "Sub", ParentID: root.ID})
				// Every case starts from the state after the first case.
				if err := s.SetPermissions(ctx, sub.ID, Permissions{Granted: []string{"modify_users", "access_sms", "send_bulk"}, Enabled: []string{"access_sms", "modify_users"}}, true); err != nil {
					t.Fatal(err)
				}
				if tc.name == "self disables" || tc.name == "seed 002 trap: self enables beyond granted" {
					if err := s.SetPermissions(ctx, sub.ID, Permissions{Enabled: []string{"access_sms", "modify_users", "send_bulk"}}, false); err != nil {
						t.Fatal(err)
					}
				}
				before, _ := s.GetAccount(ctx, sub.ID)
				err := s.SetPermissions(ctx, sub.ID, tc.p, tc.byParent)
				got, gerr := s.GetAccount(ctx, sub.ID)
				if gerr != nil {
					t.Fatal(gerr)
				}
				if tc.err != nil {
					if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.detail) {
						t.Fatalf("err = %v, want %v with %q", err, tc.err, tc.detail)
					}
					if !slices.Equal(got.Permissions.Granted, before.Permissions.Granted) || !slices.Equal(got.Permissions.Enabled, before.Permissions.Enabled) {
						t.Fatalf("refused change wrote %+v (was %+v)", got.Permissions, before.Permissions)
					}
					return
				}
				if err != nil {
					t.Fatalf("SetPermissions: %v", err)
				}
				if !slices.Equal(got.Permissions.Granted, tc.want.Granted) || !slices.Equal(got.Permissions.Enabled, tc.want.Enabled) {
					t.Fatalf("stored %+v, want %+v", got.Permissions, tc.want)
				}
			})
		}
		t.Run("root", func(t *testing.T) {
			if err := s.SetPermissions(ctx, root.ID, Permissions{Granted: []string{}}, true); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
		t.Run("unknown account", func(t *testing.T) {
			if err := s.SetPermissions(ctx, "a0-nope", Permissions{}, true); !errors.Is(err, ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		})
	})
}

// TestSetPermissionsRace: the parent withdraws and restores a grant while
// the sub-account's admin keeps enabling it. Enabled never leaves Granted.
func TestSetPermissionsRace(t *testing.T) {
	s := NewStore(redistest.Start(t), StoreOptions{})
	ctx := acctTestCtx(t)
	root := acctMustCreate(t, s, Account{Name: "Root"})
	sub := acctMustCreate(t, s, Account{Name: "Sub", ParentID: root.ID})
	wide := Permissions{Granted: []string{"access_sms", "finance"}}
	narrow := Permissions{Granted: []string{"access_sms"}}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				var err error
				if g%2 == 0 {
					p := narrow
					if i%2 == 0 {
						p = wide
					}
					err = s.SetPermissions(ctx, sub.ID, p, true)
				} else {
					err = s.SetPermissions(ctx, sub.ID, Permissions{Enabled: []string{"access_sms", "finance"}}, false)
					if errors.Is(err, ErrNotPermitted) {
						err = nil
					}
				}
				if err != nil {
					errs <- err
					return
				}
				a, err := s.GetAccount(ctx, sub.ID)
				if err != nil {
					errs <- err
					return
				}
				for _, f := range a.Permissions.Enabled {
					if !slices.Contains(a.Permissions.Granted, f) {
						errs <- errors.New("enabled " + f + " outside granted " + strings.Join(a.Permissions.Granted, ","))
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
