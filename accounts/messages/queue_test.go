package messages_test

import (
	"errors"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/messages"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
	"github.com/smsgate/smsgate/smpp"
)

// queueTestAccept accepts one message per parts count and returns the ids.
func queueTestAccept(t *testing.T, s *redisstore.Store, acct string, parts ...int) []string {
	t.Helper()
	var msgs []*accounts.Message
	for i, p := range parts {
		msgs = append(msgs, storetest.AcceptTestMsg("6141111111"+string(rune('0'+i)), p, int64(5*p)))
	}
	res, err := s.Accept(t.Context(), accounts.AcceptRequest{AccountID: acct, Messages: msgs})
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	return res.IDs
}

// singleEntryStore is a store that queues each message as an entry of its
// own (redisstore.Options.EntryPerMessage), as the releases before grouped
// entries did.
func singleEntryStore(t *testing.T) *redisstore.Store {
	t.Helper()
	return storetest.New(t, redisstore.Options{Shards: 1, EntryPerMessage: true})
}

// claimStale claims for consumer, as soon as they have been idle 20 ms,
// entries until it has n (members of grouped entries count one each), or
// fails the test after 5 s.
func claimStale(t *testing.T, s *redisstore.Store, consumer string, n int) []accounts.Entry {
	t.Helper()
	var got []accounts.Entry
	deadline := time.After(5 * time.Second)
	for len(got) < n {
		es, err := s.ClaimStale(t.Context(), consumer, 20*time.Millisecond, 10)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, es...)
		select {
		case <-deadline:
			t.Fatalf("claimed %v, want %d", got, n)
		case <-time.After(5 * time.Millisecond): // entries become claimable by idling: nothing to wait on
		}
	}
	return got
}

