package messages_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
	"github.com/smsgate/smsgate/internal/redistest"
)

// limitsStore returns a store at a settable clock with one account holding
// balance and the given limits.
func limitsStore(t *testing.T, balance int64, l accounts.Limits) (*redisstore.Store, *storetest.StatsTestClock, *accounts.Account) {
	t.Helper()
	clk := &storetest.StatsTestClock{}
	// 10:00:00 UTC: a minute and a day boundary are both ahead.
	clk.Set(time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC))
	s := storetest.New(t, redisstore.Options{Shards: 2, Now: clk.Now})
	a := storetest.AcceptTestAccount(t, s, balance)
	if _, err := s.SetLimits(context.Background(), a.ID, l); err != nil {
		t.Fatalf("set limits: %v", err)
	}
	return s, clk, a
}

func acceptOne(s *redisstore.Store, acct, sender string, parts int) error {
	m := storetest.AcceptTestMsg("61400000001", parts, int64(parts)*5)
	m.Sender = sender
	_, err := s.Accept(context.Background(), accounts.AcceptRequest{AccountID: acct, Messages: []*accounts.Message{m}})
	return err
}

func wantLimit(t *testing.T, err error, limit string, max int64) *accounts.LimitError {
	t.Helper()
	var le *accounts.LimitError
	if !errors.As(err, &le) || !errors.Is(err, accounts.ErrLimitExceeded) || le.Limit != limit || le.Max != max {
		t.Fatalf("err = %v, want a %s limit of %d", err, limit, max)
	}
	return le
}

// TestLimitsPerMinute: the per-sender rate is exact at the boundary, per
// sender, refuses without charging, and rolls over with the clock minute.
func TestLimitsPerMinute(t *testing.T) {
	s, clk, a := limitsStore(t, 10000, accounts.Limits{PerMinute: 3})
	for i := range 3 {
		if err := acceptOne(s, a.ID, "jo@acme.example", 1); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	clk.Set(time.Date(2026, 3, 4, 10, 0, 40, 0, time.UTC))
	bal := storetest.AcceptTestBalance(t, s, a.ID)
	le := wantLimit(t, acceptOne(s, a.ID, "jo@acme.example", 1), accounts.LimitPerMinute, 3)
	if le.Used != 3 || le.Sender != "jo@acme.example" || le.RetryAfter != 20*time.Second {
		t.Fatalf("limit error %+v", le)
	}
	if got := storetest.AcceptTestBalance(t, s, a.ID); got != bal {
		t.Fatalf("a refused mail was charged: balance %d, was %d", got, bal)
	}
	// Another sender of the same account has its own count.
	if err := acceptOne(s, a.ID, "ann@acme.example", 1); err != nil {
		t.Fatalf("other sender: %v", err)
	}
	// A mail of three recipients that would cross the limit is refused whole.
	three := []*accounts.Message{storetest.AcceptTestMsg("61400000002", 1, 5), storetest.AcceptTestMsg("61400000003", 1, 5),
		storetest.AcceptTestMsg("61400000004", 1, 5)}
	for _, m := range three {
		m.Sender = "ann@acme.example"
	}
	_, err := s.Accept(context.Background(), accounts.AcceptRequest{AccountID: a.ID, Messages: three})
	wantLimit(t, err, accounts.LimitPerMinute, 3)
	// The refusal did not count: two more from ann still fit.
	for i := range 2 {
		if err := acceptOne(s, a.ID, "ann@acme.example", 1); err != nil {
			t.Fatalf("ann's send %d: %v", i+2, err)
		}
	}
	wantLimit(t, acceptOne(s, a.ID, "ann@acme.example", 1), accounts.LimitPerMinute, 3)
	// The next minute starts afresh.
	clk.Set(time.Date(2026, 3, 4, 10, 1, 0, 0, time.UTC))
	if err := acceptOne(s, a.ID, "jo@acme.example", 1); err != nil {
		t.Fatalf("next minute: %v", err)
	}
}

// TestLimitsDaily: parts and spend per UTC day, at the boundary, the day
// rolling over, and a limit lowered mid-day seeing the day's sends.
func TestLimitsDaily(t *testing.T) {
	s, clk, a := limitsStore(t, 100000, accounts.Limits{PartsPerDay: 5})
	ctx := context.Background()
	if err := acceptOne(s, a.ID, "jo@acme.example", 3); err != nil {
		t.Fatal(err)
	}
	le := wantLimit(t, acceptOne(s, a.ID, "jo@acme.example", 3), accounts.LimitPartsPerDay, 5)
	if le.Used != 3 || le.Want != 3 || le.RetryAfter != 14*time.Hour {
		t.Fatalf("limit error %+v", le)
	}
	if err := acceptOne(s, a.ID, "jo@acme.example", 2); err != nil {
		t.Fatalf("exactly at the limit: %v", err)
	}
	wantLimit(t, acceptOne(s, a.ID, "jo@acme.example", 1), accounts.LimitPartsPerDay, 5)
	clk.Set(time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC))
	if err := acceptOne(s, a.ID, "jo@acme.example", 5); err != nil {
		t.Fatalf("next day: %v", err)
	}
	// Spend (price 5 per part): 25 spent today; a cap of 30 leaves 5.
	if _, err := s.SetLimits(ctx, a.ID, accounts.Limits{SpendPerDay: 30}); err != nil {
		t.Fatal(err)
	}
	le = wantLimit(t, acceptOne(s, a.ID, "jo@acme.example", 2), accounts.LimitSpendPerDay, 30)
	if le.Used != 25 || le.Want != 10 || le.Currency != "AUD" {
		t.Fatalf("limit error %+v", le)
	}
	if err := acceptOne(s, a.ID, "jo@acme.example", 1); err != nil {
		t.Fatalf("spend exactly at the cap: %v", err)
	}
	// 0 removes every limit.
	if _, err := s.SetLimits(ctx, a.ID, accounts.Limits{}); err != nil {
		t.Fatal(err)
	}
	if err := acceptOne(s, a.ID, "jo@acme.example", 4); err != nil {
		t.Fatalf("unlimited: %v", err)
	}
	if l, err := s.Limits(ctx, a.ID); err != nil || *l != (accounts.Limits{}) {
		t.Fatalf("limits %+v, %v", l, err)
	}
	if _, err := s.SetLimits(ctx, a.ID, accounts.Limits{PerMinute: -1}); !errors.Is(err, accounts.ErrInvalid) {
		t.Fatalf("negative limit: %v", err)
	}
	if _, err := s.Limits(ctx, "a0-nosuch"); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("unknown account: %v", err)
	}
}

