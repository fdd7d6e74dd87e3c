package accounts

import (
	"testing"
)

func TestAutomationMatches(t *testing.T) {
	for _, tc := range []struct {
		keyword, text string
		want          bool
	}{
		{"INFO", "INFO please", true},
		{"INFO", "info", true},
		{"INFO", "  Info, please", true},
		{"INFO", "information please", false},
		{"INFO", "please info", false},
		{"INFO", "", false},
		{"*", "anything", true},
		{"*", "", true},
	} {
		t.Run(tc.keyword+"/"+tc.text, func(t *testing.T) {
			a := Automation{Keyword: tc.keyword}
			if got := a.Matches(tc.text); got != tc.want {
				t.Fatalf("Matches(%q) = %v", tc.text, got)
			}
		})
	}
}
