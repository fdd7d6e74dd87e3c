package money_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

// TestLimitsStored: limits round-trip, 0 clears one, bad values name their
// field, and a deleted or unknown account has none.
func TestLimitsStored(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		a := storetest.AcctMustCreate(t, s, accounts.Account{Name: "A", Currency: "AUD"})
		if l, err := s.Limits(ctx, a.ID); err != nil || *l != (accounts.Limits{}) {
			t.Fatalf("default limits %+v, %v; want all 0 (unlimited)", l, err)
		}
		want := accounts.Limits{PerMinute: 30, PartsPerDay: 1000, SpendPerDay: 5000}
		if _, err := s.SetLimits(ctx, a.ID, want); err != nil {
			t.Fatal(err)
		}
		if l, err := s.Limits(ctx, a.ID); err != nil || *l != want {
			t.Fatalf("limits %+v, %v; want %+v", l, err, want)
		}
		want.PartsPerDay = 0
		if _, err := s.SetLimits(ctx, a.ID, want); err != nil {
			t.Fatal(err)
		}
		if l, _ := s.Limits(ctx, a.ID); *l != want {
			t.Fatalf("limits %+v; want %+v", l, want)
		}
		_, err := s.SetLimits(ctx, a.ID, accounts.Limits{SpendPerDay: -5})
		if !errors.Is(err, accounts.ErrInvalid) || !strings.Contains(err.Error(), "spend_per_day") {
			t.Fatalf("negative cap: %v", err)
		}
		if _, err := s.SetLimits(ctx, "a0-nosuch", want); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("unknown account: %v", err)
		}
	})
}
