package messages_test

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

// scriptCalls returns how many script calls (EVALSHA and EVAL) the
// store's server has run.
func scriptCalls(t *testing.T, s *redisstore.Store) int64 {
	t.Helper()
	var n int64
	for _, l := range strings.Split(s.RDB.Info(t.Context(), "commandstats").Val(), "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "cmdstat_evalsha:") && !strings.HasPrefix(l, "cmdstat_eval:") {
			continue
		}
		_, rest, _ := strings.Cut(l, "calls=")
		v, _, _ := strings.Cut(rest, ",")
		c, _ := strconv.ParseInt(v, 10, 64)
		n += c
	}
	return n
}

// acceptTogether has workers goroutines, released at once, each accept
// each single-part mails (to numbers of their own) for acct, one at a time,
// and gives each result to got; it returns when all are done.
func acceptTogether(t *testing.T, s *redisstore.Store, acct string, workers, each int, got func(*accounts.AcceptResult, error)) {
	t.Helper()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			<-start
			for i := range each {
				m := storetest.AcceptTestMsg("6140000"+strconv.Itoa(1000+w*each+i), 1, 5)
				got(s.Accept(t.Context(), accounts.AcceptRequest{AccountID: acct, Messages: []*accounts.Message{m}}))
			}
		})
	}
	close(start)
	wg.Wait()
}

// TestAcceptGroupCommit: concurrent accepts of one shard share script
// calls, and sharing changes nothing of what each one gets: a balance that
// covers 300 of 400 single-part mails accepts exactly 300 and refuses the
// rest with a balance error, whichever call each went in; the ledger, the
// message log, the queue and the day's statistics (counted once per call)
// all say 300.
func TestAcceptGroupCommit(t *testing.T) {
	s := storetest.AcceptTestStore(t, 1)
	ctx := t.Context()
	a := storetest.AcceptTestAccount(t, s, 300*5)
	before := scriptCalls(t, s)
	const workers, each = 40, 10
	var ok, refused atomic.Int64
	acceptTogether(t, s, a.ID, workers, each, func(_ *accounts.AcceptResult, err error) {
		var be *accounts.BalanceError
		switch {
		case err == nil:
			ok.Add(1)
		case errors.As(err, &be) && errors.Is(err, accounts.ErrInsufficientBalance):
			refused.Add(1)
		default:
			t.Errorf("accept: %v", err)
		}
	})
	calls := scriptCalls(t, s) - before
	if ok.Load() != 300 || refused.Load() != 100 {
		t.Fatalf("%d accepted, %d refused; want 300 and 100", ok.Load(), refused.Load())
	}
	if calls >= workers*each {
		t.Errorf("%d script calls for %d accepts: none shared a call", calls, workers*each)
	}
	t.Logf("%d accepts in %d script calls", workers*each, calls)
	if bal := storetest.CheckLedger(t, s, a.ID, true); bal != 0 {
		t.Errorf("balance %d, want 0", bal)
	}
	if n := storetest.LoggedMessages(t, s, 0, a.ID); n != 300 {
		t.Errorf("message log holds %d, want 300", n)
	}
	if n := storetest.AcceptTestLen(t, s, s.Keys.Queue(0), true); n != 300 {
		t.Errorf("queue holds %d, want 300", n)
	}
	day := s.Now().UTC().Truncate(24 * time.Hour)
	st, err := s.Stats(ctx, a.ID, day, day, "")
	if err != nil {
		t.Fatal(err)
	}
	if st.Total.Messages != 300 || st.Total.Parts != 300 || st.Total.Cost != 1500 {
		t.Errorf("statistics %+v, want 300 messages, 300 parts, cost 1500", st.Total)
	}
}

