package accounts

import (
	"testing"
)

func TestStopRuleMatch(t *testing.T) {
	r := DefaultStopRule()
	tests := []struct {
		text, kind, keyword string
	}{
		{"STOP", StopStop, "STOP"},
		{"  stop  ", StopStop, "STOP"},
		{"Stop.", StopStop, "STOP"},
		{"stop please", StopStop, "STOP"},
		{"Unsubscribe me", StopStop, "UNSUBSCRIBE"},
		{"start", StopStart, "START"},
		{"YES!", StopStart, "YES"},
		{"please stop", StopNone, ""},
		{"stopping by later", StopNone, ""},
		{"", StopNone, ""},
		{"see you at 3", StopNone, ""},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			kind, kw := r.Match(tt.text)
			if kind != tt.kind || kw != tt.keyword {
				t.Errorf("Match(%q) = %q %q, want %q %q", tt.text, kind, kw, tt.kind, tt.keyword)
			}
		})
	}
	multi := StopRule{Keywords: []string{"STOP ALL"}}
	if kind, _ := multi.Match("stop   all"); kind != StopStop {
		t.Errorf("a multi-word keyword does not match the whole text")
	}
}

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
