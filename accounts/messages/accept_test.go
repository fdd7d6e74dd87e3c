package messages_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
	"github.com/smsgate/smsgate/internal/redistest"
)

func TestAccept(t *testing.T) {
	ctx := t.Context()
	s := storetest.AcceptTestStore(t, 1)
	tests := []struct {
		name     string
		balance  int64
		msgs     []*accounts.Message
		setup    func(t *testing.T, a *accounts.Account) string // returns the account id to use
		wantErr  error
		wantLeft int64
	}{
		{name: "debits the sum and enqueues", balance: 100,
			msgs:     []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5), storetest.AcceptTestMsg("61422222222", 3, 15)},
			wantLeft: 80},
		{name: "exact balance", balance: 20,
			msgs: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 4, 20)}, wantLeft: 0},
		{name: "free message on empty balance", balance: 0,
			msgs: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 0)}, wantLeft: 0},
		{name: "balance too low writes nothing", balance: 19,
			msgs:    []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5), storetest.AcceptTestMsg("61422222222", 3, 15)},
			wantErr: accounts.ErrInsufficientBalance, wantLeft: 19},
		{name: "deactivated", balance: 100, msgs: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)},
			setup: func(t *testing.T, a *accounts.Account) string {
				if err := s.SetStatus(ctx, a.ID, accounts.StatusDeactivated); err != nil {
					t.Fatal(err)
				}
				return a.ID
			},
			wantErr: accounts.ErrDeactivated, wantLeft: 100},
		{name: "deactivated parent stops sub-account", balance: 0, msgs: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 0)},
			setup: func(t *testing.T, a *accounts.Account) string {
				sub, err := s.CreateAccount(ctx, accounts.Account{Name: "sub", ParentID: a.ID})
				if err != nil {
					t.Fatal(err)
				}
				if err := s.SetStatus(ctx, a.ID, accounts.StatusDeactivated); err != nil {
					t.Fatal(err)
				}
				return sub.ID
			},
			wantErr: accounts.ErrDeactivated},
		{name: "unknown account", msgs: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)},
			setup:   func(*testing.T, *accounts.Account) string { return "a0-nosuchaccount" },
			wantErr: accounts.ErrNotFound},
		{name: "no messages", balance: 10, wantErr: accounts.ErrInvalid, wantLeft: 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := storetest.AcceptTestAccount(t, s, tc.balance)
			id := a.ID
			if tc.setup != nil {
				id = tc.setup(t, a)
			}
			q0 := storetest.AcceptTestLen(t, s, s.Keys.Queue(0), true)
			res, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: id, Messages: tc.msgs})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Accept error = %v, want %v", err, tc.wantErr)
			}
			if id == a.ID {
				if got := storetest.AcceptTestBalance(t, s, a.ID); got != tc.wantLeft {
					t.Errorf("balance = %d, want %d", got, tc.wantLeft)
				}
			}
			queued := storetest.AcceptTestLen(t, s, s.Keys.Queue(0), true) - q0
			logged := storetest.LoggedMessages(t, s, 0, id)
			if tc.wantErr != nil {
				if logged != 0 || queued != 0 {
					t.Errorf("%d messages logged, %d queued after an error", logged, queued)
				}
				var be *accounts.BalanceError
				if errors.As(err, &be) && (be.Need != 20 || be.Have != 19 || be.Currency != "AUD") {
					t.Errorf("BalanceError = %+v", be)
				}
				return
			}
			if res.Balance != tc.wantLeft || len(res.IDs) != len(tc.msgs) || res.Duplicate {
				t.Fatalf("result = %+v", res)
			}
			if logged != int64(len(tc.msgs)) {
				t.Errorf("message log has %d, want %d", logged, len(tc.msgs))
			}
			if queued != int64(len(tc.msgs)) {
				t.Errorf("%d queue entries added, want %d", queued, len(tc.msgs))
			}
			ledger, _ := s.Ledger(ctx, a.ID, 0)
			sends := 0
			for _, e := range ledger {
				if e.Kind == "send" {
					sends++
				}
			}
			if sends != len(tc.msgs) {
				t.Errorf("%d send ledger entries, want %d", sends, len(tc.msgs))
			}
			for i, mid := range res.IDs {
				m, err := s.GetMessage(ctx, mid)
				if err != nil {
					t.Fatal(err)
				}
				want := tc.msgs[i]
				if m.ID != mid || want.ID != mid || m.AccountID != id || m.Status != accounts.MsgQueued ||
					m.To != want.To || m.Text != want.Text || m.Price != want.Price ||
					m.Parts != want.Parts || m.Sender != want.Sender || m.Source != want.Source ||
					m.MailID != want.MailID || !m.CreatedAt.Equal(want.CreatedAt) {
					t.Errorf("stored %+v, accepted %+v", m, want)
				}
			}
		})
	}
}

