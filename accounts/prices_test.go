package accounts

import (
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
