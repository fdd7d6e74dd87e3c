package messages

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"

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
	after, inStream, zcur, err := decodeLogCursor(q.cursor)
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
	if after != "" && (q.to.IsZero() || logIDBefore(after, q.to.UnixMilli())) {
		hi = "(" + after
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
		ids := make([]string, len(xs))
		for i, x := range xs {
			ids[i], _ = x.Values["i"].(string)
		}
		items, err := load(ctx, ids)
		if err != nil {
			return nil, "", err
		}
		k := 0
		for i, x := range xs {
			scanned++
			if k < len(items) && idOf(items[k]) == ids[i] {
				out = append(out, items[k])
				k++
				if len(out) == q.limit {
					return out, encodeLogCursor(x.ID), nil
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
				return out, encodeLogCursor(logZsetTop), nil
			}
			more, next, err := zscan(ctx, s, legacy, load, idOf)
			return append(out, more...), next, err
		}
		hi = "(" + xs[len(xs)-1].ID
	}
	return out, encodeLogCursor(strings.TrimPrefix(hi, "(")), nil
}

// logIDBefore reports whether stream entry id is before unix ms t.
func logIDBefore(id string, t int64) bool {
	ms, _, _ := strings.Cut(id, "-")
	n, err := strconv.ParseInt(ms, 10, 64)
	return err == nil && n < t
}

// encodeLogCursor makes a stream position opaque to clients.
func encodeLogCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(logCursorPrefix + id))
}

// decodeLogCursor reads a cursor of logScan: in the stream, the entry
// after which the walk goes on ("" for the first page); otherwise zset is
// the cursor in the zset of earlier releases ("" from its top).
func decodeLogCursor(v string) (after string, inStream bool, zset string, err error) {
	if v == "" {
		return "", true, "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || !strings.HasPrefix(string(b), logCursorPrefix) {
		return "", false, v, nil // a zset cursor, or none (decodeCursor says)
	}
	id := string(b[len(logCursorPrefix):])
	if id == logZsetTop {
		return "", false, "", nil
	}
	ms, seq, ok := strings.Cut(id, "-")
	_, err1 := strconv.ParseUint(ms, 10, 64)
	_, err2 := strconv.ParseUint(seq, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return "", false, "", accounts.Invalidf("cursor: %q is not a cursor from a previous page", v)
	}
	return id, true, "", nil
}