func TestAcceptIdempotent(t *testing.T) {
	ctx := t.Context()
	s := storetest.AcceptTestStore(t, 1)
	a := storetest.AcceptTestAccount(t, s, 100)
	req := func() accounts.AcceptRequest {
		return accounts.AcceptRequest{AccountID: a.ID, IdempotencyKey: "jo@acme.example <m1@acme.example>",
			Messages: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5), storetest.AcceptTestMsg("61422222222", 1, 5)}}
	}
	first, err := s.Accept(ctx, req())
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Accept(ctx, req())
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || fmt.Sprint(again.IDs) != fmt.Sprint(first.IDs) || again.Balance != 90 {
		t.Fatalf("replay = %+v, first = %+v", again, first)
	}
	if got := storetest.AcceptTestBalance(t, s, a.ID); got != 90 {
		t.Fatalf("balance = %d, want 90 (charged once)", got)
	}
	if n := storetest.AcceptTestLen(t, s, s.Keys.Queue(0), true); n != 2 {
		t.Fatalf("queue has %d entries, want 2", n)
	}
	// Another key is another request.
	other := req()
	other.IdempotencyKey = "jo@acme.example <m2@acme.example>"
	if res, err := s.Accept(ctx, other); err != nil || res.Duplicate || res.Balance != 80 {
		t.Fatalf("second key: %+v, %v", res, err)
	}
	// A refused request leaves no key behind: sent again once the balance
	// covers it, it is accepted, not taken for a replay.
	big := req()
	big.IdempotencyKey = "jo@acme.example <m3@acme.example>"
	big.Messages = []*accounts.Message{storetest.AcceptTestMsg("61433333333", 20, 100)}
	if _, err := s.Accept(ctx, big); !errors.Is(err, accounts.ErrInsufficientBalance) {
		t.Fatalf("over the balance: %v", err)
	}
	if _, err := s.Credit(ctx, a.ID, 100, "test", "test"); err != nil {
		t.Fatal(err)
	}
	big.Messages = []*accounts.Message{storetest.AcceptTestMsg("61433333333", 20, 100)}
	if res, err := s.Accept(ctx, big); err != nil || res.Duplicate {
		t.Fatalf("after the top-up: %+v, %v; want accepted", res, err)
	}
	// The same request sent by many at once (grouped in one script call or
	// not): one is accepted, the others are its replays.
	var wg sync.WaitGroup
	var accepted, dups atomic.Int64
	ids := make(chan string, 10)
	for range 10 {
		wg.Go(func() {
			r := req()
			r.IdempotencyKey = "jo@acme.example <m4@acme.example>"
			res, err := s.Accept(ctx, r)
			if err != nil {
				t.Errorf("concurrent replay: %v", err)
				return
			}
			if res.Duplicate {
				dups.Add(1)
			} else {
				accepted.Add(1)
			}
			ids <- fmt.Sprint(res.IDs)
		})
	}
	wg.Wait()
	close(ids)
	one := <-ids
	for got := range ids {
		if got != one {
			t.Errorf("replays answered %s and %s", one, got)
		}
	}
	if accepted.Load() != 1 || dups.Load() != 9 {
		t.Fatalf("%d accepted, %d replays; want 1 and 9", accepted.Load(), dups.Load())
	}
}

