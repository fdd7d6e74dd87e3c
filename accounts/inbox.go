package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// inboxUnrouted names the inbox of replies that belong to no account; it
// lives on shard 0 (account ids always contain a '-', so it cannot clash).
const inboxUnrouted = "unrouted"

// RouteReply stores an inbound SMS. r needs From (their number), To (our
// number), Text, Link and ReceivedAt. The conversation index (our number,
// their number), written by MarkSubmitted, leads to the last message sent
// to them; the reply then lands in that message's account inbox with
// AccountID, MessageID and Sender set, and that message is returned. With no
// conversation the reply goes to the inbox of the account holding the
// dedicated number To (AccountID set, MessageID empty), else to the
// unrouted inbox (AccountID ""); the message is nil either way. The stored
// reply, with its new ID, is returned.
func (s *Store) RouteReply(ctx context.Context, r Reply) (*Reply, *Message, error) {
	if r.ReceivedAt.IsZero() {
		r.ReceivedAt = s.now()
	}
	r.ReceivedAt = time.UnixMilli(r.ReceivedAt.UnixMilli()) // as stored
	r.AccountID, r.MessageID, r.Sender = "", "", ""
	var msg *Message
	mid, err := s.rdb.Get(ctx, s.gkey("conv", r.To, r.From)).Result()
	switch {
	case errors.Is(err, redis.Nil):
	case err != nil:
		return nil, nil, fmt.Errorf("route reply: conversation: %w", err)
	default:
		msg, err = s.GetMessage(ctx, mid)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, nil, fmt.Errorf("route reply: %w", err)
		}
		if msg != nil {
			r.AccountID, r.MessageID, r.Sender = msg.AccountID, msg.ID, msg.Sender
		}
	}
	shard, inbox := 0, inboxUnrouted
	if msg != nil {
		shard, inbox = s.mustShard(msg.ID), msg.AccountID
	} else {
		// No conversation: a dedicated number leads to the account that
		// holds it (senders.go); else the unrouted inbox.
		owner, err := s.numberInbox(ctx, r.To)
		if err != nil {
			return nil, nil, fmt.Errorf("route reply: %w", err)
		}
		if owner != "" {
			shard, inbox, r.AccountID = s.mustShard(owner), owner, owner
		}
	}
	r.ID = newShardedID("r", shard)
	_, err = s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.HSet(ctx, s.skey(shard, "reply", r.ID), inboxFields(&r))
		pipe.ZAdd(ctx, s.skey(shard, "inbox", inbox), redis.Z{Score: float64(r.ReceivedAt.UnixMilli()), Member: r.ID})
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store reply: %w", err)
	}
	return &r, msg, nil
}

// mustShard returns the shard of an id already known to be valid.
func (s *Store) mustShard(id string) int {
	n, _ := s.shardFromID(id)
	return n
}

// GetReply returns reply id, or ErrNotFound.
func (s *Store) GetReply(ctx context.Context, id string) (*Reply, error) {
	shard, err := s.shardFromID(id)
	if err != nil {
		return nil, fmt.Errorf("get reply: %w", err)
	}
	h, err := s.rdb.HGetAll(ctx, s.skey(shard, "reply", id)).Result()
	if err != nil {
		return nil, fmt.Errorf("get reply %s: %w", id, err)
	}
	if len(h) == 0 {
		return nil, fmt.Errorf("reply %s: %w", id, ErrNotFound)
	}
	return inboxFromHash(h), nil
}

// ListInbox returns up to limit (default 100) replies of an account's inbox,
// newest first; accountID "" lists the unrouted inbox.
func (s *Store) ListInbox(ctx context.Context, accountID string, limit int) ([]*Reply, error) {
	shard, inbox := 0, inboxUnrouted
	if accountID != "" {
		n, err := s.shardFromID(accountID)
		if err != nil {
			return nil, fmt.Errorf("list inbox: account %w", err)
		}
		shard, inbox = n, accountID
	}
	if limit <= 0 {
		limit = msgDefaultLimit
	}
	ids, err := s.rdb.ZRevRange(ctx, s.skey(shard, "inbox", inbox), 0, int64(limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("list inbox %q: %w", accountID, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	pipe := s.rdb.Pipeline()
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, s.skey(shard, "reply", id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("list inbox %q: %w", accountID, err)
	}
	out := make([]*Reply, 0, len(ids))
	for _, c := range cmds {
		if len(c.Val()) > 0 {
			out = append(out, inboxFromHash(c.Val()))
		}
	}
	return out, nil
}

// inboxFields encodes a reply as its hash fields.
func inboxFields(r *Reply) map[string]any {
	return map[string]any{
		"id": r.ID, "account_id": r.AccountID, "message_id": r.MessageID, "sender": r.Sender,
		"from": r.From, "to": r.To, "text": r.Text, "link": r.Link,
		"received_at": r.ReceivedAt.UnixMilli(),
	}
}

// inboxFromHash decodes a reply hash.
func inboxFromHash(h map[string]string) *Reply {
	return &Reply{
		ID: h["id"], AccountID: h["account_id"], MessageID: h["message_id"], Sender: h["sender"],
		From: h["from"], To: h["to"], Text: h["text"], Link: h["link"],
		ReceivedAt: msgTime(h["received_at"]),
		ReadAt:     msgTime(h["read_at"]), ArchivedAt: msgTime(h["archived_at"]),
	}
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
	// State keeps replies in that inbox state (inbox_state.go); ""
	// (InboxCurrent) is every reply not archived.
	State InboxState
	// Limit is the page size: default 100, at most QueryMaxLimit.
	Limit int
	// Cursor continues from a previous page ("" is the first page).
	Cursor string

	scan int // entries examined per call; 0: QueryScanLimit
}

// QueryInbox returns a page of an inbox's replies that match q, newest
// first, and the cursor of the next page ("" at the end), with the paging
// guarantees of QueryMessages.
func (s *Store) QueryInbox(ctx context.Context, q InboxQuery) (replies []*Reply, next string, err error) {
	shard, inbox := 0, inboxUnrouted
	if q.AccountID != "" {
		n, err := s.shardFromID(q.AccountID)
		if err != nil {
			return nil, "", fmt.Errorf("query inbox: account %w", err)
		}
		shard, inbox = n, q.AccountID
	}
	exact, digits := queryNumber(q.Number)
	load := func(ctx context.Context, ids []string) ([]*Reply, error) {
		if len(ids) == 0 {
			return nil, nil
		}
		cmds := make([]*redis.MapStringStringCmd, len(ids))
		pipe := s.rdb.Pipeline()
		for i, id := range ids {
			cmds[i] = pipe.HGetAll(ctx, s.skey(shard, "reply", id))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, err
		}
		out := make([]*Reply, 0, len(ids))
		for _, c := range cmds {
			if len(c.Val()) == 0 {
				continue
			}
			r := inboxFromHash(c.Val())
			switch {
			case q.Sender != "" && !strings.EqualFold(r.Sender, q.Sender),
				exact && r.From != digits,
				!exact && !strings.Contains(r.From, digits),
				!q.State.has(r):
				continue
			}
			out = append(out, r)
		}
		return out, nil
	}
	scan := zscanQuery{key: s.skey(shard, "inbox", inbox), from: q.From, to: q.To,
		cursor: q.Cursor, limit: q.Limit, scan: q.scan}
	replies, next, err = zscan(ctx, s, scan, load, func(r *Reply) string { return r.ID })
	if err != nil {
		return nil, "", fmt.Errorf("query inbox %q: %w", q.AccountID, err)
	}
	return replies, next, nil
}
