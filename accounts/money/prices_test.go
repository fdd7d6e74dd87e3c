package money_test

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

func TestSetPrices(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		a := storetest.AcctMustCreate(t, s, accounts.Account{Name: "A", Currency: "AUD", PricePerPart: 6})
		tests := []struct {
			name    string
			set     map[string]int64
			wantErr string
			want    map[string]int64
		}{
			{name: "set", set: map[string]int64{"61": 7, "614": 9}, want: map[string]int64{"61": 7, "614": 9}},
			{name: "replace", set: map[string]int64{"44": 12}, want: map[string]int64{"44": 12}},
			{name: "bad prefix keeps the table", set: map[string]int64{"+61": 7}, wantErr: `prefixes: "+61" is not 1 to 15 digits`, want: map[string]int64{"44": 12}},
			{name: "too long a prefix", set: map[string]int64{"1234567890123456": 7}, wantErr: "is not 1 to 15 digits", want: map[string]int64{"44": 12}},
			{name: "negative price", set: map[string]int64{"61": -1}, wantErr: "prefixes.61: price -1 is not between 0", want: map[string]int64{"44": 12}},
			{name: "clear", set: map[string]int64{}, want: map[string]int64{}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.SetPrices(ctx, a.ID, tc.set)
				if tc.wantErr == "" && err != nil || tc.wantErr != "" && (!errors.Is(err, accounts.ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr)) {
					t.Fatalf("SetPrices = %v, want %q", err, tc.wantErr)
				}
				pt, err := s.Prices(ctx, a.ID)
				if err != nil {
					t.Fatal(err)
				}
				if pt.Default != 6 || pt.Currency != "AUD" || !maps.Equal(pt.Prefixes, tc.want) {
					t.Fatalf("Prices = %+v, want prefixes %v", pt, tc.want)
				}
			})
		}
		if _, err := s.Prices(ctx, "a0-nosuchaccount"); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("Prices of an unknown account = %v", err)
		}
	})
}