func TestAcceptConcurrent(t *testing.T) {
	ctx := t.Context()
	s := storetest.AcceptTestStore(t, 1)
	const price, start, workers, total = 7, 7*300 + 3, 20, 500
	a := storetest.AcceptTestAccount(t, s, start)
	var accepted, short atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range total / workers {
				_, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID,
					IdempotencyKey: strconv.Itoa(w) + "/" + strconv.Itoa(i),
					Messages:       []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, price)}})
				switch {
				case err == nil:
					accepted.Add(1)
				case errors.Is(err, accounts.ErrInsufficientBalance):
					short.Add(1)
				default:
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	bal := storetest.AcceptTestBalance(t, s, a.ID)
	if accepted.Load() != 300 || short.Load() != total-300 {
		t.Errorf("accepted %d, refused %d; want 300, %d", accepted.Load(), short.Load(), total-300)
	}
	if start-bal != accepted.Load()*price {
		t.Errorf("balance fell by %d, accepted %d at %d", start-bal, accepted.Load(), price)
	}
	if n := storetest.AcceptTestLen(t, s, s.Keys.Queue(0), true); n != accepted.Load() {
		t.Errorf("queue has %d entries, accepted %d", n, accepted.Load())
	}
}

// BenchmarkAccept measures single-message accepts per second from parallel
// clients against one redis-server.
// BenchmarkAccept: 50 concurrent accepts of one message each, as 50 SMTP
// sessions make them (each with its Message-ID's idempotency key), and the
// Redis CPU each costs (without the tests' key guard, which wraps every
// command of a script in Lua and would count in it).
func BenchmarkAccept(b *testing.B) {
	ctx := b.Context()
	s := redisstore.New(redistest.Start(b), redisstore.Options{Shards: 1})
	a := storetest.AcceptTestAccount(b, s, 1<<40)
	// As the gateway does at start: with no idempotency keys of releases
	// before the buckets, accepts stop looking for them.
	if _, err := s.CheckLegacyIdempotency(ctx); err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	b.SetParallelism(max(1, 50/runtime.GOMAXPROCS(0)))
	cpu0 := redisCPU(b, s)
	s.RDB.ConfigResetStat(ctx)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID,
				IdempotencyKey: "jo@acme.example <" + strconv.FormatInt(seq.Add(1), 10) + "@acme.example>",
				Messages:       []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)}})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "accepts/s")
	b.ReportMetric((redisCPU(b, s)-cpu0)*1e6/float64(b.N), "redis-us/accept")
	calls, usec := scriptStats(b, s)
	b.ReportMetric(usec/float64(b.N), "script-us/accept")
	b.ReportMetric(float64(b.N)/max(calls, 1), "accepts/call")
	// What the script spends outside the commands it calls: the Lua
	// interpreter, and the conversions of arguments and replies.
	b.ReportMetric((usec-calledUsec(b, s))/float64(b.N), "lua-us/accept")
}

// calledUsec is the microseconds Redis spent in the commands scripts call
// (every command but EVALSHA and the benchmark's own INFO and CONFIG)
// since its statistics were reset.
func calledUsec(b *testing.B, s *redisstore.Store) float64 {
	var t float64
	for name, st := range commandStats(b, s) {
		switch name {
		case "evalsha", "info", "config|resetstat":
		default:
			t += st.usec
		}
	}
	return t
}

// BenchmarkAcceptSerial: one accept at a time (a lightly loaded gateway,
// where a call carries one mail): the cost of a call with its fixed part
// (the account read, the counters) not shared.
func BenchmarkAcceptSerial(b *testing.B) {
	ctx := b.Context()
	s := redisstore.New(redistest.Start(b), redisstore.Options{Shards: 1})
	a := storetest.AcceptTestAccount(b, s, 1<<40)
	cpu0 := redisCPU(b, s)
	s.RDB.ConfigResetStat(ctx)
	b.ResetTimer()
	for i := range b.N {
		_, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID,
			IdempotencyKey: "jo@acme.example <" + strconv.Itoa(i) + "@acme.example>",
			Messages:       []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)}})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((redisCPU(b, s)-cpu0)*1e6/float64(b.N), "redis-us/accept")
	calls, usec := scriptStats(b, s)
	b.ReportMetric(usec/float64(b.N), "script-us/accept")
	b.ReportMetric(float64(b.N)/max(calls, 1), "accepts/call")
}

