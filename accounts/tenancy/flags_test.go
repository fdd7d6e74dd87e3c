package tenancy_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

func TestCreateAccountPermissions(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root"})
		if len(root.Permissions.Granted) != 0 || !root.Can(accounts.FlagFinance) {
			t.Fatalf("root permissions %+v", root.Permissions)
		}
		sub := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sub", ParentID: root.ID})
		got, err := s.GetAccount(storetest.AcctTestCtx(t), sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := accounts.DefaultPermissions(); !slices.Equal(got.Permissions.Granted, want.Granted) || !slices.Equal(got.Permissions.Enabled, want.Enabled) {
			t.Fatalf("stored %+v, want defaults %+v", got.Permissions, want)
		}
		given := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Given", ParentID: root.ID, Permissions: accounts.Permissions{
			Granted: []string{"send_bulk", "access_sms", "access_sms"}, Enabled: []string{"access_sms"}}})
		if !slices.Equal(given.Permissions.Granted, []string{"access_sms", "send_bulk"}) {
			t.Fatalf("given permissions %+v", given.Permissions)
		}
		for _, tc := range []struct {
			name, detail string
			p            accounts.Permissions
		}{
			{"unknown flag", `granted: unknown permission flag "fly"`, accounts.Permissions{Granted: []string{"fly"}}},
			{"enabled beyond granted", "enabled: flag finance is not granted", accounts.Permissions{Granted: []string{"access_sms"}, Enabled: []string{"finance"}}},
			{"enabled without granted", "enabled: flag access_sms is not granted", accounts.Permissions{Enabled: []string{"access_sms"}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.CreateAccount(storetest.AcctTestCtx(t), accounts.Account{Name: "X", ParentID: root.ID, Permissions: tc.p})
				if !errors.Is(err, accounts.ErrInvalid) || !strings.Contains(err.Error(), tc.detail) {
					t.Fatalf("err = %v, want ErrInvalid with %q", err, tc.detail)
				}
			})
		}
	})
}

func TestSetPermissions(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root"})
		for _, tc := range []struct {
			name     string
			byParent bool
			p        accounts.Permissions
			err      error  // nil: success
			detail   string // part of the error text
			want     accounts.Permissions
		}{
			{"parent grants and enables", true, accounts.Permissions{Granted: []string{"modify_users", "access_sms", "send_bulk"}, Enabled: []string{"access_sms", "modify_users"}},
				nil, "", accounts.Permissions{Granted: []string{"access_sms", "modify_users", "send_bulk"}, Enabled: []string{"access_sms", "modify_users"}}},
			{"self enables within granted", false, accounts.Permissions{Enabled: []string{"access_sms", "send_bulk", "modify_users"}},
				nil, "", accounts.Permissions{Granted: []string{"access_sms", "modify_users", "send_bulk"}, Enabled: []string{"access_sms", "modify_users", "send_bulk"}}},
			{"self disables", false, accounts.Permissions{Enabled: []string{"modify_users"}},
				nil, "", accounts.Permissions{Granted: []string{"access_sms", "modify_users", "send_bulk"}, Enabled: []string{"modify_users"}}},
			{"seed 002 trap: self enables beyond granted", false, accounts.Permissions{Enabled: []string{"modify_users", "finance"}},
				accounts.ErrNotPermitted, "flag finance was not granted", accounts.Permissions{}},
			{"self changes granted", false, accounts.Permissions{Granted: []string{"access_sms", "finance", "modify_users", "send_bulk"}},
				accounts.ErrNotPermitted, "granted: only the parent", accounts.Permissions{}},
			{"self repeats granted unchanged", false, accounts.Permissions{Granted: []string{"send_bulk", "access_sms", "modify_users"}, Enabled: []string{"access_sms"}},
				nil, "", accounts.Permissions{Granted: []string{"access_sms", "modify_users", "send_bulk"}, Enabled: []string{"access_sms"}}},
			{"unknown flag", true, accounts.Permissions{Granted: []string{"teleport"}}, accounts.ErrInvalid, `granted: unknown permission flag "teleport"`, accounts.Permissions{}},
			{"parent enables beyond granted", true, accounts.Permissions{Enabled: []string{"finance"}}, accounts.ErrInvalid, "enabled: flag finance is not granted", accounts.Permissions{}},
			{"parent narrows granted: enabled clipped", true, accounts.Permissions{Granted: []string{"modify_users", "send_bulk"}},
				nil, "", accounts.Permissions{Granted: []string{"modify_users", "send_bulk"}, Enabled: []string{"modify_users"}}},
			{"parent clears", true, accounts.Permissions{Granted: []string{}, Enabled: []string{}}, nil, "", accounts.Permissions{Granted: []string{}, Enabled: []string{}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				sub := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sub", ParentID: root.ID})
				// Every case starts from the state after the first case.
				if err := s.SetPermissions(ctx, sub.ID, accounts.Permissions{Granted: []string{"modify_users", "access_sms", "send_bulk"}, Enabled: []string{"access_sms", "modify_users"}}, true); err != nil {
					t.Fatal(err)
				}
				if tc.name == "self disables" || tc.name == "seed 002 trap: self enables beyond granted" {
					if err := s.SetPermissions(ctx, sub.ID, accounts.Permissions{Enabled: []string{"access_sms", "modify_users", "send_bulk"}}, false); err != nil {
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
			if err := s.SetPermissions(ctx, root.ID, accounts.Permissions{Granted: []string{}}, true); !errors.Is(err, accounts.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
		t.Run("unknown account", func(t *testing.T) {
			if err := s.SetPermissions(ctx, "a0-nope", accounts.Permissions{}, true); !errors.Is(err, accounts.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		})
	})
}

// TestSetPermissionsRace: the parent withdraws and restores a grant while
// the sub-account's admin keeps enabling it. Enabled never leaves Granted.
func TestSetPermissionsRace(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	ctx := storetest.AcctTestCtx(t)
	root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root"})
	sub := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sub", ParentID: root.ID})
	wide := accounts.Permissions{Granted: []string{"access_sms", "finance"}}
	narrow := accounts.Permissions{Granted: []string{"access_sms"}}
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
					err = s.SetPermissions(ctx, sub.ID, accounts.Permissions{Enabled: []string{"access_sms", "finance"}}, false)
					if errors.Is(err, accounts.ErrNotPermitted) {
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
