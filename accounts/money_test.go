package accounts

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestFormatMoney(t *testing.T) {
	tests := []struct {
		minor int64
		cur   string
		want  string
	}{
		{0, "USD", "0.00 USD"},
		{5, "USD", "0.05 USD"},
		{24, "AUD", "0.24 AUD"},
		{123456, "EUR", "1234.56 EUR"},
		{-5, "USD", "-0.05 USD"},
		{-100, "USD", "-1.00 USD"},
		{7, "", "0.07"},
		{math.MinInt64, "X", "-92233720368547758.08 X"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := FormatMoney(tt.minor, tt.cur); got != tt.want {
				t.Fatalf("FormatMoney(%d, %q) = %q", tt.minor, tt.cur, got)
			}
		})
	}
}

func TestBalanceError(t *testing.T) {
	var err error = &BalanceError{Need: 24, Have: 10, Currency: "USD"}
	if got, want := err.Error(), "insufficient balance: needs 0.24 USD, balance is 0.10 USD"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrInsufficientBalance) || errors.Is(err, ErrInvalid) {
		t.Fatal("errors.Is wrong")
	}
}

func TestStatsDay(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		day  int64
		date string
	}{
		{time.UnixMilli(0), 0, "1970-01-01"},
		{time.UnixMilli(86_399_999), 0, "1970-01-01"},
		{time.UnixMilli(86_400_000), 1, "1970-01-02"},
		{time.UnixMilli(-1), -1, "1969-12-31"},
		{time.Date(2026, 3, 14, 23, 59, 0, 0, time.FixedZone("AEST", 10*3600)), 20526, "2026-03-14"},
	} {
		t.Run(tc.date, func(t *testing.T) {
			if d := StatsDay(tc.t); d != tc.day || StatsDate(d) != tc.date {
				t.Fatalf("StatsDay(%v) = %d (%s), want %d (%s)", tc.t, d, StatsDate(d), tc.day, tc.date)
			}
		})
	}
}

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