// scriptStats is the number of script calls (EVALSHA) the store's Redis
// has run since its statistics were reset, and the microseconds they took.
func scriptStats(b *testing.B, s *redisstore.Store) (calls, usec float64) {
	st := commandStats(b, s)["evalsha"]
	return st.calls, st.usec
}

// cmdStat is one command's calls and microseconds in INFO commandstats.
type cmdStat struct{ calls, usec float64 }

// commandStats is the store's Redis's INFO commandstats, by command name
// (subcommands as Redis names them, e.g. "xinfo|groups").
func commandStats(b *testing.B, s *redisstore.Store) map[string]cmdStat {
	out := map[string]cmdStat{}
	for _, l := range strings.Split(s.RDB.Info(b.Context(), "commandstats").Val(), "\n") {
		name, v, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(l), "cmdstat_"), ":")
		if !ok || !strings.HasPrefix(strings.TrimSpace(l), "cmdstat_") {
			continue
		}
		var st cmdStat
		for _, kv := range strings.Split(v, ",") {
			k, n, _ := strings.Cut(kv, "=")
			f, _ := strconv.ParseFloat(n, 64)
			switch k {
			case "calls":
				st.calls = f
			case "usec":
				st.usec = f
			}
		}
		out[name] = st
	}
	return out
}

// redisCPU is the CPU seconds the store's Redis has used.
func redisCPU(b *testing.B, s *redisstore.Store) float64 {
	var t float64
	for _, l := range strings.Split(s.RDB.Info(b.Context(), "cpu").Val(), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(l), ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			f, _ := strconv.ParseFloat(v, 64)
			t += f
		}
	}
	return t
}

