package messages

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/smsgate/smsgate/accounts"
)

// heldReceipt is a held receipt as stored (keyspace HeldReceipts).
type heldReceipt struct {
	Link   string   `json:"link"`
	ID     string   `json:"id"`
	Forms  []string `json:"forms,omitempty"`
	Status string   `json:"status"`
	Err    string   `json:"err,omitempty"`
	At     int64    `json:"at"`    // unix ms
	Until  int64    `json:"until"` // unix ms
}

func heldField(u accounts.ReceiptUpdate) string { return u.Link + "\x00" + u.CanonicalID }

// HoldReceipts keeps receipts whose message was not found in Redis until
// until (one hash, shared by every instance): a receipt that overtook the
// recording of its submit is then not lost when the instance that received
// it ends before the submit is recorded. The caller acknowledges them to
// the carrier only once this returns nil.
func (s *Store) HoldReceipts(ctx context.Context, ups []accounts.ReceiptUpdate, until time.Time) error {
	if len(ups) == 0 {
		return nil
	}
	args := make([]any, 0, 2*len(ups))
	for _, u := range ups {
		v, err := json.Marshal(heldReceipt{Link: u.Link, ID: u.CanonicalID, Forms: u.Forms, Status: u.Status,
			Err: u.ErrCode, At: u.At.UnixMilli(), Until: until.UnixMilli()})
		if err != nil {
			return fmt.Errorf("hold receipts: %w", err)
		}
		args = append(args, heldField(u), v)
	}
	if err := s.RDB.HSet(ctx, s.Keys.HeldReceipts(), args...).Err(); err != nil {
		return fmt.Errorf("hold %d receipts: %w", len(ups), err)
	}
	return nil
}

// HeldReceipts returns a page of held receipts from cursor (0: the start)
// and the cursor of the next page (0: the end), about count at a time.
func (s *Store) HeldReceipts(ctx context.Context, cursor uint64, count int) ([]accounts.HeldReceipt, uint64, error) {
	kv, next, err := s.RDB.HScan(ctx, s.Keys.HeldReceipts(), cursor, "", int64(count)).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("held receipts: %w", err)
	}
	out := make([]accounts.HeldReceipt, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		var h heldReceipt
		if json.Unmarshal([]byte(kv[i+1]), &h) != nil {
			// Unreadable: nothing can apply it; it goes.
			_ = s.RDB.HDel(ctx, s.Keys.HeldReceipts(), kv[i]).Err()
			continue
		}
		out = append(out, accounts.HeldReceipt{Until: time.UnixMilli(h.Until), Update: accounts.ReceiptUpdate{
			Link: h.Link, CanonicalID: h.ID, Forms: h.Forms, Status: h.Status, ErrCode: h.Err, At: time.UnixMilli(h.At)}})
	}
	return out, next, nil
}

// ReleaseReceipts forgets held receipts: applied, or given up.
func (s *Store) ReleaseReceipts(ctx context.Context, ups []accounts.ReceiptUpdate) error {
	if len(ups) == 0 {
		return nil
	}
	fields := make([]string, len(ups))
	for i, u := range ups {
		fields[i] = heldField(u)
	}
	if err := s.RDB.HDel(ctx, s.Keys.HeldReceipts(), fields...).Err(); err != nil {
		return fmt.Errorf("release %d held receipts: %w", len(ups), err)
	}
	return nil
}
