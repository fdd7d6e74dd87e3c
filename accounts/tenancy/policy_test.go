package tenancy_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

// TestSenderPolicyResolved: ResolveSender carries the policy in force: the
// default, the parent's for a sub-account without its own, its own once
// set, the parent's again after inheriting; other settings survive.
func TestSenderPolicyResolved(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root"})
		sub := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sub", ParentID: root.ID})
		if err := s.AddDomain(ctx, sub.ID, "sub.example"); err != nil {
			t.Fatal(err)
		}
		resolved := func() accounts.PolicyView {
			t.Helper()
			snd, err := s.ResolveSender(ctx, "ops@sub.example")
			if err != nil {
				t.Fatal(err)
			}
			return snd.Policy
		}
		if p := resolved(); p.Source != accounts.PolicyDefault || !p.SPF || p.DKIM || len(p.Networks) != 0 {
			t.Fatalf("default: %+v", p)
		}
		office := netip.MustParsePrefix("198.51.100.0/24")
		if _, err := s.SetSenderPolicy(ctx, root.ID, &accounts.SenderPolicy{Networks: []netip.Prefix{office}}); err != nil {
			t.Fatal(err)
		}
		if p := resolved(); p.Source != accounts.PolicyParent || p.From != root.ID || p.SPF || !p.AllowsAddr(netip.MustParseAddr("198.51.100.9")) {
			t.Fatalf("inherited: %+v", p)
		}
		v, err := s.SetSenderPolicy(ctx, sub.ID, &accounts.SenderPolicy{Networks: []netip.Prefix{}, DKIM: true})
		if err != nil || v.Source != accounts.PolicyOwn {
			t.Fatalf("set own: %+v, %v", v, err)
		}
		if p := resolved(); p.Source != accounts.PolicyOwn || !p.DKIM || p.AllowsAddr(netip.MustParseAddr("198.51.100.9")) {
			t.Fatalf("own: %+v", p)
		}
		// Updating other settings keeps the policy.
		a, _ := s.GetAccount(ctx, sub.ID)
		a.Name = "Sub renamed"
		if err := s.UpdateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		if p := resolved(); p.Source != accounts.PolicyOwn {
			t.Fatalf("after rename: %+v", p)
		}
		if v, err := s.SetSenderPolicy(ctx, sub.ID, nil); err != nil || v.Source != accounts.PolicyParent {
			t.Fatalf("inherit: %+v, %v", v, err)
		}
		if _, err := s.SetSenderPolicy(ctx, sub.ID, &accounts.SenderPolicy{Networks: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}); !errors.Is(err, accounts.ErrInvalid) {
			t.Fatalf("0.0.0.0/0: %v, want ErrInvalid", err)
		}
		if _, err := s.SetSenderPolicy(ctx, "a0-nosuch", nil); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("unknown account: %v", err)
		}
	})
}