func TestAcceptBilling(t *testing.T) {
	s := storetest.AcceptTestStore(t, 1)
	recharge := func(threshold, amount int64) accounts.AutoRecharge {
		return accounts.AutoRecharge{Threshold: threshold, Amount: amount}
	}
	tests := []struct {
		name              string
		rootBal, subBal   int64
		sub               accounts.Account
		msgs              []*accounts.Message
		wantErr           string // substring of the error; empty: accepted
		wantSub, wantRoot int64
		wantRecharged     int64
		wantLow           bool
	}{
		{name: "prepaid down to zero", subBal: 20, msgs: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 4, 20)}},
		{name: "prepaid short", subBal: 19, msgs: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 4, 20)},
			wantErr: "insufficient balance: needs 0.20 AUD, balance is 0.19 AUD", wantSub: 19},
		// The parent backs the credit limit out of its own balance.
		{name: "postpaid within the credit limit", rootBal: 100, sub: accounts.Account{Billing: accounts.BillingPostpaid, CreditLimit: 100},
			msgs: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 12, 60)}, wantSub: -60, wantRoot: 100},
		{name: "postpaid beyond the credit limit", rootBal: 100, subBal: 10, sub: accounts.Account{Billing: accounts.BillingPostpaid, CreditLimit: 100},
			msgs:    []*accounts.Message{storetest.AcceptTestMsg("61411111111", 24, 120)},
			wantErr: "needs 1.20 AUD, available 1.10 AUD (balance 0.10 AUD, credit limit 1.00 AUD)", wantSub: 10, wantRoot: 100},
		{name: "auto-recharge below the threshold", rootBal: 1000, subBal: 10, sub: accounts.Account{AutoRecharge: recharge(20, 100)},
			msgs: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)}, wantSub: 105, wantRoot: 900, wantRecharged: 100},
		{name: "auto-recharge in multiples covers the send", rootBal: 1000, sub: accounts.Account{AutoRecharge: recharge(1, 20)},
			msgs: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 6, 30)}, wantSub: 10, wantRoot: 960, wantRecharged: 40},
		{name: "auto-recharge not needed above the threshold", rootBal: 1000, subBal: 100, sub: accounts.Account{AutoRecharge: recharge(20, 100)},
			msgs: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)}, wantSub: 95, wantRoot: 1000},
		{name: "parent cannot pay but the balance covers the send", rootBal: 10, subBal: 50, sub: accounts.Account{AutoRecharge: recharge(100, 100)},
			msgs: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)}, wantSub: 45, wantRoot: 10},
		{name: "parent cannot pay and the balance does not cover", rootBal: 10, sub: accounts.Account{AutoRecharge: recharge(100, 100)},
			msgs:     []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)},
			wantErr:  "needs 0.05 AUD, balance is 0.00 AUD, and auto-recharge from the parent failed: parent balance 0.10 AUD, recharge 1.00 AUD",
			wantRoot: 10},
		{name: "postpaid parent pays a recharge within its own limit", subBal: 0,
			sub:  accounts.Account{AutoRecharge: recharge(10, 50)},
			msgs: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)}, wantSub: 45, wantRoot: -50, wantRecharged: 50},
		{name: "low balance crossed", subBal: 60, sub: accounts.Account{LowBalance: 50},
			msgs: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 4, 20)}, wantSub: 40, wantLow: true},
		{name: "low balance already below", subBal: 40, sub: accounts.Account{LowBalance: 50},
			msgs: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)}, wantSub: 35},
		{name: "recharge keeps the balance above low", rootBal: 500, subBal: 60, sub: accounts.Account{LowBalance: 50, AutoRecharge: recharge(50, 100)},
			msgs: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 4, 20)}, wantSub: 140, wantRoot: 400, wantRecharged: 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			root, sub := storetest.AcceptTestTree(t, s, tc.rootBal, tc.subBal, tc.sub)
			if tc.name == "postpaid parent pays a recharge within its own limit" {
				root.Billing, root.CreditLimit = accounts.BillingPostpaid, 100
				if err := s.UpdateAccount(ctx, root); err != nil {
					t.Fatal(err)
				}
			}
			res, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: sub.ID, Messages: tc.msgs})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Accept: %v", err)
			case tc.wantErr != "" && (err == nil || !errors.Is(err, accounts.ErrInsufficientBalance) || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Accept error = %v, want %q", err, tc.wantErr)
			case err == nil && (res.Recharged != tc.wantRecharged || res.LowBalance != tc.wantLow || res.Balance != tc.wantSub):
				t.Fatalf("result = %+v, want balance %d, recharged %d, low %v", res, tc.wantSub, tc.wantRecharged, tc.wantLow)
			}
			for id, want := range map[string]int64{sub.ID: tc.wantSub, root.ID: tc.wantRoot} {
				if got := storetest.CheckLedger(t, s, id, false); got != want {
					t.Errorf("balance of %s = %d, want %d", id, got, want)
				}
			}
			if tc.wantRecharged > 0 {
				l, _ := s.Ledger(ctx, sub.ID, 0)
				pl, _ := s.Ledger(ctx, root.ID, 1)
				in := l[len(tc.msgs)] // the recharge comes before the sends
				if in.Kind != accounts.KindRechargeIn || in.Amount != tc.wantRecharged || pl[0].Kind != accounts.KindRechargeOut || pl[0].Amount != -tc.wantRecharged {
					t.Errorf("recharge entries: sub %+v, parent %+v", in, pl[0])
				}
			}
		})
	}
}