// TestLimitsSharedConcurrent: goroutines on two stores (two Redis clients,
// as two instances) sharing one Redis never exceed the limits and never
// charge a refused mail.
func TestLimitsSharedConcurrent(t *testing.T) {
	srv := redistest.StartServer(t, redistest.Options{})
	clk := &storetest.StatsTestClock{}
	clk.Set(time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC))
	opts := storetest.Guard(redisstore.Options{Shards: 1, Now: clk.Now})
	s1, s2 := redisstore.New(srv.Client(t), opts), redisstore.New(srv.Client(t), opts)
	a := storetest.AcceptTestAccount(t, s1, 100000)
	const perMinute, partsPerDay = 17, 40
	if _, err := s2.SetLimits(context.Background(), a.ID, accounts.Limits{PerMinute: perMinute, PartsPerDay: partsPerDay}); err != nil {
		t.Fatal(err)
	}
	run := func() (ok, refused int64) {
		var wg sync.WaitGroup
		var nOK, nRef atomic.Int64
		for g := range 8 {
			st := s1
			if g%2 == 1 {
				st = s2
			}
			wg.Go(func() {
				for range 5 {
					err := acceptOne(st, a.ID, "jo@acme.example", 1)
					switch {
					case err == nil:
						nOK.Add(1)
					case errors.Is(err, accounts.ErrLimitExceeded):
						nRef.Add(1)
					default:
						t.Errorf("accept: %v", err)
					}
				}
			})
		}
		wg.Wait()
		return nOK.Load(), nRef.Load()
	}
	ok, refused := run()
	if ok != perMinute || refused != 40-perMinute {
		t.Fatalf("first minute: %d accepted, %d refused; want %d and %d", ok, refused, perMinute, 40-perMinute)
	}
	if bal := storetest.AcceptTestBalance(t, s1, a.ID); bal != 100000-5*perMinute {
		t.Fatalf("balance %d: refused mails were charged (want %d)", bal, 100000-5*perMinute)
	}
	clk.Set(time.Date(2026, 3, 4, 10, 1, 0, 0, time.UTC))
	ok2, _ := run()
	// The day allows 40 parts: 17 were sent, so 17 more this minute, then 6.
	clk.Set(time.Date(2026, 3, 4, 10, 2, 0, 0, time.UTC))
	ok3, _ := run()
	if ok+ok2+ok3 != partsPerDay || ok2 != perMinute {
		t.Fatalf("accepted %d, %d, %d: want %d a minute and %d a day", ok, ok2, ok3, perMinute, partsPerDay)
	}
	if bal := storetest.AcceptTestBalance(t, s2, a.ID); bal != 100000-5*partsPerDay {
		t.Fatalf("balance %d, want %d", bal, 100000-5*partsPerDay)
	}
}

// BenchmarkAcceptLimited is BenchmarkAccept with every limit set (high
// enough never to refuse): the cost of the checks in the accept script.
func BenchmarkAcceptLimited(b *testing.B) {
	ctx := b.Context()
	s := storetest.AcceptTestStore(b, 1)
	a := storetest.AcceptTestAccount(b, s, 1<<40)
	if _, err := s.SetLimits(ctx, a.ID, accounts.Limits{PerMinute: accounts.MaxLimit, PartsPerDay: accounts.MaxLimit, SpendPerDay: accounts.MaxLimit}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID,
				Messages: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)}})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "accepts/s")
}
