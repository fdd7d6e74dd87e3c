package accounts

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// msgDefaultLimit is the page size of ListMessages and ListInbox when the
// caller passes no limit.
const msgDefaultLimit = 100

// msgFinal reports whether a message status is final (nothing changes it
// any more, except that receipts still count delivered parts).
func msgFinal(st MessageStatus) bool {
	switch st {
	case MsgQueued, MsgSubmitted:
		return false
	}
	return true
}

// msgKey returns the hash key of message id, or ErrNotFound for an id that
// names no shard of this store.
func (s *Store) msgKey(id string) (string, int, error) {
	shard, err := s.shardFromID(id)
	if err != nil {
		return "", 0, err
	}
	return s.skey(shard, "msg", id), shard, nil
}

// GetMessage returns message id, or ErrNotFound.
func (s *Store) GetMessage(ctx context.Context, id string) (*Message, error) {
	key, _, err := s.msgKey(id)
	if err != nil {
		return nil, fmt.Errorf("get message: %w", err)
	}
	h, err := s.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("get message %s: %w", id, err)
	}
	if len(h) == 0 {
		return nil, fmt.Errorf("message %s: %w", id, ErrNotFound)
	}
	return msgFromHash(h), nil
}

// LoadMessages returns the messages ids in one pipeline, in the same order;
// an element is nil where the message does not exist.
func (s *Store) LoadMessages(ctx context.Context, ids []string) ([]*Message, error) {
	out := make([]*Message, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	pipe := s.rdb.Pipeline()
	for i, id := range ids {
		if key, _, err := s.msgKey(id); err == nil {
			cmds[i] = pipe.HGetAll(ctx, key)
		}
	}
	if pipe.Len() == 0 {
		return out, nil
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("load %d messages: %w", len(ids), err)
	}
	for i, c := range cmds {
		if c != nil && len(c.Val()) > 0 {
			out[i] = msgFromHash(c.Val())
		}
	}
	return out, nil
}

// ListMessages returns up to limit (default 100) of the account's messages,
// newest first.
func (s *Store) ListMessages(ctx context.Context, accountID string, limit int) ([]*Message, error) {
	shard, err := s.shardFromID(accountID)
	if err != nil {
		return nil, fmt.Errorf("list messages: account %w", err)
	}
	if limit <= 0 {
		limit = msgDefaultLimit
	}
	ids, err := s.rdb.ZRevRange(ctx, s.skey(shard, "msgs", accountID), 0, int64(limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("list messages of %s: %w", accountID, err)
	}
	msgs, err := s.LoadMessages(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("list messages of %s: %w", accountID, err)
	}
	out := msgs[:0]
	for _, m := range msgs {
		if m != nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// ApplyReceipt applies a delivery receipt for one part: link is the carrier
// link it came from, canonicalID the SMSC message id in the form the
// submission indexed, status one of delivered, undeliverable, expired,
// rejected or failed (anything else, such as enroute, changes nothing).
// A message is delivered once all its parts are; the first failure of any
// part is final. It returns the updated message, or ErrNotFound when no
// submission of link has that id.
func (s *Store) ApplyReceipt(ctx context.Context, link, canonicalID, status, errCode string, at time.Time) (*Message, error) {
	msgs, errs, err := s.ApplyReceipts(ctx, []ReceiptUpdate{{Link: link, CanonicalID: canonicalID, Status: status, ErrCode: errCode, At: at}})
	if err != nil {
		return nil, err
	}
	return msgs[0], errs[0]
}

// msgPairs turns a flat HGETALL reply from a script into a map.
func msgPairs(res []any) map[string]string {
	h := make(map[string]string, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		k, _ := res[i].(string)
		v, _ := res[i+1].(string)
		h[k] = v
	}
	return h
}

// msgFromHash decodes a message hash (see the keyspace: snake_case fields,
// times in unix ms).
func msgFromHash(h map[string]string) *Message {
	return &Message{
		ID:          h["id"],
		AccountID:   h["account_id"],
		Sender:      h["sender"],
		MailID:      h["mail_id"],
		Source:      h["source"],
		To:          h["to"],
		Text:        h["text"],
		Coding:      uint8(msgInt(h["coding"])),
		Parts:       int(msgInt(h["parts"])),
		Price:       msgInt(h["price"]),
		Status:      MessageStatus(h["status"]),
		Link:        h["link"],
		SMSCID:      h["smsc_id"],
		Error:       h["error"],
		Attempts:    int(msgInt(h["attempts"])),
		CreatedAt:   msgTime(h["created_at"]),
		SubmittedAt: msgTime(h["submitted_at"]),
		DoneAt:      msgTime(h["done_at"]),
	}
}

// msgInt parses a decimal hash field; absent or malformed is 0.
func msgInt(v string) int64 {
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}

// msgTime parses a unix-ms hash field; absent or 0 is the zero time.
func msgTime(v string) time.Time {
	if ms := msgInt(v); ms != 0 {
		return time.UnixMilli(ms)
	}
	return time.Time{}
}