func TestAcceptPricesAndStats(t *testing.T) {
	ctx := t.Context()
	s := storetest.AcceptTestStore(t, 1)
	a := storetest.AcceptTestAccount(t, s, 1000)
	if _, err := s.SetPrices(ctx, a.ID, map[string]int64{"61": 7, "614": 9}); err != nil {
		t.Fatal(err)
	}
	msgs := []*accounts.Message{
		storetest.AcceptTestMsg("61412345678", 2, 10),  // 614: 2 x 9
		storetest.AcceptTestMsg("61298765432", 2, 10),  // 61: 2 x 7
		storetest.AcceptTestMsg("447700900123", 2, 10), // default: the caller's price
	}
	other := storetest.AcceptTestMsg("61412345679", 1, 5)
	other.Sender = "al@acme.example"
	msgs = append(msgs, other) // 614: 1 x 9
	res, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID, Messages: msgs})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int64{18, 14, 10, 9} {
		m, _ := s.GetMessage(ctx, res.IDs[i])
		if msgs[i].Price != want || m.Price != want {
			t.Errorf("message %d priced %d, stored %d, want %d", i, msgs[i].Price, m.Price, want)
		}
	}
	if res.Balance != 1000-51 || storetest.CheckLedger(t, s, a.ID, false) != 1000-51 {
		t.Errorf("balance %d, want %d", res.Balance, 1000-51)
	}
	day := s.Now().UnixMilli() / 86400000
	got, err := s.RDB.HGetAll(ctx, s.Keys.Stats(0, a.ID, day)).Result()
	if err != nil {
		t.Fatal(err)
	}
	// Per sender only: the account's totals (4 messages, 7 parts, 51) are
	// their sums, computed by Stats.
	want := map[string]string{"m": "", "p": "", "c": "",
		"m:jo@acme.example": "3", "p:jo@acme.example": "6", "c:jo@acme.example": "42",
		"m:al@acme.example": "1", "p:al@acme.example": "1", "c:al@acme.example": "9"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("stats %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	st, err := s.Stats(ctx, a.ID, s.Now(), s.Now(), "")
	if err != nil {
		t.Fatal(err)
	}
	if st.Total.Messages != 4 || st.Total.Parts != 7 || st.Total.Cost != 51 {
		t.Errorf("Stats totals %+v, want 4 messages, 7 parts, cost 51", st.Total)
	}
	if ttl := s.RDB.PTTL(ctx, s.Keys.Stats(0, a.ID, day)).Val(); ttl < 399*24*time.Hour {
		t.Errorf("stats TTL %v, want about 400 days", ttl)
	}
	// Too little balance for the prefix price refuses with the priced total.
	poor := storetest.AcceptTestAccount(t, s, 10)
	if _, err := s.SetPrices(ctx, poor.ID, map[string]int64{"61": 11}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Accept(ctx, accounts.AcceptRequest{AccountID: poor.ID, Messages: []*accounts.Message{storetest.AcceptTestMsg("61412345678", 1, 5)}})
	var be *accounts.BalanceError
	if !errors.As(err, &be) || be.Need != 11 || be.Have != 10 {
		t.Fatalf("Accept = %v, want a BalanceError needing 11", err)
	}
}

// TestAcceptParentFromCaller: the caller names the account's parent, so the
// accept script runs once; a caller that does not know it (or names a wrong
// one) still gets the send accepted, the script naming the parent for a
// second and last run.
func TestAcceptParentFromCaller(t *testing.T) {
	var runs atomic.Int64
	opts := storetest.Guard(redisstore.Options{})
	guardRan := opts.OnScript
	opts.OnScript = func(name string) {
		guardRan(name)
		if name == "messages/accept.lua" {
			runs.Add(1)
		}
	}
	s := redisstore.New(redistest.Start(t), opts)
	root, sub := storetest.AcceptTestTree(t, s, 100, 100, accounts.Account{})
	other := storetest.AcceptTestAccount(t, s, 0)
	for _, tc := range []struct {
		name   string
		parent string
		want   int64
	}{
		{"known parent", root.ID, 1},
		{"unknown parent", "", 2},
		{"wrong parent", other.ID, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runs.Store(0)
			req := accounts.AcceptRequest{AccountID: sub.ID, ParentID: tc.parent,
				Messages: []*accounts.Message{storetest.AcceptTestMsg("61400000001", 1, 1)}}
			res, err := s.Accept(t.Context(), req)
			if err != nil || len(res.IDs) != 1 {
				t.Fatalf("accept: %+v %v", res, err)
			}
			if n := runs.Load(); n != tc.want {
				t.Errorf("accept script ran %d times, want %d", n, tc.want)
			}
		})
	}
	if b := storetest.AcceptTestBalance(t, s, sub.ID); b != 97 {
		t.Errorf("balance %d, want 97", b)
	}
}

// TestBlockedLogQuota: the blocked log keeps at most the account's quota of
// records, dropping the oldest (and their records) beyond it.
func TestBlockedLogQuota(t *testing.T) {
	ctx := t.Context()
	// One millisecond apart, so that "oldest" is well defined.
	clock := time.UnixMilli(1_700_000_000_000)
	s := storetest.New(t, redisstore.Options{Quotas: accounts.Quotas{Blocked: 2}, Now: func() time.Time { return clock }})
	a := storetest.AcceptTestAccount(t, s, 1000)
	var first string
	for i := range 4 {
		clock = clock.Add(time.Millisecond)
		to := fmt.Sprintf("6141100000%d", i)
		if _, err := s.AddOptOut(ctx, a.ID, accounts.OptOut{Number: to, Reason: "test"}); err != nil {
			t.Fatal(err)
		}
		m := storetest.AcceptTestMsg(to, 1, 5)
		if _, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID, Messages: []*accounts.Message{m}}); !errors.Is(err, accounts.ErrOptedOut) {
			t.Fatalf("accept to an opted-out number: %v", err)
		}
		if i == 0 {
			first = m.ID
		}
	}
	got, _, err := s.ListBlocked(ctx, a.ID, 10, "")
	if err != nil || len(got) != 2 || got[0].To != "61411000003" || got[1].To != "61411000002" {
		t.Fatalf("blocked log %v, %v: want the two newest", got, err)
	}
	if _, err := s.GetMessage(ctx, first); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("the dropped record: %v", err)
	}
}