// queueTestGet loads a message or fails the test.
func queueTestGet(t *testing.T, s *redisstore.Store, id string) *accounts.Message {
	t.Helper()
	m, err := s.GetMessage(t.Context(), id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return m
}

func TestQueueSubmitAndReceipts(t *testing.T) {
	ctx := t.Context()
	s := singleEntryStore(t)
	a := storetest.AcceptTestAccount(t, s, 1000)
	for range 2 { // BUSYGROUP on the second call is fine
		if err := s.EnsureGroups(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ids := queueTestAccept(t, s, a.ID, 1, 2, 1, 1)
	es := storetest.QueueTestRead(t, s, "w1", 4)
	for i, e := range es {
		if e.MessageID != ids[i] || e.Shard != 0 || e.StreamID == "" {
			t.Fatalf("entry %d = %+v, want message %s", i, e, ids[i])
		}
	}
	// Message 0: one part, SMSC id 12345, its receipt naming it in hex.
	// Message 1: two parts. Message 2: fails on the network. Message 3:
	// alphanumeric source, so no conversation.
	batch := []accounts.Submitted{
		{Entry: es[0], Link: "carrier", Source: "61400000000", SMSCIDs: []string{"12345"}},
		{Entry: es[1], Link: "carrier", Source: "61400000000", SMSCIDs: []string{"64", "65"}},
		{Entry: es[2], Link: "carrier", Source: "61400000000", SMSCIDs: []string{"200"}},
		{Entry: es[3], Link: "carrier", Source: "ACME", SMSCIDs: []string{"300"}},
	}
	if err := s.MarkSubmitted(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if p, _, _, err := s.QueueStats(ctx); err != nil || p != 0 {
		t.Fatalf("pending after submit = %d, %v; want 0", p, err)
	}
	if n := s.RDB.XLen(ctx, s.Keys.Queue(0)).Val(); n != 0 {
		t.Errorf("queue holds %d entries after submit, want 0 (deleted)", n)
	}
	m := queueTestGet(t, s, ids[0])
	if m.Status != accounts.MsgSubmitted || m.Link != "carrier" || m.SMSCID != "12345" || m.Attempts != 1 || m.SubmittedAt.IsZero() {
		t.Fatalf("submitted message = %+v", m)
	}
	if got := s.RDB.Get(ctx, s.Keys.Conversation("61400000000", m.To)).Val(); got != ids[0] {
		t.Errorf("conversation index -> %q, want %s", got, ids[0])
	}
	if n := s.RDB.Exists(ctx, s.Keys.Conversation("ACME", queueTestGet(t, s, ids[3]).To)).Val(); n != 0 {
		t.Errorf("alphanumeric source indexed a conversation")
	}
	// One index key per part: the canonical form only.
	var keys []string
	if err := s.ScanKeys(ctx, s.Keys.SMSCMessage("carrier", "*"), func(k string) error {
		keys = append(keys, k)
		return nil
	}); err != nil || len(keys) != 5 {
		t.Errorf("SMSC-id index keys = %v, want one per part (5)", keys)
	}
	// Recording the batch again (its reply was lost) changes nothing.
	if err := s.MarkSubmitted(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if m := queueTestGet(t, s, ids[0]); m.Attempts != 1 {
		t.Errorf("attempts after recording twice = %d, want 1", m.Attempts)
	}

	at := time.UnixMilli(1_700_000_000_000)
	steps := []struct {
		name, smscID, status, code string
		mid                        string
		want                       accounts.MessageStatus
		final                      bool // the receipt gives the message its final status
		wantErr                    error
	}{
		{name: "delivered found by hex form", smscID: "3039", status: "delivered", mid: ids[0], want: accounts.MsgDelivered, final: true},
		{name: "first part delivered", smscID: "64", status: "delivered", mid: ids[1], want: accounts.MsgSubmitted},
		{name: "duplicate part receipt counts once", smscID: "64", status: "delivered", mid: ids[1], want: accounts.MsgSubmitted},
		{name: "intermediate status changes nothing", smscID: "65", status: "enroute", mid: ids[1], want: accounts.MsgSubmitted},
		{name: "last part delivered", smscID: "65", status: "delivered", mid: ids[1], want: accounts.MsgDelivered, final: true},
		{name: "undeliverable", smscID: "200", status: "undeliverable", code: "011", mid: ids[2], want: accounts.MsgUndeliverable, final: true},
		{name: "failure is final", smscID: "200", status: "delivered", mid: ids[2], want: accounts.MsgUndeliverable},
		{name: "delivered is final", smscID: "12345", status: "expired", mid: ids[0], want: accounts.MsgDelivered},
		{name: "duplicate final receipt announces nothing", smscID: "3039", status: "delivered", mid: ids[0], want: accounts.MsgDelivered},
		{name: "unknown id", smscID: "999", status: "delivered", wantErr: accounts.ErrNotFound},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			msgs, errs, err := s.ApplyReceipts(ctx, []accounts.ReceiptUpdate{{Link: "carrier",
				CanonicalID: smpp.CanonicalID(st.smscID), Forms: smpp.IDVariants(st.smscID)[1:],
				Status: st.status, ErrCode: st.code, At: at}})
			if err != nil {
				t.Fatal(err)
			}
			if !errors.Is(errs[0], st.wantErr) {
				t.Fatalf("ApplyReceipts error = %v, want %v", errs[0], st.wantErr)
			}
			if st.wantErr != nil {
				return
			}
			if (msgs[0] != nil) != st.final {
				t.Fatalf("returned message %+v, want one only on a final transition (%v)", msgs[0], st.final)
			}
			m := queueTestGet(t, s, st.mid)
			// The result names the message and its new status, not all of it.
			if r := msgs[0]; r != nil && (r.ID != st.mid || r.Status != st.want || r.AccountID != a.ID ||
				r.Sender != m.Sender || r.Sender == "" || !r.CreatedAt.Equal(m.CreatedAt) || !r.DoneAt.Equal(at) || r.Error != st.code) {
				t.Fatalf("returned message %+v, want %s %s of %s from %s, error %q, done at %v", r, st.mid, st.want, a.ID, m.Sender, st.code, at)
			}
			if m.Status != st.want {
				t.Fatalf("message %s status %s, want %s", m.ID, m.Status, st.want)
			}
			if m.Status.Final() && !m.DoneAt.Equal(at) {
				t.Errorf("done_at = %v, want %v", m.DoneAt, at)
			}
			if st.code != "" && m.Error != st.code {
				t.Errorf("error = %q, want %q", m.Error, st.code)
			}
		})
	}
	if _, err := s.ApplyReceipt(ctx, "other-link", "12345", "delivered", "", at); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("receipt on another link: %v, want ErrNotFound", err)
	}
	// A receipt that raced ahead of a (repeated) MarkSubmitted keeps its status.
	if err := s.MarkSubmitted(ctx, batch[:1]); err != nil {
		t.Fatal(err)
	}
	if m := queueTestGet(t, s, ids[0]); m.Status != accounts.MsgDelivered {
		t.Errorf("status after late MarkSubmitted = %s, want delivered", m.Status)
	}
}

func TestQueueRetryPromote(t *testing.T) {
	ctx := t.Context()
	s := storetest.AcceptTestStore(t, 1)
	a := storetest.AcceptTestAccount(t, s, 1000)
	ids := queueTestAccept(t, s, a.ID, 1)
	e := storetest.QueueTestRead(t, s, "w1", 1)[0]
	now := time.Now()
	n, err := s.Retry(ctx, e, now.Add(time.Minute), "throttled", nil)
	if err != nil || n != 1 {
		t.Fatalf("Retry = %d, %v; want 1", n, err)
	}
	if p, r, _, err := s.QueueStats(ctx); err != nil || p != 0 || r != 1 {
		t.Fatalf("stats after retry: pending %d retrying %d %v", p, r, err)
	}
	if got := queueTestGet(t, s, ids[0]); got.Error != "throttled" || got.Attempts != 1 {
		t.Fatalf("message after retry = %+v", got)
	}
	if n, err := s.PromoteDue(ctx, now, 10); err != nil || n != 0 {
		t.Fatalf("PromoteDue before due = %d, %v", n, err)
	}
	if n, err := s.PromoteDue(ctx, now.Add(2*time.Minute), 10); err != nil || n != 1 {
		t.Fatalf("PromoteDue when due = %d, %v", n, err)
	}
	e2 := storetest.QueueTestRead(t, s, "w1", 1)[0]
	if e2.MessageID != ids[0] || e2.StreamID == e.StreamID {
		t.Fatalf("requeued entry = %+v, first %+v", e2, e)
	}
	if n, err := s.Retry(ctx, e2, now, "throttled again", nil); err != nil || n != 2 {
		t.Fatalf("second Retry = %d, %v; want 2", n, err)
	}
}

func TestQueueFail(t *testing.T) {
	tests := []struct {
		name     string
		refund   bool
		wantLeft int64
	}{
		{name: "refund", refund: true, wantLeft: 100},
		{name: "no refund", refund: false, wantLeft: 90},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			s := storetest.AcceptTestStore(t, 1)
			a := storetest.AcceptTestAccount(t, s, 100)
			ids := queueTestAccept(t, s, a.ID, 2)
			e := storetest.QueueTestRead(t, s, "w1", 1)[0]
			for range 2 { // the second call changes nothing
				m, err := s.Fail(ctx, e, "invalid destination", tc.refund, false)
				if err != nil {
					t.Fatal(err)
				}
				if m.ID != ids[0] || m.Status != accounts.MsgFailed || m.Error != "invalid destination" || m.DoneAt.IsZero() {
					t.Fatalf("failed message = %+v", m)
				}
			}
			if got := storetest.AcceptTestBalance(t, s, a.ID); got != tc.wantLeft {
				t.Errorf("balance = %d, want %d", got, tc.wantLeft)
			}
			if p, _, _, _ := s.QueueStats(ctx); p != 0 {
				t.Errorf("pending = %d after Fail, want 0", p)
			}
		})
	}
	t.Run("unknown message", func(t *testing.T) {
		s := storetest.AcceptTestStore(t, 1)
		if _, err := s.Fail(t.Context(), accounts.Entry{MessageID: "m0-nosuchmessage"}, "x", true, false); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("Fail = %v, want ErrNotFound", err)
		}
	})
}

