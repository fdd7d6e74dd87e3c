package accounts

import (
	"errors"
	"strings"
	"testing"
)

func TestContactValidation(t *testing.T) {
	acct := &Account{DefaultCountry: "AU"}
	long := strings.Repeat("x", 101)
	cases := []struct {
		name string
		in   ContactInput
		want string
	}{
		{"bad number", ContactInput{Number: "12"}, "number:"},
		{"empty number", ContactInput{Number: ""}, "number:"},
		{"long name", ContactInput{Number: "0412345678", FirstName: long}, "first_name: is longer than 100"},
		{"control", ContactInput{Number: "0412345678", LastName: "a\x00b"}, "last_name: contains a control"},
		{"bad email", ContactInput{Number: "0412345678", Email: "not an email"}, `email: "not an email"`},
		{"reserved field", ContactInput{Number: "0412345678", Fields: map[string]string{"Number": "x"}}, "standard column"},
		{"bad field key", ContactInput{Number: "0412345678", Fields: map[string]string{"a b": "x"}}, "only letters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NormContact(acct, tc.in)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want ErrInvalid containing %q", err, tc.want)
			}
		})
	}
}

func TestNormGroupName(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Sales Team", "sales-team"},
		{"sales.team", "sales-team"},
		{"SALES__team", "sales-team"},
		{" -Sales - Team. ", "sales-team"},
		{"Équipe Nord", "équipe-nord"},
		{"a", "a"},
		{"...", ""},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			if got := NormGroupName(tc.in); got != tc.want {
				t.Fatalf("NormGroupName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
