package accounts

import (
	"errors"
	"math"
	"testing"
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
