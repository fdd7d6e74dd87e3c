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
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			<-start
			for i := range each {
				m := storetest.AcceptTestMsg("6140000"+strconv.Itoa(1000+w*each+i), 1, 5)
				_, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID, Messages: []*accounts.Message{m}})
				var be *accounts.BalanceError
				switch {
				case err == nil:
					ok.Add(1)
				case errors.As(err, &be) && errors.Is(err, accounts.ErrInsufficientBalance):
					refused.Add(1)
				default:
					t.Errorf("accept: %v", err)
				}
			}
		})
	}
	close(start)
	wg.Wait()
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
	if n := storetest.AcceptTestLen(t, s, s.Keys.MessageStream(0, a.ID), true); n != 300 {
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
