package messages

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
)

// An account's message log is a stream (keyspace MessageStream) whose
// entry ids are the messages' creation times; the logs written by releases
// before it are zsets (MessageLog), still read after the stream and
// expired, never written. A walk goes through the stream newest first and
// then on into the zset, if the account has one. During a rolling upgrade
// an instance of the earlier release still logs into the zset: those
// messages are listed after the stream's, out of time order, none lost.

// logCursorPrefix marks a cursor in the stream (a zset cursor starts with
// the digits of a score).
const logCursorPrefix = "s"

// logZsetTop is the cursor's position when the stream has been read to its
// end and the zset of earlier releases is still to be read, from its top.
const logZsetTop = "zset"

// logScan walks the message log of acct newest first from q.cursor and
// returns up to q.limit items that load keeps, with the cursor of the next
// page ("" at the end): the stream, then the zset of earlier releases.
func logScan[T any](ctx context.Context, s *Store, shard int, acct string, q zscanQuery, load func(context.Context, []string) ([]*T, error), idOf func(*T) string) ([]*T, string, error) {
	if q.limit <= 0 {
		q.limit = msgDefaultLimit
	}
	q.limit = min(q.limit, accounts.QueryMaxLimit)
	if q.scan <= 0 {
		q.scan = accounts.QueryScanLimit
	}
	legacy := zscanQuery{key: s.Keys.MessageLog(shard, acct), from: q.from, to: q.to, limit: q.limit, scan: q.scan}
	cur, inStream, zcur, err := decodeLogCursor(q.cursor)
	if err != nil {
		return nil, "", err
	}
	if !inStream {
		legacy.cursor = zcur
		return zscan(ctx, s, legacy, load, idOf)
	}
	hi, lo := "+", "-"
	if !q.to.IsZero() {
		hi = "(" + strconv.FormatInt(q.to.UnixMilli(), 10) + "-0"
	}
	if !q.from.IsZero() {
		lo = strconv.FormatInt(q.from.UnixMilli(), 10)
	}
	if cur.entry != "" && (q.to.IsZero() || logIDBefore(cur.entry, q.to.UnixMilli())) {
		hi = "(" + cur.entry
		if cur.taken > 0 {
			hi = cur.entry // the page ended inside it: the rest of it first
		}
	}
	key := s.Keys.MessageStream(shard, acct)
	var out []*T
	scanned := 0
	for scanned < q.scan {
		n := min(max(int64(q.limit-len(out))*2, 50), 500, int64(q.scan-scanned))
		xs, err := s.RDB.XRevRangeN(ctx, key, hi, lo, n).Result()
		if err != nil {
			return nil, "", err
		}
		// The entries' ids newest first, each with its place in its entry.
		var ids []string
		var at []logPos
		for _, x := range xs {
			list := logEntryIDs(x)
			skip := 0
			if x.ID == cur.entry {
				skip = cur.taken // the ones the page before returned
			}
			for j := len(list) - 1 - skip; j >= 0; j-- {
				ids = append(ids, list[j])
				at = append(at, logPos{entry: x.ID, taken: len(list) - j, of: len(list)})
			}
		}
		cur.entry = ""
		// Loaded in chunks: an entry of a mail to a group holds thousands.
		for c := 0; c < len(ids); c += logLoadChunk {
			chunk := ids[c:min(c+logLoadChunk, len(ids))]
			items, err := load(ctx, chunk)
			if err != nil {
				return nil, "", err
			}
			k := 0
			for i, id := range chunk {
				scanned++
				if k < len(items) && idOf(items[k]) == id {
					out = append(out, items[k])
					k++
					if len(out) == q.limit {
						return out, encodeLogCursor(at[c+i]), nil
					}
				}
			}
		}
		if int64(len(xs)) < n {
			// The stream's end: on into the zset of earlier releases.
			if exists, err := s.RDB.Exists(ctx, legacy.key).Result(); err != nil || exists == 0 {
				return out, "", err
			}
			legacy.limit, legacy.scan = q.limit-len(out), q.scan-scanned
			if legacy.scan <= 0 {
				return out, encodeLogCursor(logPos{entry: logZsetTop}), nil
			}
			more, next, err := zscan(ctx, s, legacy, load, idOf)
			return append(out, more...), next, err
		}
		hi = "(" + xs[len(xs)-1].ID
	}
	return out, encodeLogCursor(logPos{entry: strings.TrimPrefix(hi, "(")}), nil
}

// logLoadChunk is the most message ids logScan loads at once.
const logLoadChunk = 500

// logEntryIDs returns the message ids of a message log entry, oldest
// first: one or more, comma-separated (see keyspace.MessageStream).
func logEntryIDs(x redis.XMessage) []string {
	v, _ := x.Values["i"].(string)
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// logPos is a place in the message log: in entry, after its newest taken
// ids of of (all of them when taken is of or 0).
type logPos struct {
	entry     string
	taken, of int
}

// logIDBefore reports whether stream entry id is before unix ms t.
func logIDBefore(id string, t int64) bool {
	ms, _, _ := strings.Cut(id, "-")
	n, err := strconv.ParseInt(ms, 10, 64)
	return err == nil && n < t
}

// encodeLogCursor makes a stream position opaque to clients: the entry
// id, and after a slash how many of its ids were returned when the page
// ended inside it.
func encodeLogCursor(p logPos) string {
	v := logCursorPrefix + p.entry
	if p.taken > 0 && p.taken < p.of {
		v += "/" + strconv.Itoa(p.taken)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(v))
}

// decodeLogCursor reads a cursor of logScan: in the stream, the place
// after which the walk goes on (none for the first page); otherwise zset
// is the cursor in the zset of earlier releases ("" from its top).
func decodeLogCursor(v string) (at logPos, inStream bool, zset string, err error) {
	if v == "" {
		return logPos{}, true, "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || !strings.HasPrefix(string(b), logCursorPrefix) {
		return logPos{}, false, v, nil // a zset cursor, or none (decodeCursor says)
	}
	id := string(b[len(logCursorPrefix):])
	if id == logZsetTop {
		return logPos{}, false, "", nil
	}
	bad := accounts.Invalidf("cursor: %q is not a cursor from a previous page", v)
	id, taken, inside := strings.Cut(id, "/")
	if inside {
		n, err := strconv.Atoi(taken)
		if err != nil || n <= 0 {
			return logPos{}, false, "", bad
		}
		at.taken = n
	}
	ms, seq, ok := strings.Cut(id, "-")
	_, err1 := strconv.ParseUint(ms, 10, 64)
	_, err2 := strconv.ParseUint(seq, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return logPos{}, false, "", bad
	}
	at.entry = id
	return at, true, "", nil
}