func TestQueueClaimStale(t *testing.T) {
	ctx := t.Context()
	s := storetest.AcceptTestStore(t, 1)
	a := storetest.AcceptTestAccount(t, s, 1000)
	ids := queueTestAccept(t, s, a.ID, 1, 1)
	storetest.QueueTestRead(t, s, "dead", 2) // read and never acknowledged
	if es, err := s.ClaimStale(ctx, "alive", time.Hour, 10); err != nil || len(es) != 0 {
		t.Fatalf("ClaimStale of fresh entries = %v, %v; want none", es, err)
	}
	got := claimStale(t, s, "alive", 2)
	if got[0].MessageID != ids[0] || got[1].MessageID != ids[1] {
		t.Fatalf("claimed %+v, want %v", got, ids)
	}
	pend := s.RDB.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: s.Keys.Queue(0), Group: messages.QueueGroup,
		Start: "-", End: "+", Count: 10}).Val()
	for _, p := range pend {
		if p.Consumer != "alive" {
			t.Errorf("entry %s still with %s", p.ID, p.Consumer)
		}
	}
}

func TestQueueStats(t *testing.T) {
	ctx := t.Context()
	s := singleEntryStore(t)
	a := storetest.AcceptTestAccount(t, s, 1000)
	if p, r, o, err := s.QueueStats(ctx); err != nil || p != 0 || r != 0 || o != 0 {
		t.Fatalf("empty stats = %d %d %v %v", p, r, o, err)
	}
	queueTestAccept(t, s, a.ID, 1, 1, 1)
	later := redisstore.New(s.RDB, storetest.Guard(redisstore.Options{Now: func() time.Time { return time.Now().Add(time.Minute) }}))
	es := storetest.QueueTestRead(t, s, "w1", 2)
	p, r, o, err := later.QueueStats(ctx)
	if err != nil || p != 3 || r != 0 || o < time.Minute || o > 2*time.Minute {
		t.Fatalf("stats = pending %d retrying %d oldest %v %v; want 3, 0, ~1m", p, r, o, err)
	}
	if err := s.MarkSubmitted(ctx, []accounts.Submitted{{Entry: es[0], Link: "l"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Retry(ctx, es[1], time.Now(), "busy", nil); err != nil {
		t.Fatal(err)
	}
	if p, r, _, err := s.QueueStats(ctx); err != nil || p != 1 || r != 1 {
		t.Fatalf("stats = pending %d retrying %d %v; want 1, 1", p, r, err)
	}
}

// TestQueueTrim: submitted entries leave the stream by a trim at the oldest
// entry still pending; the ones read after it and submitted already stay in
// the stream until it is decided, but are not counted as pending.
func TestQueueTrim(t *testing.T) {
	ctx := t.Context()
	s := singleEntryStore(t)
	a := storetest.AcceptTestAccount(t, s, 1000)
	queueTestAccept(t, s, a.ID, 1, 1, 1, 1, 1)
	es := storetest.QueueTestRead(t, s, "w1", 4) // the fifth stays unread
	q := s.Keys.Queue(0)
	// The second and the fourth submitted: the first still pending holds
	// them in the stream.
	if err := s.MarkSubmitted(ctx, []accounts.Submitted{{Entry: es[1], Link: "l"}, {Entry: es[3], Link: "l"}}); err != nil {
		t.Fatal(err)
	}
	if n := s.RDB.XLen(ctx, q).Val(); n != 5 {
		t.Fatalf("stream length %d, want 5 (nothing before the oldest pending entry)", n)
	}
	if p, _, _, err := s.QueueStats(ctx); err != nil || p != 3 {
		t.Fatalf("pending = %d, %v; want 3 (two read, one unread)", p, err)
	}
	// The first submitted: the trim reaches the third, still pending.
	if err := s.MarkSubmitted(ctx, []accounts.Submitted{{Entry: es[0], Link: "l"}}); err != nil {
		t.Fatal(err)
	}
	left := s.RDB.XRange(ctx, q, "-", "+").Val()
	if len(left) != 3 || left[0].ID != es[2].StreamID {
		t.Fatalf("stream %v, want the third entry first and three entries", left)
	}
	// The third submitted: no entry read is pending, the unread fifth stays.
	if err := s.MarkSubmitted(ctx, []accounts.Submitted{{Entry: es[2], Link: "l"}}); err != nil {
		t.Fatal(err)
	}
	left = s.RDB.XRange(ctx, q, "-", "+").Val()
	if len(left) != 1 || left[0].ID <= es[3].StreamID {
		t.Fatalf("stream %v, want only the unread fifth entry", left)
	}
	if p, _, _, err := s.QueueStats(ctx); err != nil || p != 1 {
		t.Fatalf("pending = %d, %v; want 1 (the unread)", p, err)
	}
	last := storetest.QueueTestRead(t, s, "w1", 1)
	if err := s.MarkSubmitted(ctx, []accounts.Submitted{{Entry: last[0], Link: "l"}}); err != nil {
		t.Fatal(err)
	}
	if n := s.RDB.XLen(ctx, q).Val(); n != 0 {
		t.Fatalf("stream length %d after every entry was submitted, want 0", n)
	}
	if p, _, _, err := s.QueueStats(ctx); err != nil || p != 0 {
		t.Fatalf("pending = %d, %v; want 0", p, err)
	}
}

func TestQueueShards(t *testing.T) {
	ctx := t.Context()
	s := storetest.AcceptTestStore(t, 3)
	// No EnsureGroups: Read creates the groups, from the start of the streams.
	var want []string
	shards := map[int]bool{}
	for i := 0; i < 30 && len(shards) < 3; i++ {
		a := storetest.AcceptTestAccount(t, s, 100)
		want = append(want, queueTestAccept(t, s, a.ID, 1)...)
		sh, _ := s.ShardFromID(a.ID)
		shards[sh] = true
	}
	if len(shards) < 2 {
		t.Fatalf("accounts landed on %d shard(s) only", len(shards))
	}
	es := storetest.QueueTestRead(t, s, "w1", len(want))
	var got []string
	for _, e := range es {
		if sh, _ := s.ShardFromID(e.MessageID); sh != e.Shard {
			t.Errorf("entry %+v on shard %d", e, sh)
		}
		got = append(got, e.MessageID)
	}
	sort.Strings(got)
	sort.Strings(want)
	if len(got) != len(want) {
		t.Fatalf("read %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("read %v, want %v", got, want)
		}
	}
	start := time.Now()
	if es, err := s.Read(ctx, "w1", 10, 30*time.Millisecond); err != nil || len(es) != 0 {
		t.Fatalf("idle read = %v, %v", es, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("idle read took %v", d)
	}
	var n int
	for _, e := range es {
		if err := s.MarkSubmitted(ctx, []accounts.Submitted{{Entry: e, Link: "l"}}); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if p, _, _, err := s.QueueStats(ctx); err != nil || p != 0 || n != len(want) {
		t.Fatalf("pending %d after submitting %d of %d: %v", p, n, len(want), err)
	}
}

func TestQueueScriptCacheFlushed(t *testing.T) {
	ctx := t.Context()
	s := storetest.AcceptTestStore(t, 1)
	a := storetest.AcceptTestAccount(t, s, 1000)
	ids := queueTestAccept(t, s, a.ID, 1)
	e := storetest.QueueTestRead(t, s, "w1", 1)[0]
	if err := s.RDB.ScriptFlush(ctx).Err(); err != nil { // as after a Redis restart
		t.Fatal(err)
	}
	if err := s.MarkSubmitted(ctx, []accounts.Submitted{{Entry: e, Link: "carrier", SMSCIDs: []string{"7"}}}); err != nil {
		t.Fatal(err)
	}
	if m := queueTestGet(t, s, ids[0]); m.Status != accounts.MsgSubmitted || m.Attempts != 1 {
		t.Fatalf("after flush: status %s attempts %d, want submitted 1", m.Status, m.Attempts)
	}
}

// TestQueueSubmitMalformedEntry: an entry whose message id names no
// message (written by hand, or by a bug) is only acknowledged; it neither
// fails the batch nor stops the others being recorded.
func TestQueueSubmitMalformedEntry(t *testing.T) {
	ctx := t.Context()
	s := storetest.AcceptTestStore(t, 1)
	a := storetest.AcceptTestAccount(t, s, 1000)
	if err := s.EnsureGroups(ctx); err != nil {
		t.Fatal(err)
	}
	ids := queueTestAccept(t, s, a.ID, 1)
	if err := s.RDB.XAdd(ctx, &redis.XAddArgs{Stream: s.Keys.Queue(0), Values: []any{"m", "not-an-id"}}).Err(); err != nil {
		t.Fatal(err)
	}
	es := storetest.QueueTestRead(t, s, "w1", 2)
	var batch []accounts.Submitted
	for i, e := range es {
		batch = append(batch, accounts.Submitted{Entry: e, Link: "carrier", Source: "ACME", SMSCIDs: []string{"a" + strconv.Itoa(i)}})
	}
	if err := s.MarkSubmitted(ctx, batch); err != nil {
		t.Fatalf("a batch with a malformed entry: %v", err)
	}
	if m := queueTestGet(t, s, ids[0]); m.Status != accounts.MsgSubmitted {
		t.Fatalf("the good entry's message is %s, want submitted", m.Status)
	}
	if p, _, _, err := s.QueueStats(ctx); err != nil || p != 0 {
		t.Fatalf("pending after submit = %d, %v; want 0 (both acknowledged)", p, err)
	}
}

// TestQueueReadShardsConcurrently: with several shards, a blocked Read
// returns as soon as any shard gets an entry (every shard is read at once,
// not in turn), and the entries that a read left in flight fetches after Read
// returned are handed out by later Reads: none lost, none twice.
func TestQueueReadShardsConcurrently(t *testing.T) {
	ctx := t.Context()
	s := storetest.AcceptTestStore(t, 4)
	if err := s.EnsureGroups(ctx); err != nil {
		t.Fatal(err)
	}
	byShard := map[int]string{} // shard -> an account on it
	for i := 0; i < 60 && len(byShard) < 4; i++ {
		a := storetest.AcceptTestAccount(t, s, 100)
		sh, _ := s.ShardFromID(a.ID)
		byShard[sh] = a.ID
	}
	if len(byShard) < 4 {
		t.Fatalf("accounts landed on %d shards only", len(byShard))
	}

	// Nothing queued: Read blocks. An entry on the last shard ends it long
	// before its block (read in turn, shards 0-2 would hold it 7.5 of 10 s).
	type result struct {
		es  []accounts.Entry
		err error
		d   time.Duration
	}
	done := make(chan result, 1)
	began := time.Now()
	go func() {
		es, err := s.Read(ctx, "w1", 10, 10*time.Second)
		done <- result{es, err, time.Since(began)}
	}()
	// Accept while Read is blocked (its reads are in flight once its
	// goroutine runs; an entry accepted before them is read at once too).
	want := queueTestAccept(t, s, byShard[3], 1)
	r := <-done
	if r.err != nil || len(r.es) != 1 || r.es[0].MessageID != want[0] || r.es[0].Shard != 3 {
		t.Fatalf("Read = %+v, %v; want %s on shard 3", r.es, r.err, want[0])
	}
	if r.d > 5*time.Second {
		t.Errorf("Read returned after %v: the shards were not read concurrently", r.d)
	}

	// Shards 0-2 still have reads in flight; what they fetch now comes out
	// of later Reads, one at a time here.
	for sh := range 3 {
		want = append(want, queueTestAccept(t, s, byShard[sh], 1)...)
	}
	seen := map[string]bool{want[0]: true}
	deadline := time.Now().Add(30 * time.Second)
	for len(seen) < len(want) && time.Now().Before(deadline) {
		es, err := s.Read(ctx, "w1", 1, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) > 1 {
			t.Fatalf("Read(count 1) gave %d entries", len(es))
		}
		for _, e := range es {
			if seen[e.MessageID] {
				t.Fatalf("entry %s handed out twice", e.MessageID)
			}
			seen[e.MessageID] = true
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("read %d of %d entries", len(seen), len(want))
	}
	if p, _, _, err := s.QueueStats(ctx); err != nil || p != int64(len(want)) {
		t.Fatalf("pending %d, want %d: %v", p, len(want), err)
	}
}

// TestQueueGroupedEntry: the messages of one accept call are one stream
// entry, delivered as one Entry a member; members are recorded, retried,
// parked and failed without acknowledging it; a claimer sees which are
// settled (status, held); the entry goes when acknowledged.
func TestQueueGroupedEntry(t *testing.T) {
	ctx := t.Context()
	s := storetest.AcceptTestStore(t, 1)
	a := storetest.AcceptTestAccount(t, s, 1000)
	ids := queueTestAccept(t, s, a.ID, 1, 1, 1, 1, 1)
	q := s.Keys.Queue(0)
	xs := s.RDB.XRange(ctx, q, "-", "+").Val()
	if len(xs) != 1 || xs[0].Values["g"] != ids[0]+","+ids[1]+","+ids[2]+","+ids[3]+","+ids[4] {
		t.Fatalf("queue %v, want one entry g of %v", xs, ids)
	}
	es := storetest.QueueTestRead(t, s, "dead", 5)
	for i, e := range es {
		if e.MessageID != ids[i] || e.StreamID != xs[0].ID || e.Members != 5 || !e.Grouped() {
			t.Fatalf("entry %d = %+v, want member %s of %s", i, e, ids[i], xs[0].ID)
		}
	}
	// Two submitted, one retried, one parked, one failed: the entry stays
	// pending until its consumer acknowledges it.
	sub := []accounts.Submitted{
		{Entry: es[0], Link: "l", Source: "ACME", SMSCIDs: []string{"a0"}},
		{Entry: es[1], Link: "l", Source: "ACME", SMSCIDs: []string{"a1"}},
	}
	for range 2 { // a batch run again records nothing twice
		if err := s.MarkSubmitted(ctx, sub); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Retry(ctx, es[2], time.Now().Add(time.Hour), "throttled", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Park(ctx, es[3], "no link", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Fail(ctx, es[4], "refused", true, true); err != nil {
		t.Fatal(err)
	}
	if p, _, _, err := s.QueueStats(ctx); err != nil || p != 1 {
		t.Fatalf("pending %d, %v; want the grouped entry", p, err)
	}
	for i, want := range []struct {
		st       accounts.MessageStatus
		held     bool
		attempts int
	}{{accounts.MsgSubmitted, false, 1}, {accounts.MsgSubmitted, false, 1}, {accounts.MsgQueued, true, 1},
		{accounts.MsgQueued, true, 0}, {accounts.MsgFailed, false, 1}} {
		m := queueTestGet(t, s, ids[i])
		if m.Status != want.st || m.Held != want.held || m.Attempts != want.attempts {
			t.Errorf("message %d: status %s held %v attempts %d; want %s %v %d", i, m.Status, m.Held, m.Attempts,
				want.st, want.held, want.attempts)
		}
	}
	// The consumer dies: a claimer gets every member and, loading them,
	// finds which are settled.
	got := claimStale(t, s, "alive", 5)
	if len(got) != 5 || got[4].MessageID != ids[4] || got[4].Members != 5 {
		t.Fatalf("claimed %+v", got)
	}
	// The claimer submits none again: acknowledging the entry ends it, and
	// the retried and parked messages come back as entries of their own.
	if err := s.Ack(ctx, got[0]); err != nil {
		t.Fatal(err)
	}
	if p, _, _, err := s.QueueStats(ctx); err != nil || p != 0 {
		t.Fatalf("pending %d, %v after the acknowledgement; want 0", p, err)
	}
	if n, err := s.ReleaseParked(ctx, time.Now(), 0); err != nil || n != 1 {
		t.Fatalf("released %d, %v; want 1", n, err)
	}
	back := storetest.QueueTestRead(t, s, "alive", 1)
	if back[0].MessageID != ids[3] || back[0].Grouped() {
		t.Fatalf("released %+v, want %s as an entry of its own", back[0], ids[3])
	}
	if err := s.MarkSubmitted(ctx, []accounts.Submitted{{Entry: back[0], Link: "l", Source: "ACME", SMSCIDs: []string{"a3"}}}); err != nil {
		t.Fatal(err)
	}
	if m := queueTestGet(t, s, ids[3]); m.Status != accounts.MsgSubmitted || m.Attempts != 1 || m.SMSCID != "a3" {
		t.Fatalf("released message %+v, want submitted once", m)
	}
}

// TestQueueGroupedAckWithRecord: a submit batch that settles the last
// members of a grouped entry acknowledges it in the same script, and the
// stream is trimmed.
func TestQueueGroupedAckWithRecord(t *testing.T) {
	ctx := t.Context()
	s := storetest.AcceptTestStore(t, 1)
	a := storetest.AcceptTestAccount(t, s, 1000)
	queueTestAccept(t, s, a.ID, 1, 1, 1)
	es := storetest.QueueTestRead(t, s, "w1", 3)
	batch := []accounts.Submitted{{Entry: es[0], Link: "l"}, {Entry: es[1], Link: "l"}}
	if err := s.MarkSubmitted(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if p, _, _, err := s.QueueStats(ctx); err != nil || p != 1 {
		t.Fatalf("pending %d, %v; want 1 (two members of three)", p, err)
	}
	if err := s.MarkSubmitted(ctx, []accounts.Submitted{{Entry: es[2], Link: "l", AckEntry: true}}); err != nil {
		t.Fatal(err)
	}
	if p, _, _, err := s.QueueStats(ctx); err != nil || p != 0 {
		t.Fatalf("pending %d, %v; want 0", p, err)
	}
	if n := s.RDB.XLen(ctx, s.Keys.Queue(0)).Val(); n != 0 {
		t.Fatalf("stream length %d, want 0 (trimmed)", n)
	}
	for _, e := range es {
		if m := queueTestGet(t, s, e.MessageID); m.Status != accounts.MsgSubmitted || m.Attempts != 1 {
			t.Fatalf("message %+v, want submitted once", m)
		}
	}
}

// TestQueueShardsGroupWhole: with several shards a read asking for fewer
// messages than a grouped entry holds returns the whole entry (its
// members are settled together), not part of it now and the rest later.
func TestQueueShardsGroupWhole(t *testing.T) {
	s := storetest.AcceptTestStore(t, 3)
	a := storetest.AcceptTestAccount(t, s, 1000)
	ids := queueTestAccept(t, s, a.ID, 1, 1, 1, 1, 1)
	deadline := time.Now().Add(5 * time.Second)
	var es []accounts.Entry
	for len(es) == 0 && time.Now().Before(deadline) {
		var err error
		if es, err = s.Read(t.Context(), "w1", 2, 50*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if len(es) != len(ids) {
		t.Fatalf("read %d members of the grouped entry, want all %d", len(es), len(ids))
	}
	for i, e := range es {
		if e.MessageID != ids[i] || e.StreamID != es[0].StreamID {
			t.Fatalf("entry %d = %+v, want %s of %s", i, e, ids[i], es[0].StreamID)
		}
	}
}
