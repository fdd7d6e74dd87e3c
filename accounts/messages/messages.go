package messages

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
)

// msgDefaultLimit is the page size of ListMessages and ListInbox when the
// caller passes no limit.
const msgDefaultLimit = 100

// GetMessage returns message id, or ErrNotFound.
func (s *Store) GetMessage(ctx context.Context, id string) (*accounts.Message, error) {
	key, _, err := s.MsgKey(id)
	if err != nil {
		return nil, fmt.Errorf("get message: %w", err)
	}
	h, err := s.RDB.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("get message %s: %w", id, err)
	}
	if len(h) == 0 {
		return nil, fmt.Errorf("message %s: %w", id, accounts.ErrNotFound)
	}
	return MsgFromHash(id, h), nil
}

// LoadMessages returns the messages ids in one pipeline, in the same order;
// an element is nil where the message does not exist.
func (s *Store) LoadMessages(ctx context.Context, ids []string) ([]*accounts.Message, error) {
	out := make([]*accounts.Message, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	// HGETALL, not an HMGET of msgFields: Redis reads a small hash in one
	// pass, where each HMGET field is a search of it (about 1 us more a
	// message, measured by the benchmark's command statistics).
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	pipe := s.RDB.Pipeline()
	for i, id := range ids {
		if key, _, err := s.MsgKey(id); err == nil {
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
			out[i] = MsgFromHash(ids[i], c.Val())
		}
	}
	return out, nil
}

// ListMessages returns up to limit (default 100) of the account's messages,
// newest first.
func (s *Store) ListMessages(ctx context.Context, accountID string, limit int) ([]*accounts.Message, error) {
	if limit <= 0 {
		limit = msgDefaultLimit
	}
	msgs, _, err := s.QueryMessages(ctx, accounts.MessageQuery{AccountID: accountID, Limit: limit, Scan: max(limit, accounts.QueryScanLimit)})
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return msgs, nil
}

// ApplyReceipt applies a delivery receipt for one part: link is the carrier
// link it came from, canonicalID the SMSC message id in the form the
// submission indexed, status one of delivered, undeliverable, expired,
// rejected or failed (anything else, such as enroute, changes nothing).
// A message is delivered once all its parts are; the first failure of any
// part is final. It returns the message when this receipt gave it its final
// status, nil when it changed no status (see ApplyReceipts), or ErrNotFound
// when no submission of link has that id.
func (s *Store) ApplyReceipt(ctx context.Context, link, canonicalID, status, errCode string, at time.Time) (*accounts.Message, error) {
	msgs, errs, err := s.ApplyReceipts(ctx, []accounts.ReceiptUpdate{{Link: link, CanonicalID: canonicalID, Status: status, ErrCode: errCode, At: at}})
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

// MsgFromHash decodes the hash of message id (see the keyspace: snake_case
// fields, times in unix ms; a field at its zero value may be absent).
func MsgFromHash(id string, h map[string]string) *accounts.Message {
	return &accounts.Message{
		ID:          id,
		AccountID:   h["account_id"],
		Sender:      h["sender"],
		MailID:      h["mail_id"],
		Source:      h["source"],
		To:          h["to"],
		Text:        h["text"],
		Coding:      uint8(msgInt(h["coding"])),
		Parts:       int(msgInt(h["parts"])),
		Price:       msgInt(h["price"]),
		Status:      accounts.MessageStatus(h["status"]),
		Link:        h["link"],
		SMSCID:      h["smsc_id"],
		Error:       h["error"],
		Attempts:    int(msgInt(h["attempts"])),
		PartIDs:     splitParts(h["part_ids"]),
		CreatedAt:   msgTime(h["created_at"]),
		SubmittedAt: msgTime(h["submitted_at"]),
		DoneAt:      msgTime(h["done_at"]),
		Held:        h["held"] != "",
	}
}

// msgInt parses a decimal hash field; absent or malformed is 0.
func msgInt(v string) int64 {
	if v == "" {
		return 0 // absent: no error to build
	}
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

// QueryMessages returns a page of the account's messages that match q,
// newest first, and the cursor of the next page ("" when the log has been
// read to the end). A page may be shorter than the limit, even empty, and
// still have a next cursor when the scan bound was reached first. Paging
// with the cursors returns every matching message once: none twice, none
// left out, even among messages created in the same millisecond.
func (s *Store) QueryMessages(ctx context.Context, q accounts.MessageQuery) (msgs []*accounts.Message, next string, err error) {
	shard, err := s.ShardFromID(q.AccountID)
	if err != nil {
		return nil, "", fmt.Errorf("query messages: account %w", err)
	}
	exact, digits := queryNumber(q.Number)
	needFilter := q.Sender != "" || q.Status != "" || len(q.AnyStatus) > 0 || digits != ""
	match := func(sender, status, to string) bool {
		switch {
		case q.Sender != "" && !strings.EqualFold(sender, q.Sender),
			q.Status != "" && accounts.MessageStatus(status) != q.Status,
			len(q.AnyStatus) > 0 && !slices.Contains(q.AnyStatus, accounts.MessageStatus(status)),
			exact && to != digits,
			!exact && !strings.Contains(to, digits):
			return false
		}
		return true
	}
	load := func(ctx context.Context, ids []string) ([]*accounts.Message, error) {
		if needFilter {
			// Filter on three fields first; load whole messages only for
			// the matches.
			cmds := make([]*redis.SliceCmd, len(ids))
			pipe := s.RDB.Pipeline()
			for i, id := range ids {
				cmds[i] = pipe.HMGet(ctx, s.Keys.Message(shard, id), "sender", "status", "to")
			}
			if _, err := pipe.Exec(ctx); err != nil {
				return nil, err
			}
			var keep []string
			for i, c := range cmds {
				v := c.Val()
				if len(v) == 3 && match(queryStr(v[0]), queryStr(v[1]), queryStr(v[2])) {
					keep = append(keep, ids[i])
				}
			}
			ids = keep
		}
		ms, err := s.LoadMessages(ctx, ids)
		if err != nil {
			return nil, err
		}
		out := ms[:0]
		for _, m := range ms {
			if m != nil { // gone since it was listed
				out = append(out, m)
			}
		}
		return out, nil
	}
	scan := zscanQuery{from: q.From, to: q.To, cursor: q.Cursor, limit: q.Limit, scan: q.Scan}
	msgs, next, err = logScan(ctx, s, shard, q.AccountID, scan, load, func(m *accounts.Message) string { return m.ID })
	if err != nil {
		return nil, "", fmt.Errorf("query messages of %s: %w", q.AccountID, err)
	}
	return msgs, next, nil
}

// queryNumber reads MessageQuery.Number: exact for "+<digits>", else the
// digits to look for.
func queryNumber(n string) (exact bool, digits string) {
	n = strings.TrimSpace(n)
	exact = strings.HasPrefix(n, "+")
	var b strings.Builder
	for _, r := range n {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return exact && b.Len() > 0, b.String()
}

// queryStr turns an HMGET value into a string ("" for a missing field).
func queryStr(v any) string {
	s, _ := v.(string)
	return s
}

// zscanQuery is one page of a walk over a log sorted set whose scores are
// unix ms and whose members are ids: newest first, From <= score < To.
type zscanQuery struct {
	key      string
	from, to time.Time
	cursor   string
	limit    int
	scan     int
}

// zscan walks q.key newest first from q.cursor and returns up to q.limit
// items that load keeps, with the cursor of the next page. load gets the ids
// of one batch, in order, and returns the items it keeps (in order, a
// subset); idOf names an item's member.
//
// A cursor is the (score, member) of the last entry examined and how many
// entries of that score had been examined by then. Redis orders equal
// scores by member, descending, in ZREVRANGEBYSCORE, so a walk goes on from
// that score, inclusive, at that offset, so that a run of equal scores
// longer than a batch or a page (one mail to many recipients is accepted in
// one millisecond) cannot stall it. Entries of the cursor's score whose
// member is not below the cursor's are skipped as well: one inserted since
// (same millisecond, higher id) then shows up neither twice nor never.
func zscan[T any](ctx context.Context, s *Store, q zscanQuery, load func(context.Context, []string) ([]*T, error), idOf func(*T) string) ([]*T, string, error) {
	if q.limit <= 0 {
		q.limit = msgDefaultLimit
	}
	q.limit = min(q.limit, accounts.QueryMaxLimit)
	if q.scan <= 0 {
		q.scan = accounts.QueryScanLimit
	}
	lo := "-inf"
	if !q.from.IsZero() {
		lo = strconv.FormatInt(q.from.UnixMilli(), 10)
	}
	hi := "+inf"
	if !q.to.IsZero() {
		hi = "(" + strconv.FormatInt(q.to.UnixMilli(), 10)
	}
	cur, has, err := decodeCursor(q.cursor)
	if err != nil {
		return nil, "", err
	}
	if has && !q.to.IsZero() && cur.score >= q.to.UnixMilli() {
		has, cur = false, zscanCursor{} // before the period: start at its end
	}
	if has {
		hi = strconv.FormatInt(cur.score, 10)
	}
	var out []*T
	for scanned := 0; scanned < q.scan; {
		n := min(max(int64(q.limit-len(out))*2, 50), 500, int64(q.scan-scanned))
		zs, err := s.RDB.ZRevRangeByScoreWithScores(ctx, q.key, &redis.ZRangeBy{
			Min: lo, Max: hi, Offset: cur.run, Count: n,
		}).Result()
		if err != nil {
			return nil, "", err
		}
		fresh := make([]string, 0, len(zs))
		for _, z := range zs {
			id, _ := z.Member.(string)
			if !(has && int64(z.Score) == cur.score && id >= cur.id) {
				fresh = append(fresh, id)
			}
		}
		items, err := load(ctx, fresh)
		if err != nil {
			return nil, "", err
		}
		// Walk the batch in order; stop where the page fills.
		k := 0
		for _, z := range zs {
			scanned++
			id, _ := z.Member.(string)
			score := int64(z.Score)
			if has && score == cur.score && id >= cur.id {
				cur.run++ // seen on an earlier page
				continue
			}
			if has && score == cur.score {
				cur.run++
			} else {
				cur.run = 1
			}
			cur.score, cur.id, has = score, id, true
			if k < len(items) && idOf(items[k]) == id {
				out = append(out, items[k])
				k++
				if len(out) == q.limit {
					return out, encodeCursor(cur), nil
				}
			}
		}
		if int64(len(zs)) < n {
			return out, "", nil // the end of the log
		}
		hi = strconv.FormatInt(cur.score, 10)
	}
	if !has {
		return out, "", nil
	}
	return out, encodeCursor(cur), nil
}

// zscanCursor is a position in a log: the last entry examined, and how many
// entries of its score had been examined up to it (the offset at which the
// walk goes on).
type zscanCursor struct {
	score int64
	run   int64
	id    string
}

// encodeCursor makes c opaque to clients: base64url of
// "<score>.<run>.<id>".
func encodeCursor(c zscanCursor) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d.%d.%s", c.score, c.run, c.id))
}

// decodeCursor reads a cursor; "" is the first page.
func decodeCursor(v string) (zscanCursor, bool, error) {
	if v == "" {
		return zscanCursor{}, false, nil
	}
	bad := accounts.Invalidf("cursor: %q is not a cursor from a previous page", v)
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return zscanCursor{}, false, bad
	}
	parts := strings.SplitN(string(b), ".", 3)
	if len(parts) != 3 || parts[2] == "" {
		return zscanCursor{}, false, bad
	}
	score, err1 := strconv.ParseInt(parts[0], 10, 64)
	run, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || run < 0 {
		return zscanCursor{}, false, bad
	}
	return zscanCursor{score: score, run: run, id: parts[2]}, true, nil
}

// splitParts decodes the part_ids field (ids joined by ","); "" is nil.
func splitParts(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// JoinParts encodes part ids for the part_ids field.
func JoinParts(ids []string) string { return strings.Join(ids, ",") }
