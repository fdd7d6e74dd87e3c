package messages_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

func TestReplyState(t *testing.T) {
	ctx := t.Context()
	now := time.UnixMilli(1_700_000_000_000)
	clock := now
	s := storetest.AcceptTestStore(t, 2)
	s.Now = func() time.Time { return clock }
	var ids []string
	for i, text := range []string{"one", "two", "three"} {
		r, _, err := s.RouteReply(ctx, accounts.Reply{From: "6141111111" + string(rune('0'+i)), To: "61400000000",
			Text: text, ReceivedAt: now.Add(time.Duration(i) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID) // unrouted: the inbox of account ""
	}
	yes, no := new(bool), new(bool)
	*yes = true
	steps := []struct {
		name   string
		id     string
		ch     accounts.ReplyStateChange
		at     time.Duration // clock offset
		read   time.Duration // want ReadAt offset; -1: zero
		arch   time.Duration
		errIs  error
		states map[accounts.InboxState][]string // texts, newest first, after the step
	}{
		{name: "mark read", id: ids[0], ch: accounts.ReplyStateChange{Read: yes}, at: 10, read: 10, arch: -1,
			states: map[accounts.InboxState][]string{accounts.InboxCurrent: {"three", "two", "one"}, accounts.InboxUnread: {"three", "two"},
				accounts.InboxRead: {"one"}, accounts.InboxArchived: nil, accounts.InboxAll: {"three", "two", "one"}}},
		{name: "read again keeps the first time", id: ids[0], ch: accounts.ReplyStateChange{Read: yes}, at: 20, read: 10, arch: -1},
		{name: "archive", id: ids[1], ch: accounts.ReplyStateChange{Archived: yes}, at: 30, read: -1, arch: 30,
			states: map[accounts.InboxState][]string{accounts.InboxCurrent: {"three", "one"}, accounts.InboxUnread: {"three"},
				accounts.InboxRead: {"one"}, accounts.InboxArchived: {"two"}, accounts.InboxAll: {"three", "two", "one"}}},
		{name: "both at once", id: ids[2], ch: accounts.ReplyStateChange{Read: yes, Archived: yes}, at: 40, read: 40, arch: 40,
			states: map[accounts.InboxState][]string{accounts.InboxCurrent: {"one"}, accounts.InboxUnread: nil, accounts.InboxArchived: {"three", "two"}}},
		{name: "unread and unarchive", id: ids[2], ch: accounts.ReplyStateChange{Read: no, Archived: no}, at: 50, read: -1, arch: -1,
			states: map[accounts.InboxState][]string{accounts.InboxCurrent: {"three", "one"}, accounts.InboxUnread: {"three"}}},
		{name: "empty change", id: ids[0], errIs: accounts.ErrInvalid},
		{name: "no such reply", id: "r0-nosuchreply", ch: accounts.ReplyStateChange{Read: yes}, errIs: accounts.ErrNotFound},
		{name: "not a reply id", id: "a0-x", ch: accounts.ReplyStateChange{Read: yes}, errIs: accounts.ErrNotFound},
		{name: "bad shard", id: "r9-x", ch: accounts.ReplyStateChange{Read: yes}, errIs: accounts.ErrNotFound},
	}
	off := func(d time.Duration) time.Time {
		if d < 0 {
			return time.Time{}
		}
		return now.Add(d * time.Second)
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			clock = off(st.at)
			r, err := s.SetReplyState(ctx, st.id, st.ch)
			if st.errIs != nil {
				if !errors.Is(err, st.errIs) {
					t.Fatalf("err = %v, want %v", err, st.errIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !r.ReadAt.Equal(off(st.read)) || !r.ArchivedAt.Equal(off(st.arch)) || r.ID != st.id {
				t.Errorf("reply = %+v, want read_at %v archived_at %v", r, off(st.read), off(st.arch))
			}
			if got, err := s.GetReply(ctx, st.id); err != nil || *got != *r {
				t.Errorf("GetReply = %+v, %v; want %+v", got, err, r)
			}
			for state, want := range st.states {
				rs, _, err := s.QueryInbox(ctx, accounts.InboxQuery{State: state})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, r := range rs {
					got = append(got, r.Text)
				}
				if !slices.Equal(got, want) {
					t.Errorf("state %q: %v, want %v", state, got, want)
				}
			}
		})
	}
}

// TestInboxQuota: an inbox keeps at most its quota of replies, the oldest
// going first (the unrouted inbox: the configured default).
func TestInboxQuota(t *testing.T) {
	ctx := t.Context()
	s := storetest.New(t, redisstore.Options{Quotas: accounts.Quotas{Inbox: 2}})
	now := time.UnixMilli(1_700_000_000_000)
	var ids []string
	for i := range 3 {
		r, _, err := s.RouteReply(ctx, accounts.Reply{From: fmt.Sprintf("6141111111%d", i), To: "61400000000",
			Text: "hi", ReceivedAt: now.Add(time.Duration(i) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	got, err := s.ListInbox(ctx, "", 10)
	if err != nil || len(got) != 2 || got[0].ID != ids[2] || got[1].ID != ids[1] {
		t.Fatalf("inbox %v, %v: want the two newest", got, err)
	}
	if _, err := s.GetReply(ctx, ids[0]); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("the dropped reply: %v", err)
	}
}
