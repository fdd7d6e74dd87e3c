package accounts

import (
	"fmt"
	"time"
)

// AcceptRequest is one atomic acceptance: the messages of one email to one
// or more recipients, all charged to one account.
type AcceptRequest struct {
	AccountID string
	// ParentID is the account's parent ("" for a top-level account), as
	// the caller loaded the account: its keys (auto-recharge, the shared
	// opt-out list) are declared to the accept script, which checks it and
	// names the right one if it is wrong (then Accept runs it once more).
	ParentID string
	// IdempotencyKey names the request, e.g. sender + Message-ID; a replay
	// within 24 hours returns the first ids and charges nothing. Empty means
	// no idempotency.
	IdempotencyKey string
	// Messages carry To, Text, Coding, Parts, Price, Sender, MailID and
	// Source, set by the caller. On success Accept fills in ID, AccountID,
	// Status and CreatedAt.
	Messages []*Message
	// SkipOptOut sends even to numbers on the account's opt-out list: only
	// for the Stop rule's confirmation to the number that has just opted
	// out (router/stop.go). Everything else is checked (accounts/rules).
	SkipOptOut bool
}

// AcceptResult says what Accept did.
type AcceptResult struct {
	IDs       []string // message ids, in request order
	Duplicate bool     // the idempotency key was seen: nothing was charged or queued
	Balance   int64    // the account's balance afterwards
	// LowBalance: this debit took the balance from at or above the
	// account's LowBalance threshold to below it; the caller fires the
	// low_balance event. Never set on a duplicate.
	LowBalance bool
	// Recharged is what auto-recharge moved from the parent in the same
	// step (minor units), 0 if none.
	Recharged int64
	// Blocked are the recipients on the account's opt-out list (accounts/rules):
	// not queued, not charged, recorded with status MsgBlocked in the
	// blocked log; IDs has only the others. Never set on a duplicate.
	Blocked []string
}

// MessageQuery selects messages from one account's log, newest first.
type MessageQuery struct {
	AccountID string
	// Sender, if set, keeps the messages of that sender address (compared
	// without regard to case).
	Sender string
	// Status, if set, keeps the messages in that status; AnyStatus, if
	// set, those in any of its statuses (Status then must be empty).
	Status    MessageStatus
	AnyStatus []MessageStatus
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

// Entry is one message of a queue entry delivered to a consumer. An entry
// of the stream holds one message, or the messages one accept call queued
// (Members of them, each delivered as an Entry with the same StreamID):
// such a member is settled (submitted, retried, parked, failed) without
// acknowledging the stream entry, which its consumer acknowledges once
// every member is settled (see router.Dispatcher).
type Entry struct {
	Shard     int
	StreamID  string
	MessageID string
	Members   int // the messages of the stream entry: 0 or 1 for an entry of its own
}

// Grouped reports whether e is one of several messages of its stream entry.
func (e Entry) Grouped() bool { return e.Members > 1 }

// SameStreamEntry reports whether e and o came from one stream entry (two
// members of a grouped entry, delivered one after the other).
func (e Entry) SameStreamEntry(o Entry) bool { return e.StreamID == o.StreamID && e.Shard == o.Shard }

// Submitted is the outcome of a successful submission of one entry.
type Submitted struct {
	Entry Entry
	// AckEntry acknowledges Entry's stream entry with the record: set on
	// one submit of a grouped entry whose every other member is settled.
	AckEntry bool
	Link     string   // carrier link name
	Source   string   // the source address used (for the conversation index)
	SMSCIDs  []string // every part's id in its canonical form (smpp.CanonicalID); the first is stored on the message
	To       string   // the recipient, for the conversation index; read from the message when empty
	// AccountID and CreatedAt are the message's, as the dispatcher loaded
	// it: the SMSC-id index carries them so that a receipt finds its
	// statistics key without reading the message first. Empty: the
	// receipt reads them (one more round trip).
	AccountID string
	CreatedAt time.Time
}

// ReceiptUpdate is one delivery receipt to apply: the part's SMSC id in its
// canonical form, on the link it was submitted on, and its final status.
// Forms are the other forms the id may have been indexed under (e.g. the
// decimal of a hex id, smpp.IDVariants): looked up only when the canonical
// one is not found.
type ReceiptUpdate struct {
	Link, CanonicalID string
	Forms             []string
	Status, ErrCode   string
	At                time.Time
	// Ref, when set, is the message the part was submitted for, as this
	// instance recorded the submit (what the SMSC-id index holds): the
	// index is then not read.
	Ref *MessageRef
}

// MessageRef names a message as the SMSC-id index does: its id, account
// and creation time.
type MessageRef struct {
	MessageID, AccountID string
	CreatedAt            time.Time
}

// HeldReceipt is a receipt kept until its message is found or Until passes.
type HeldReceipt struct {
	Update ReceiptUpdate
	Until  time.Time
}

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
	// State keeps replies in that inbox state (messages.SetReplyState); ""
	// (InboxCurrent) is every reply not archived.
	State InboxState
	// Limit is the page size: default 100, at most QueryMaxLimit.
	Limit int
	// Cursor continues from a previous page ("" is the first page).
	Cursor string

	Scan int // entries examined per call; 0: QueryScanLimit
}

// InboxState selects replies by their state in QueryInbox.
type InboxState string

// Inbox states. InboxCurrent (the default) is the inbox as a mail client
// shows it: every reply that is not archived, read or not.
const (
	InboxCurrent  InboxState = ""
	InboxUnread   InboxState = "unread"   // not read, not archived
	InboxRead     InboxState = "read"     // read, not archived
	InboxArchived InboxState = "archived" // archived, read or not
	InboxAll      InboxState = "all"      // every reply
)

// ParseInboxState reads a state name ("", unread, read, archived, all); an
// unknown name is ErrInvalid naming the accepted ones.
func ParseInboxState(v string) (InboxState, error) {
	switch st := InboxState(v); st {
	case InboxCurrent, InboxUnread, InboxRead, InboxArchived, InboxAll:
		return st, nil
	}
	return "", fmt.Errorf("%w: state: %q must be one of unread, read, archived, all", ErrInvalid, v)
}

// Has reports whether reply r is in state st.
func (st InboxState) Has(r *Reply) bool {
	archived := !r.ArchivedAt.IsZero()
	switch st {
	case InboxUnread:
		return !archived && r.ReadAt.IsZero()
	case InboxRead:
		return !archived && !r.ReadAt.IsZero()
	case InboxArchived:
		return archived
	case InboxAll:
		return true
	}
	return !archived
}

// ReplyStateChange changes a reply's inbox state; a nil field is left as
// it is.
type ReplyStateChange struct {
	Read     *bool
	Archived *bool
}
