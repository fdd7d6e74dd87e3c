package messages

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
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
func (s *Store) RouteReply(ctx context.Context, r accounts.Reply) (*accounts.Reply, *accounts.Message, error) {
	if r.ReceivedAt.IsZero() {
		r.ReceivedAt = s.Now()
	}
	r.ReceivedAt = time.UnixMilli(r.ReceivedAt.UnixMilli()) // as stored
	r.AccountID, r.MessageID, r.Sender = "", "", ""
	var msg *accounts.Message
	mid, err := s.RDB.Get(ctx, s.Keys.Conversation(r.To, r.From)).Result()
	switch {
	case errors.Is(err, redis.Nil):
	case err != nil:
		return nil, nil, fmt.Errorf("route reply: conversation: %w", err)
	default:
		msg, err = s.GetMessage(ctx, mid)
		if err != nil && !errors.Is(err, accounts.ErrNotFound) {
			return nil, nil, fmt.Errorf("route reply: %w", err)
		}
		if msg != nil {
			r.AccountID, r.MessageID, r.Sender = msg.AccountID, msg.ID, msg.Sender
		}
	}
	shard, inbox := 0, inboxUnrouted
	if msg != nil {
		shard, inbox = s.MustShard(msg.ID), msg.AccountID
	} else {
		// No conversation: a dedicated number leads to the account that
		// holds it (accounts/tenancy); else the unrouted inbox.
		owner, err := s.NumberInbox(ctx, r.To)
		if err != nil {
			return nil, nil, fmt.Errorf("route reply: %w", err)
		}
		if owner != "" {
			shard, inbox, r.AccountID = s.MustShard(owner), owner, owner
		}
	}
	r.ID = store.NewShardedID("r", shard)
	_, err = s.RDB.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.HSet(ctx, s.Keys.Reply(shard, r.ID), inboxFields(&r))
		pipe.ZAdd(ctx, s.Keys.Inbox(shard, inbox), redis.Z{Score: float64(r.ReceivedAt.UnixMilli()), Member: r.ID})
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store reply: %w", err)
	}
	// The inbox quota: the oldest replies go (best effort). The unrouted
	// inbox is the operator's, bounded by the default.
	max := s.Quotas.Inbox
	if inbox != inboxUnrouted {
		if q, err := s.QuotasOf(ctx, inbox); err == nil {
			max = q.Inbox
		}
	}
	_ = s.capLog(ctx, s.Keys.Inbox(shard, inbox), max, func(id string) string { return s.Keys.Reply(shard, id) })
	return &r, msg, nil
}

// GetReply returns reply id, or ErrNotFound.
func (s *Store) GetReply(ctx context.Context, id string) (*accounts.Reply, error) {
	shard, err := s.ShardFromID(id)
	if err != nil {
		return nil, fmt.Errorf("get reply: %w", err)
	}
	h, err := s.RDB.HGetAll(ctx, s.Keys.Reply(shard, id)).Result()
	if err != nil {
		return nil, fmt.Errorf("get reply %s: %w", id, err)
	}
	if len(h) == 0 {
		return nil, fmt.Errorf("reply %s: %w", id, accounts.ErrNotFound)
	}
	return inboxFromHash(h), nil
}

