package accounts

import (
	"testing"
)

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