// TestAcceptGroupLogEntries: the mails a call accepts in one millisecond
// share one entry of the message log (accept.lua writes the log at the
// call's end): with the clock stopped, concurrent single mails leave as
// many entries as script calls, fewer than mails, and every mail in one.
func TestAcceptGroupLogEntries(t *testing.T) {
	s := storetest.AcceptTestStore(t, 1)
	var clock storetest.StatsTestClock
	clock.Set(time.UnixMilli(1_800_000_000_000))
	s.Now = clock.Now
	ctx := t.Context()
	a := storetest.AcceptTestAccount(t, s, 1000*5)
	const workers, each = 40, 5
	ids := make(chan string, workers*each+1)
	// One mail alone first: it loads the script (a call refused NOSCRIPT
	// is counted too) and has an entry of its own.
	first, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID, Messages: []*accounts.Message{storetest.AcceptTestMsg("61400000999", 1, 5)}})
	if err != nil {
		t.Fatal(err)
	}
	ids <- first.IDs[0]
	before := scriptCalls(t, s)
	acceptTogether(t, s, a.ID, workers, each, func(res *accounts.AcceptResult, err error) {
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		ids <- res.IDs[0]
	})
	close(ids)
	calls := scriptCalls(t, s) - before
	xs, err := s.RDB.XRange(ctx, s.Keys.MessageStream(0, a.ID), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(xs)) != 1+calls || calls >= workers*each {
		t.Errorf("%d log entries for 1 + %d mails in 1 + %d script calls; want one a call", len(xs), workers*each, calls)
	}
	logged := map[string]int{}
	for _, x := range xs {
		if !strings.HasPrefix(x.ID, "1800000000000-") {
			t.Errorf("entry %s, want the mails' creation time", x.ID)
		}
		for _, id := range strings.Split(x.Values["i"].(string), ",") {
			logged[id]++
		}
	}
	for id := range ids {
		if logged[id] != 1 {
			t.Errorf("message %s logged %d times", id, logged[id])
		}
		delete(logged, id)
	}
	if len(logged) != 0 {
		t.Errorf("logged ids of no accepted mail: %v", logged)
	}
}

// TestAcceptGroupLogOrder: a call whose later request was created before
// an earlier one (sessions read the clock, then queue) logs each at its
// own creation time, oldest first; written in request order, the earlier
// time would find a later entry and take its time instead.
func TestAcceptGroupLogOrder(t *testing.T) {
	s := storetest.AcceptTestStore(t, 1)
	var clock storetest.StatsTestClock
	s.Now = clock.Now
	ctx := t.Context()
	a := storetest.AcceptTestAccount(t, s, 1000)
	queued, run := s.HoldGroupCommit(0)
	t0 := time.UnixMilli(1_800_000_000_000)
	ids := make([]chan string, 2)
	for i, at := range []time.Time{t0.Add(5 * time.Millisecond), t0} {
		clock.Set(at)
		ids[i] = make(chan string, 1)
		go func() {
			res, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID,
				Messages: []*accounts.Message{storetest.AcceptTestMsg("6141000000"+strconv.Itoa(i), 1, 5)}})
			if err != nil {
				t.Errorf("accept %d: %v", i, err)
				ids[i] <- ""
				return
			}
			ids[i] <- res.IDs[0]
		}()
		waitQueued(t, queued, i+1) // it has read the clock
	}
	run(ctx)
	later, earlier := <-ids[0], <-ids[1]
	xs, err := s.RDB.XRange(ctx, s.Keys.MessageStream(0, a.ID), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ at, id string }{{"1800000000000-0", earlier}, {"1800000000005-0", later}}
	if len(xs) != len(want) {
		t.Fatalf("log entries %v, want 2", xs)
	}
	for i, w := range want {
		if xs[i].ID != w.at || xs[i].Values["i"] != w.id {
			t.Errorf("entry %d = %s %v, want %s i=%s", i, xs[i].ID, xs[i].Values, w.at, w.id)
		}
	}
}

