package accounts

import (
	_ "embed"
	"fmt"
)

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

// has reports whether reply r is in state st.
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
