package router

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
	"github.com/smsgate/smsgate/smpp"
)

// The dispatcher over a real store (a redis-server) and grouped queue
// entries: the messages of one accept call are one stream entry, settled
// member by member and acknowledged once all are.

// groupedAccept accepts n single-part messages in one request (one grouped
// entry) and returns their ids.
func groupedAccept(t *testing.T, s *redisstore.Store, n int) []string {
	t.Helper()
	a := storetest.AcceptTestAccount(t, s, 10000)
	var msgs []*accounts.Message
	for i := range n {
		msgs = append(msgs, storetest.AcceptTestMsg(fmt.Sprintf("614000000%02d", i), 1, 5))
	}
	res, err := s.Accept(t.Context(), accounts.AcceptRequest{AccountID: a.ID, Messages: msgs})
	if err != nil {
		t.Fatal(err)
	}
	if x := s.RDB.XRange(t.Context(), s.Keys.Queue(0), "-", "+").Val(); len(x) != 1 {
		t.Fatalf("queue %v, want one grouped entry", x)
	}
	return res.IDs
}

// storeDispatcher is a dispatcher over store s and link with fast timings.
func storeDispatcher(s QueueStore, link Link, edit func(*DispatcherOptions)) *Dispatcher {
	o := DispatcherOptions{
		Store: s, Routes: NewRoutes([]Route{{Link: link}}), Consumer: "alive",
		Workers: 4, Batch: 10, Block: 20 * time.Millisecond, ClaimIdle: 200 * time.Millisecond,
		Retry:        RetryPolicy{Initial: time.Millisecond, Max: time.Millisecond, MaxAttempts: 5},
		ErrorBackoff: 20 * time.Millisecond, ParkRecheck: 20 * time.Millisecond,
	}
	if edit != nil {
		edit(&o)
	}
	return NewDispatcher(o)
}

// waitSettled waits, bounded, until every message of ids is submitted and
// nothing is pending in the queue, retrying messages waiting for their
// retry time.
func waitSettled(t *testing.T, s *redisstore.Store, ids []string, retrying int64) {
	t.Helper()
	deadline := time.Now().Add(unitWait)
	for {
		done := true
		for _, id := range ids {
			m, err := s.GetMessage(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			done = done && m.Status == accounts.MsgSubmitted
		}
		p, r, _, err := s.QueueStats(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if done && p == 0 && r == retrying {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled within %s: pending %d, retrying %d, all submitted %v", unitWait, p, r, done)
		}
		time.Sleep(5 * time.Millisecond) // polling Redis: no event to wait on
	}
}

// sentOnce checks that the link saw each recipient of ids exactly once
// successfully.
func sentOnce(t *testing.T, s *redisstore.Store, link *stageLink, ids []string, skip map[string]bool) {
	t.Helper()
	ok := map[string]int{}
	for _, p := range link.submits() {
		if p.err == nil {
			ok[p.dest]++
		}
	}
	for _, id := range ids {
		m, err := s.GetMessage(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		want := 1
		if skip[id] {
			want = 0
		}
		if ok[m.To] != want {
			t.Errorf("message %s to %s sent %d times, want %d", id, m.To, ok[m.To], want)
		}
	}
}

// TestDispatchGroupedEntry: six messages of one entry, the first submit
// throttled (a retry, which comes back as an entry of its own): each is
// sent once, recorded submitted with the right attempts, and the grouped
// entry is acknowledged once all are settled.
func TestDispatchGroupedEntry(t *testing.T) {
	s := storetest.AcceptTestStore(t, 1)
	ids := groupedAccept(t, s, 6)
	link := newStageLink("l1")
	link.partErr[1] = &knob{err: &smpp.StatusError{Status: 0x58}, times: 1}
	runDispatcher(t, storeDispatcher(s, link, nil))
	waitSettled(t, s, ids, 0)
	sentOnce(t, s, link, ids, nil)
	retried := 0
	for _, id := range ids {
		m, _ := s.GetMessage(t.Context(), id)
		switch m.Attempts {
		case 1:
		case 2:
			retried++
		default:
			t.Errorf("message %s: %d attempts", id, m.Attempts)
		}
	}
	if retried != 1 {
		t.Errorf("%d messages retried, want 1", retried)
	}
	if n := s.RDB.XLen(t.Context(), s.Keys.Queue(0)).Val(); n != 0 {
		t.Errorf("queue stream holds %d entries once all is settled, want 0", n)
	}
}

// TestDispatchGroupedClaim: a consumer read a grouped entry, recorded one
// member submitted, scheduled one's retry an hour later, parked another,
// and died. The claimer sends only the two members still queued and not
// held; the parked one comes back as an entry of its own when the link is
// up; the retried one waits for its time; none is sent twice.
func TestDispatchGroupedClaim(t *testing.T) {
	ctx := t.Context()
	s := storetest.AcceptTestStore(t, 1)
	ids := groupedAccept(t, s, 5)
	if err := s.EnsureGroups(ctx); err != nil {
		t.Fatal(err)
	}
	es := storetest.QueueTestRead(t, s, "dead", 5)
	if err := s.MarkSubmitted(ctx, []accounts.Submitted{{Entry: es[0], Link: "l0", Source: "ACME"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Retry(ctx, es[1], time.Now().Add(time.Hour), "throttled", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Park(ctx, es[2], "link down", nil); err != nil {
		t.Fatal(err)
	}
	link := newStageLink("l1")
	runDispatcher(t, storeDispatcher(s, link, nil))
	waitSettled(t, s, []string{ids[0], ids[2], ids[3], ids[4]}, 1)
	sentOnce(t, s, link, ids, map[string]bool{ids[0]: true, ids[1]: true})
	if m, _ := s.GetMessage(ctx, ids[1]); m.Status != accounts.MsgQueued || m.Attempts != 1 {
		t.Errorf("the message retried an hour later: %+v, want still queued", m)
	}
}

// failOnce is a store whose first Retry fails (Redis refused it).
type failOnce struct {
	*redisstore.Store
	failed atomic.Bool
}

func (f *failOnce) Retry(ctx context.Context, e accounts.Entry, at time.Time, reason string, partIDs []string) (int, error) {
	if f.failed.CompareAndSwap(false, true) {
		return 0, fmt.Errorf("retry %s: refused by the test", e.MessageID)
	}
	return f.Store.Retry(ctx, e, at, reason, partIDs)
}

// TestDispatchGroupedUnwritten: a member's retry could not be written, so
// it is still queued and in no retry set: the grouped entry must stay
// pending (its other members all submitted) until it is claimed, and the
// member is then sent. Acknowledging the entry would lose it.
func TestDispatchGroupedUnwritten(t *testing.T) {
	s := storetest.AcceptTestStore(t, 1)
	ids := groupedAccept(t, s, 4)
	link := newStageLink("l1")
	link.partErr[1] = &knob{err: &smpp.StatusError{Status: 0x58}, times: 1}
	fs := &failOnce{Store: s}
	runDispatcher(t, storeDispatcher(fs, link, nil))
	waitSettled(t, s, ids, 0)
	sentOnce(t, s, link, ids, nil)
	if !fs.failed.Load() {
		t.Fatal("no retry was refused")
	}
}