// TestAcceptGroupMixed: a call shares the keys of each account once
// (accept.lua's contexts), so concurrent accepts of several accounts, a
// sub-account among them, with and without idempotency keys and with one or
// two messages each, must each be charged to, recorded for and deduplicated
// within their own account: every balance falls by exactly its own sends,
// every message belongs to the account that sent it, and a retry is a
// replay only under its own account.
func TestAcceptGroupMixed(t *testing.T) {
	s := storetest.AcceptTestStore(t, 1)
	ctx := t.Context()
	a := storetest.AcceptTestAccount(t, s, 100000)
	b := storetest.AcceptTestAccount(t, s, 100000)
	root, sub := storetest.AcceptTestTree(t, s, 100000, 100000, accounts.Account{})
	type sender struct {
		acct  *accounts.Account
		price int64
		sent  atomic.Int64 // messages accepted (not replays)
	}
	senders := []*sender{{acct: a, price: 3}, {acct: b, price: 5}, {acct: sub, price: 7}}
	before := scriptCalls(t, s)
	const workers, each = 12, 20
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	owner := map[string]string{} // message id -> account that sent it
	for w := range workers {
		sd := senders[w%len(senders)]
		wg.Go(func() {
			<-start
			for i := range each {
				n := 1 + i%2
				req := accounts.AcceptRequest{AccountID: sd.acct.ID}
				if sd.acct.ID == sub.ID {
					req.ParentID = root.ID
				}
				if i%3 != 0 {
					// The same keys in every account: only the account's own
					// earlier request is a replay.
					req.IdempotencyKey = "k" + strconv.Itoa(w/len(senders)) + "-" + strconv.Itoa(i)
				}
				for j := range n {
					req.Messages = append(req.Messages, storetest.AcceptTestMsg("614"+strconv.Itoa(10000000+w*1000+i*10+j), 1, sd.price))
				}
				res, err := s.Accept(ctx, req)
				if err != nil {
					t.Errorf("accept: %v", err)
					return
				}
				if res.Duplicate || len(res.IDs) != n {
					t.Errorf("%s request %d: %+v, want %d new ids", sd.acct.ID, i, res, n)
					return
				}
				sd.sent.Add(int64(n))
				mu.Lock()
				for _, id := range res.IDs {
					owner[id] = sd.acct.ID
				}
				mu.Unlock()
				if req.IdempotencyKey != "" {
					again, err := s.Accept(ctx, req)
					if err != nil || !again.Duplicate || strings.Join(again.IDs, ",") != strings.Join(res.IDs, ",") {
						t.Errorf("%s retry of request %d: %+v %v, want a replay of %v", sd.acct.ID, i, again, err, res.IDs)
					}
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	if calls, reqs := scriptCalls(t, s)-before, int64(workers*each); calls >= reqs {
		t.Errorf("%d script calls for at least %d accepts: none shared a call", calls, reqs)
	}
	for _, sd := range senders {
		if bal := storetest.CheckLedger(t, s, sd.acct.ID, true); bal != 100000-sd.sent.Load()*sd.price {
			t.Errorf("%s: balance %d after %d messages at %d, want %d", sd.acct.ID, bal, sd.sent.Load(), sd.price,
				100000-sd.sent.Load()*sd.price)
		}
		if n := storetest.LoggedMessages(t, s, 0, sd.acct.ID); n != sd.sent.Load() {
			t.Errorf("%s: message log holds %d, want %d", sd.acct.ID, n, sd.sent.Load())
		}
	}
	if bal := storetest.CheckLedger(t, s, root.ID, true); bal != 100000 {
		t.Errorf("parent balance %d, want 100000 (untouched)", bal)
	}
	for id, acct := range owner {
		m, err := s.GetMessage(ctx, id)
		if err != nil || m.AccountID != acct {
			t.Fatalf("message %s: %+v %v, want it of %s", id, m, err, acct)
		}
	}
	if n := storetest.AcceptTestLen(t, s, s.Keys.Queue(0), true); n != int64(len(owner)) {
		t.Errorf("queue holds %d, want %d", n, len(owner))
	}
}

// TestAcceptGroupFailsMidway: a call whose second request fails midway (its
// account's ledger key is of the wrong type: XADD refuses it) ends in an
// error for the whole call, as a failing script does; the first request,
// written whole before it, still has its message queued (the call defers
// queue entries to its end), and the failing one's message is not queued.
func TestAcceptGroupFailsMidway(t *testing.T) {
	s := storetest.AcceptTestStore(t, 1)
	ctx := t.Context()
	a := storetest.AcceptTestAccount(t, s, 1000)
	b := storetest.AcceptTestAccount(t, s, 1000)
	if err := s.RDB.Set(ctx, s.Keys.Ledger(0, b.ID), "not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}
	queued, run := s.HoldGroupCommit(0)
	errs := make(chan error, 2)
	for i, acct := range []string{a.ID, b.ID} {
		go func() {
			_, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: acct,
				Messages: []*accounts.Message{storetest.AcceptTestMsg("6141000000"+strconv.Itoa(i), 1, 5)}})
			errs <- err
		}()
		waitQueued(t, queued, i+1)
	}
	run(ctx)
	for range 2 {
		if err := <-errs; err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
			t.Errorf("accept: %v, want the call's WRONGTYPE error", err)
		}
	}
	xs := s.RDB.XRange(ctx, s.Keys.Queue(0), "-", "+").Val()
	if len(xs) != 1 {
		t.Fatalf("queue %v, want the first request's message alone", xs)
	}
	id, _ := xs[0].Values["m"].(string)
	m, err := s.GetMessage(ctx, id)
	if err != nil || m.AccountID != a.ID || m.Status != accounts.MsgQueued {
		t.Fatalf("queued message %q: %+v %v, want one of %s, queued", id, m, err, a.ID)
	}
}

// waitQueued waits, at most 5 s, until n accepts wait in a held group
// commit (HoldGroupCommit's queued).
func waitQueued(t *testing.T, queued func() int, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for queued() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d accepts queued, want %d", queued(), n)
		}
		time.Sleep(time.Millisecond) // the accepts' goroutines signal nothing to wait on
	}
}
