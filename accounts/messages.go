package accounts

import (
	"time"
)

// MessageQuery selects messages from one account's log, newest first.
type MessageQuery struct {
	AccountID string
	// Sender, if set, keeps the messages of that sender address (compared
	// without regard to case).
	Sender string
	// Status, if set, keeps the messages in that status.
	Status MessageStatus
	// Number, if set, filters by recipient: "+61412345678" (with '+') is an
	// exact E.164 number; anything else is taken as digits that the number
	// must contain ("412345", "0412 345"), so a fragment finds every number
	// that has it. Non-digits other than a leading '+' are ignored.
	Number string
	// From and To bound the creation time, From inclusive and To exclusive;
	// zero is unbounded.
	From, To time.Time
	// Limit is the page size: default 100, at most QueryMaxLimit.
	Limit int
	// Cursor continues from a previous page ("" is the first page).
	Cursor string

	Scan int // entries examined per call; 0: QueryScanLimit (tests lower it)
}

// Query bounds.
const (
	// QueryMaxLimit is the largest page.
	QueryMaxLimit = 1000
	// QueryScanLimit is how many log entries one query call examines at
	// most. A page whose filters match rarely ends early, with a cursor,
	// rather than walking an account's whole history in one call.
	QueryScanLimit = 5000
)