// ListInbox returns up to limit (default 100) replies of an account's inbox,
// newest first; accountID "" lists the unrouted inbox.
func (s *Store) ListInbox(ctx context.Context, accountID string, limit int) ([]*accounts.Reply, error) {
	shard, inbox := 0, inboxUnrouted
	if accountID != "" {
		n, err := s.ShardFromID(accountID)
		if err != nil {
			return nil, fmt.Errorf("list inbox: account %w", err)
		}
		shard, inbox = n, accountID
	}
	if limit <= 0 {
		limit = msgDefaultLimit
	}
	ids, err := s.RDB.ZRevRange(ctx, s.Keys.Inbox(shard, inbox), 0, int64(limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("list inbox %q: %w", accountID, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	pipe := s.RDB.Pipeline()
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, s.Keys.Reply(shard, id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("list inbox %q: %w", accountID, err)
	}
	out := make([]*accounts.Reply, 0, len(ids))
	for _, c := range cmds {
		if len(c.Val()) > 0 {
			out = append(out, inboxFromHash(c.Val()))
		}
	}
	return out, nil
}

// inboxFields encodes a reply as its hash fields.
func inboxFields(r *accounts.Reply) map[string]any {
	return map[string]any{
		"id": r.ID, "account_id": r.AccountID, "message_id": r.MessageID, "sender": r.Sender,
		"from": r.From, "to": r.To, "text": r.Text, "link": r.Link,
		"received_at": r.ReceivedAt.UnixMilli(), "incomplete": boolField(r.Incomplete),
	}
}

func boolField(b bool) string {
	if b {
		return "1"
	}
	return ""
}

// inboxFromHash decodes a reply hash.
func inboxFromHash(h map[string]string) *accounts.Reply {
	return &accounts.Reply{
		ID: h["id"], AccountID: h["account_id"], MessageID: h["message_id"], Sender: h["sender"],
		From: h["from"], To: h["to"], Text: h["text"], Link: h["link"],
		ReceivedAt: msgTime(h["received_at"]), Incomplete: h["incomplete"] == "1",
		ReadAt: msgTime(h["read_at"]), ArchivedAt: msgTime(h["archived_at"]),
	}
}

// QueryInbox returns a page of an inbox's replies that match q, newest
// first, and the cursor of the next page ("" at the end), with the paging
// guarantees of QueryMessages.
func (s *Store) QueryInbox(ctx context.Context, q accounts.InboxQuery) (replies []*accounts.Reply, next string, err error) {
	shard, inbox := 0, inboxUnrouted
	if q.AccountID != "" {
		n, err := s.ShardFromID(q.AccountID)
		if err != nil {
			return nil, "", fmt.Errorf("query inbox: account %w", err)
		}
		shard, inbox = n, q.AccountID
	}
	exact, digits := queryNumber(q.Number)
	load := func(ctx context.Context, ids []string) ([]*accounts.Reply, error) {
		if len(ids) == 0 {
			return nil, nil
		}
		cmds := make([]*redis.MapStringStringCmd, len(ids))
		pipe := s.RDB.Pipeline()
		for i, id := range ids {
			cmds[i] = pipe.HGetAll(ctx, s.Keys.Reply(shard, id))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, err
		}
		out := make([]*accounts.Reply, 0, len(ids))
		for _, c := range cmds {
			if len(c.Val()) == 0 {
				continue
			}
			r := inboxFromHash(c.Val())
			switch {
			case q.Sender != "" && !strings.EqualFold(r.Sender, q.Sender),
				exact && r.From != digits,
				!exact && !strings.Contains(r.From, digits),
				!q.State.Has(r):
				continue
			}
			out = append(out, r)
		}
		return out, nil
	}
	scan := zscanQuery{key: s.Keys.Inbox(shard, inbox), from: q.From, to: q.To,
		cursor: q.Cursor, limit: q.Limit, scan: q.Scan}
	replies, next, err = zscan(ctx, s, scan, load, func(r *accounts.Reply) string { return r.ID })
	if err != nil {
		return nil, "", fmt.Errorf("query inbox %q: %w", q.AccountID, err)
	}
	return replies, next, nil
}

// AssignReply moves a reply from the unrouted inbox into an account's
// inbox (an operator who recognised the number). ErrNotFound when the reply
// is unknown or already in an account's inbox; the account must exist.
func (s *Store) AssignReply(ctx context.Context, replyID, accountID string) (*accounts.Reply, error) {
	r, err := s.GetReply(ctx, replyID)
	if err != nil {
		return nil, err
	}
	if r.AccountID != "" {
		return nil, fmt.Errorf("reply %s is in the inbox of account %s, not unrouted: %w", replyID, r.AccountID, accounts.ErrNotFound)
	}
	if _, err := s.GetAccount(ctx, accountID); errors.Is(err, accounts.ErrNotFound) {
		return nil, accounts.Invalidf("account_id: account %q not found", accountID)
	} else if err != nil {
		return nil, fmt.Errorf("assign reply: %w", err)
	}
	rshard, _ := s.ShardFromID(replyID)
	ashard, _ := s.ShardFromID(accountID)
	n, err := s.RDB.ZRem(ctx, s.Keys.Inbox(0, inboxUnrouted), replyID).Result()
	if err != nil {
		return nil, fmt.Errorf("assign reply: %w", err)
	}
	if n == 0 { // taken by a concurrent assignment
		return nil, fmt.Errorf("reply %s is not in the unrouted inbox: %w", replyID, accounts.ErrNotFound)
	}
	err = s.RDB.HSet(ctx, s.Keys.Reply(rshard, replyID), "account_id", accountID).Err()
	if err == nil {
		err = s.RDB.ZAdd(ctx, s.Keys.Inbox(ashard, accountID), redis.Z{Score: float64(r.ReceivedAt.UnixMilli()), Member: replyID}).Err()
	}
	if err != nil {
		return nil, fmt.Errorf("assign reply %s: %w", replyID, err)
	}
	r.AccountID = accountID
	return r, nil
}
