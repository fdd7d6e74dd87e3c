package accounts

import (
	"time"
)

// InboxQuery selects replies from one account's inbox, newest first.
type InboxQuery struct {
	// AccountID is the inbox; "" is the unrouted inbox.
	AccountID string
	// Sender, if set, keeps the replies to that sender's messages (compared
	// without regard to case): a basic user's own replies.
	Sender string
	// Number, if set, filters by the number the reply came from, as
	// MessageQuery.Number does.
	Number string
	// From and To bound the time received, From inclusive, To exclusive;
	// zero is unbounded.
	From, To time.Time
	// State keeps replies in that inbox state (inbox_state.go); ""
	// (InboxCurrent) is every reply not archived.
	State InboxState
	// Limit is the page size: default 100, at most QueryMaxLimit.
	Limit int
	// Cursor continues from a previous page ("" is the first page).
	Cursor string

	Scan int // entries examined per call; 0: QueryScanLimit
}