// TestLegacyIdempotencyCheck: a scan that finds keys of the idempotency
// index of the releases before the buckets leaves their lookup on; one that
// finds none (the buckets do not count) turns it off.
func TestLegacyIdempotencyCheck(t *testing.T) {
	ctx := t.Context()
	s := storetest.New(t, redisstore.Options{Shards: 2})
	a := storetest.AcceptTestAccount(t, s, 1000)
	send := func(key string) *accounts.AcceptResult {
		t.Helper()
		res, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID, IdempotencyKey: key,
			Messages: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	shard, _ := s.ShardFromID(a.ID)
	legacy := func(key string) string {
		sum := sha256.Sum256([]byte(key))
		return s.Keys.Idempotency(shard, a.ID, hex.EncodeToString(sum[:]))
	}
	send("<new@acme.example>") // a bucket, which is not an earlier release's key
	if err := s.RDB.Set(ctx, legacy("<old1@acme.example>"), "m0-before1", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if found, err := s.CheckLegacyIdempotency(ctx); err != nil || !found {
		t.Fatalf("check with an earlier release's key: found %v, %v", found, err)
	}
	if r := send("<old1@acme.example>"); !r.Duplicate {
		t.Fatalf("a retry of a mail accepted before the upgrade: %+v", r)
	}
	s.RDB.Del(ctx, legacy("<old1@acme.example>"))
	if found, err := s.CheckLegacyIdempotency(ctx); err != nil || found {
		t.Fatalf("check without one: found %v, %v", found, err)
	}
	// Looked for no more: a key of that form written now is not read.
	if err := s.RDB.Set(ctx, legacy("<old2@acme.example>"), "m0-before2", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if r := send("<old2@acme.example>"); r.Duplicate {
		t.Fatalf("earlier releases' keys still read after a check found none")
	}
}

// TestIdempotencyWindow: a retry is recognised for the whole window
// (retention.idempotency), across the buckets the index is kept in, and
// not long after it; a retry of a mail accepted by a release before the
// buckets (one key per submission) is recognised too; the same key on
// another account is another request.
func TestIdempotencyWindow(t *testing.T) {
	ctx := t.Context()
	clk := &storetest.StatsTestClock{}
	t0 := time.Now().Truncate(time.Hour) // the buckets' expiry is real Redis time
	clk.Set(t0)
	s := storetest.New(t, redisstore.Options{Shards: 1, Now: clk.Now, IdempotencyTTL: 30 * time.Minute})
	a := storetest.AcceptTestAccount(t, s, 1000)
	send := func(key string, acct string) *accounts.AcceptResult {
		t.Helper()
		res, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: acct, IdempotencyKey: key,
			Messages: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// The key of the releases before the buckets (read for one window
	// after the store started).
	shard, _ := s.ShardFromID(a.ID)
	sum := sha256.Sum256([]byte("<old@acme.example>"))
	if err := s.RDB.Set(ctx, s.Keys.Idempotency(shard, a.ID, hex.EncodeToString(sum[:])), "m0-before1,m0-before2", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if old := send("<old@acme.example>", a.ID); !old.Duplicate || fmt.Sprint(old.IDs) != "[m0-before1 m0-before2]" {
		t.Fatalf("a retry of a mail accepted before the upgrade: %+v", old)
	}
	first := send("<w1@acme.example>", a.ID)
	for _, after := range []time.Duration{29 * time.Minute, 31 * time.Minute} {
		clk.Set(t0.Add(after))
		if again := send("<w1@acme.example>", a.ID); !again.Duplicate || fmt.Sprint(again.IDs) != fmt.Sprint(first.IDs) {
			t.Fatalf("%v later: %+v, want the replay of %v", after, again, first.IDs)
		}
	}
	clk.Set(t0.Add(61 * time.Minute))
	if late := send("<w1@acme.example>", a.ID); late.Duplicate {
		t.Fatalf("61 minutes later (window 30m): still a replay")
	}
	// Another account, the same key: its own request.
	b := storetest.AcceptTestAccount(t, s, 1000)
	if other := send("<w1@acme.example>", b.ID); other.Duplicate {
		t.Fatalf("another account's mail with the same key taken for a replay")
	}
	if got := storetest.AcceptTestBalance(t, s, a.ID); got != 1000-2*5 {
		t.Fatalf("balance %d, want %d (two sends charged, the replays not)", got, 1000-2*5)
	}
}

// TestLogClockBehind: a message whose creation time is before the log's
// last entry (another instance's clock behind) is still logged, listed
// first, as the newest.
func TestLogClockBehind(t *testing.T) {
	ctx := t.Context()
	clk := &storetest.StatsTestClock{}
	t0 := time.UnixMilli(1_800_000_000_000)
	clk.Set(t0)
	s := storetest.New(t, redisstore.Options{Now: clk.Now})
	a := storetest.AcceptTestAccount(t, s, 1000)
	var ids []string
	for _, at := range []time.Time{t0, t0.Add(-time.Second)} {
		clk.Set(at)
		res, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID,
			Messages: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.IDs[0])
	}
	msgs, err := s.ListMessages(ctx, a.ID, 10)
	if err != nil || len(msgs) != 2 || msgs[0].ID != ids[1] || msgs[1].ID != ids[0] {
		t.Fatalf("log %v, %v; want %v newest first", msgs, err, []string{ids[1], ids[0]})
	}
	if !msgs[0].CreatedAt.Equal(t0.Add(-time.Second)) {
		t.Errorf("created_at %v, want the accepting instance's %v", msgs[0].CreatedAt, t0.Add(-time.Second))
	}
}

// TestLoadHotScripts: after Redis lost its script cache, LoadHotScripts
// puts the three scripts of every message (accept, submit, receipt) back.
func TestLoadHotScripts(t *testing.T) {
	ctx := t.Context()
	s := storetest.AcceptTestStore(t, 1)
	cached := func() string {
		info, err := s.RDB.Info(ctx, "memory").Result()
		if err != nil {
			t.Fatal(err)
		}
		for l := range strings.SplitSeq(info, "\r\n") {
			if v, ok := strings.CutPrefix(l, "number_of_cached_scripts:"); ok {
				return v
			}
		}
		t.Fatalf("no number_of_cached_scripts in INFO memory:\n%s", info)
		return ""
	}
	if err := s.RDB.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if n := cached(); n != "0" {
		t.Fatalf("%s scripts cached after SCRIPT FLUSH", n)
	}
	if err := s.LoadHotScripts(ctx); err != nil {
		t.Fatal(err)
	}
	if n := cached(); n != "3" {
		t.Errorf("%s scripts cached, want 3", n)
	}
}
