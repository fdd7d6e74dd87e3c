package accounts

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestPriceTableFor(t *testing.T) {
	pt := &PriceTable{Default: 5, Prefixes: map[string]int64{"6": 1, "61": 7, "614": 9, "61412345678": 0}}
	tests := []struct {
		name   string
		number string
		want   int64
	}{
		{"longest prefix wins", "61498765432", 9},
		{"shorter prefix", "61298765432", 7},
		{"one digit", "6598765432", 1},
		{"the whole number, free", "61412345678", 0},
		{"no prefix: default", "447700900123", 5},
		{"empty number: default", "", 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := pt.For(tc.number); got != tc.want {
				t.Fatalf("For(%q) = %d, want %d", tc.number, got, tc.want)
			}
		})
	}
}

func TestSetPrices(t *testing.T) {
	acctEachShards(t, func(t *testing.T, s *Store) {
		ctx := acctTestCtx(t)
		a := acctMustCreate(t, s, Account{Name: "A", Currency: "AUD", PricePerPart: 6})
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
				if tc.wantErr == "" && err != nil || tc.wantErr != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr)) {
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
		if _, err := s.Prices(ctx, "a0-nosuchaccount"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Prices of an unknown account = %v", err)
		}
	})
}
