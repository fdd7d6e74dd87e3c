package accounts

import (
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsgate/smsgate/internal/redistest"
)

// msgTestClock returns a clock that advances one second per call, so that
// every accepted message has its own creation time.
func msgTestClock() func() time.Time {
	var n atomic.Int64
	base := time.UnixMilli(1_700_000_000_000)
	return func() time.Time { return base.Add(time.Duration(n.Add(1)) * time.Second) }
}

func TestMessages(t *testing.T) {
	ctx := t.Context()
	s := NewStore(redistest.Start(t), StoreOptions{Now: msgTestClock()})
	a := acceptTestAccount(t, s, 1000)
	var ids []string
	for i := range 5 {
		res, err := s.Accept(ctx, AcceptRequest{AccountID: a.ID,
			Messages: []*Message{acceptTestMsg("6141111111"+strconv.Itoa(i), 1, 5)}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.IDs...)
	}

	t.Run("get", func(t *testing.T) {
		m, err := s.GetMessage(ctx, ids[2])
		if err != nil || m.To != "61411111112" || m.Coding != 0 || m.Parts != 1 || m.Attempts != 0 {
			t.Fatalf("GetMessage = %+v, %v", m, err)
		}
	})
	for _, id := range []string{"m0-nosuchmessage", "garbage", "m7-otherstore", ""} {
		t.Run("not found "+id, func(t *testing.T) {
			if _, err := s.GetMessage(ctx, id); !errors.Is(err, ErrNotFound) {
				t.Fatalf("GetMessage(%q) = %v, want ErrNotFound", id, err)
			}
		})
	}
	t.Run("load keeps order and gaps", func(t *testing.T) {
		ms, err := s.LoadMessages(ctx, []string{ids[4], "m0-missing", "bad", ids[0]})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 4 || ms[0].ID != ids[4] || ms[1] != nil || ms[2] != nil || ms[3].ID != ids[0] {
			t.Fatalf("LoadMessages = %v", ms)
		}
	})
	t.Run("list newest first", func(t *testing.T) {
		ms, err := s.ListMessages(ctx, a.ID, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 3 || ms[0].ID != ids[4] || ms[1].ID != ids[3] || ms[2].ID != ids[2] {
			t.Fatalf("ListMessages = %v", ms)
		}
		all, err := s.ListMessages(ctx, a.ID, 0)
		if err != nil || len(all) != 5 {
			t.Fatalf("ListMessages default limit = %d, %v", len(all), err)
		}
	})
	t.Run("list unknown account", func(t *testing.T) {
		if ms, err := s.ListMessages(ctx, "a0-nobody", 10); err != nil || len(ms) != 0 {
			t.Fatalf("ListMessages = %v, %v", ms, err)
		}
	})
}

// FuzzMsgFromHash checks that decoding a stored message never panics and
// reads back the numbers and times it is given.
func FuzzMsgFromHash(f *testing.F) {
	f.Add("5", "1700000000000", "8", "queued")
	f.Add("", "0", "x", "")
	f.Add("-3", "-1", "300", "delivered")
	f.Fuzz(func(t *testing.T, price, created, coding, status string) {
		m := msgFromHash(map[string]string{"price": price, "created_at": created, "coding": coding, "status": status})
		if n, err := strconv.ParseInt(price, 10, 64); err == nil && m.Price != n {
			t.Fatalf("price %q read as %d", price, m.Price)
		}
		if n, err := strconv.ParseInt(created, 10, 64); err == nil && n != 0 && m.CreatedAt.UnixMilli() != n {
			t.Fatalf("created_at %q read as %v", created, m.CreatedAt)
		}
		if m.Status != MessageStatus(status) {
			t.Fatalf("status %q read as %q", status, m.Status)
		}
	})
}
