package accounts

// Inbox state: each reply can be marked read or unread and archived or
// unarchived. The state is kept in the reply's own hash (fields read_at and
// archived_at, Unix ms; absent: unread, not archived), so it is one state
// per reply, shared by every member of the account, and it lives and dies
// with the reply.
//
// Keyspace (P is the store's prefix):
//
//	P:{sN}:reply:<id>   HASH   ... read_at, archived_at (set by inbox_state.lua)

import (
	"context"
	_ "embed" // Lua scripts
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lua/inbox_state.lua
	inboxStateLua    string
	inboxStateScript = redis.NewScript(inboxStateLua)
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
func (st InboxState) has(r *Reply) bool {
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

// SetReplyState changes the inbox state of reply id in one atomic step and
// returns the reply as stored. Marking a reply read (or archived) that
// already is keeps the first time. ErrNotFound if there is no such reply;
// ErrInvalid if the change names neither field.
func (s *Store) SetReplyState(ctx context.Context, id string, ch ReplyStateChange) (*Reply, error) {
	if ch.Read == nil && ch.Archived == nil {
		return nil, fmt.Errorf("%w: give read, archived or both", ErrInvalid)
	}
	shard, err := s.shardFromID(id)
	if err != nil || id[0] != 'r' { // shardFromID refuses ids shorter than 2
		return nil, fmt.Errorf("reply %q: %w", id, ErrNotFound)
	}
	arg := func(b *bool) string {
		switch {
		case b == nil:
			return ""
		case *b:
			return "1"
		}
		return "0"
	}
	res, err := inboxStateScript.Run(ctx, s.rdb, []string{s.skey(shard, "reply", id)},
		s.now().UnixMilli(), arg(ch.Read), arg(ch.Archived)).StringSlice()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, fmt.Errorf("reply %s: %w", id, ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("set state of reply %s: %w", id, err)
	}
	h := make(map[string]string, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		h[res[i]] = res[i+1]
	}
	return inboxFromHash(h), nil
}
