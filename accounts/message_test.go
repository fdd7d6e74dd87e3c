package accounts

import (
	"errors"
	"testing"
)

func TestParseInboxState(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want InboxState
		ok   bool
	}{
		{"", InboxCurrent, true}, {"unread", InboxUnread, true}, {"read", InboxRead, true},
		{"archived", InboxArchived, true}, {"all", InboxAll, true}, {"Unread", "", false}, {"deleted", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseInboxState(tc.in)
			if got != tc.want || (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Errorf("ParseInboxState(%q) = %q, %v", tc.in, got, err)
			}
		})
	}
}
