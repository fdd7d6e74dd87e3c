package money_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/store"
	"github.com/smsgate/smsgate/accounts/storetest"
)

func TestCreditDebit(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		a := storetest.AcctMustCreate(t, s, accounts.Account{Name: "A", Currency: "AUD"})
		steps := []struct {
			name    string
			credit  bool
			amount  int64
			balance int64
			want    error
		}{
			{"credit", true, 100, 100, nil},
			{"debit", false, 30, 70, nil},
			{"debit too much", false, 71, 70, accounts.ErrInsufficientBalance},
			{"debit all", false, 70, 0, nil},
			{"debit at zero", false, 1, 0, accounts.ErrInsufficientBalance},
			{"credit zero", true, 0, 0, accounts.ErrInvalid},
			{"credit negative", true, -5, 0, accounts.ErrInvalid},
			{"debit negative", false, -5, 0, accounts.ErrInvalid},
			{"credit huge", true, 1e14, 0, accounts.ErrInvalid},
			{"credit again", true, 5, 5, nil},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				var e *accounts.LedgerEntry
				var err error
				if st.credit {
					e, err = s.Credit(ctx, a.ID, st.amount, "ref-"+st.name, "tester")
				} else {
					e, err = s.Debit(ctx, a.ID, st.amount, "ref-"+st.name, "tester")
				}
				if !errors.Is(err, st.want) || (st.want == nil) != (err == nil) {
					t.Fatalf("err = %v, want %v", err, st.want)
				}
				if err == nil && (e.Balance != st.balance || e.ID == "" || e.AccountID != a.ID) {
					t.Fatalf("entry %+v, want balance %d", e, st.balance)
				}
				var be *accounts.BalanceError
				if errors.As(err, &be) && (be.Have != st.balance || be.Need != st.amount || be.Currency != "AUD") {
					t.Fatalf("BalanceError %+v", be)
				}
				got, _ := s.GetAccount(ctx, a.ID)
				if got.Balance != st.balance {
					t.Fatalf("balance %d, want %d", got.Balance, st.balance)
				}
			})
		}
		l, err := s.Ledger(ctx, a.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		kinds := ""
		for _, e := range l {
			kinds += e.Kind + " "
		}
		if kinds != "credit debit debit credit " {
			t.Fatalf("ledger kinds (newest first) = %q", kinds)
		}
		if l[0].Ref != "ref-credit again" || l[0].Actor != "tester" || l[0].Amount != 5 || l[1].Amount != -70 {
			t.Fatalf("ledger head = %+v %+v", l[0], l[1])
		}
		if l2, _ := s.Ledger(ctx, a.ID, 2); len(l2) != 2 || l2[0].ID != l[0].ID {
			t.Fatalf("Ledger limit 2 = %+v", l2)
		}
		for _, id := range []string{"a0-0000000000000000", "bogus"} {
			if _, err := s.Credit(ctx, id, 1, "", ""); !errors.Is(err, accounts.ErrNotFound) {
				t.Fatalf("Credit(%s) = %v", id, err)
			}
			if _, err := s.Ledger(ctx, id, 1); !errors.Is(err, accounts.ErrNotFound) {
				t.Fatalf("Ledger(%s) = %v", id, err)
			}
		}
	})
}

func TestTransfer(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root"})
		sub := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sub", ParentID: root.ID})
		sib := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sibling", ParentID: root.ID})
		stranger := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Stranger"})
		if _, err := s.Credit(ctx, root.ID, 1000, "", "op"); err != nil {
			t.Fatal(err)
		}
		rs, _ := s.ShardFromID(root.ID)
		unknown := store.NewShardedID("a", rs) // same shard, no record
		tests := []struct {
			name           string
			from, to       string
			amount         int64
			fromBal, toBal int64
			want           error
		}{
			{"parent to sub", root.ID, sub.ID, 600, 400, 600, nil},
			{"sub to parent", sub.ID, root.ID, 100, 500, 500, nil},
			{"more than balance", sub.ID, root.ID, 501, 500, 500, accounts.ErrInsufficientBalance},
			{"siblings", sub.ID, sib.ID, 1, 500, 0, accounts.ErrInvalid},
			{"other tree", root.ID, stranger.ID, 1, 500, 0, accounts.ErrInvalid},
			{"to self", root.ID, root.ID, 1, 500, 500, accounts.ErrInvalid},
			{"zero", root.ID, sub.ID, 0, 500, 500, accounts.ErrInvalid},
			{"unknown target", root.ID, unknown, 1, 500, 0, accounts.ErrNotFound},
			{"all of it", sub.ID, root.ID, 500, 0, 1000, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				from, to, err := s.Transfer(ctx, tt.from, tt.to, tt.amount, "move", "admin")
				if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
					t.Fatalf("Transfer = %v, want %v", err, tt.want)
				}
				if err != nil {
					return
				}
				if from.Kind != accounts.KindTransferOut || to.Kind != accounts.KindTransferIn || from.Amount != -tt.amount ||
					to.Amount != tt.amount || from.Balance != tt.fromBal || to.Balance != tt.toBal {
					t.Fatalf("entries %+v %+v", from, to)
				}
			})
		}
		for _, a := range []*accounts.Account{root, sub, sib, stranger} {
			storetest.CheckLedger(t, s, a.ID, true)
		}
	})
}

func TestMoneyConcurrent(t *testing.T) {
	for _, shards := range []int{1, 4} {
		t.Run(map[int]string{1: "shards=1", 4: "shards=4"}[shards], func(t *testing.T) {
			s := storetest.New(t, redisstore.Options{Shards: shards})
			ctx := storetest.AcctTestCtx(t)
			root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root"})
			ids := []string{root.ID}
			for range 4 {
				ids = append(ids, storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sub", ParentID: root.ID}).ID)
			}
			const initial = 5000
			if _, err := s.Credit(ctx, root.ID, initial, "seed", "op"); err != nil {
				t.Fatal(err)
			}
			var debited sync.Map // worker -> total debited
			var wg sync.WaitGroup
			errc := make(chan error, 40)
			for w := range 40 {
				wg.Go(func() {
					r := rand.New(rand.NewPCG(uint64(w), 7))
					var total int64
					for range 100 {
						amount := int64(1 + r.IntN(60))
						sub := ids[1+r.IntN(len(ids)-1)]
						var err error
						switch r.IntN(3) {
						case 0:
							_, _, err = s.Transfer(ctx, root.ID, sub, amount, "", "w")
						case 1:
							_, _, err = s.Transfer(ctx, sub, root.ID, amount, "", "w")
						default:
							if _, err = s.Debit(ctx, ids[r.IntN(len(ids))], amount, "", "w"); err == nil {
								total += amount
							}
						}
						if err != nil && !errors.Is(err, accounts.ErrInsufficientBalance) {
							errc <- err
							return
						}
					}
					debited.Store(w, total)
				})
			}
			wg.Wait()
			close(errc)
			for err := range errc {
				t.Fatal(err)
			}
			var balances, spent int64
			for _, id := range ids {
				balances += storetest.CheckLedger(t, s, id, true)
			}
			debited.Range(func(_, v any) bool { spent += v.(int64); return true })
			if balances+spent != initial {
				t.Fatalf("money not conserved: balances %d + debited %d != %d", balances, spent, initial)
			}
		})
	}
}

func TestMoneyFloors(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	ctx := storetest.AcctTestCtx(t)
	root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root", Currency: "AUD"})
	if _, err := s.Credit(ctx, root.ID, 1000, "seed", "op"); err != nil {
		t.Fatal(err)
	}
	post := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Post", ParentID: root.ID, Billing: accounts.BillingPostpaid, CreditLimit: 100})
	pre := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Pre", ParentID: root.ID})
	tests := []struct {
		name    string
		op      func() error
		wantErr string
		wantBal map[string]int64
	}{
		{name: "postpaid debit into credit", op: func() error { _, err := s.Debit(ctx, post.ID, 60, "", "t"); return err },
			wantBal: map[string]int64{post.ID: -60}},
		{name: "postpaid debit beyond the limit", op: func() error { _, err := s.Debit(ctx, post.ID, 41, "", "t"); return err },
			wantErr: "needs 0.41 AUD, available 0.40 AUD (balance -0.60 AUD, credit limit 1.00 AUD)", wantBal: map[string]int64{post.ID: -60}},
		{name: "postpaid transfer to the parent down to the limit", op: func() error { _, _, err := s.Transfer(ctx, post.ID, root.ID, 40, "", "t"); return err },
			wantBal: map[string]int64{post.ID: -100, root.ID: 1040}},
		{name: "credit a postpaid debt", op: func() error { _, _, err := s.Transfer(ctx, root.ID, post.ID, 30, "", "t"); return err },
			wantBal: map[string]int64{post.ID: -70, root.ID: 1010}},
		{name: "prepaid debit below zero", op: func() error { _, err := s.Debit(ctx, pre.ID, 1, "", "t"); return err },
			wantErr: "needs 0.01 AUD, balance is 0.00 AUD", wantBal: map[string]int64{pre.ID: 0}},
		{name: "top-up from the parent", op: func() error {
			p, c, err := s.TopUp(ctx, pre.ID, 25, "po 7", "key:k1")
			if err == nil && (p.Kind != accounts.KindTopUpOut || c.Kind != accounts.KindTopUpIn || c.Balance != 25 || p.Balance != 985) {
				t.Errorf("top-up entries %+v %+v", p, c)
			}
			return err
		}, wantBal: map[string]int64{pre.ID: 25, root.ID: 985}},
		{name: "top-up beyond the parent's balance", op: func() error { _, _, err := s.TopUp(ctx, pre.ID, 986, "", "t"); return err },
			wantErr: "needs 9.86 AUD, balance is 9.85 AUD", wantBal: map[string]int64{pre.ID: 25, root.ID: 985}},
		{name: "a root cannot top up", op: func() error { _, _, err := s.TopUp(ctx, root.ID, 1, "", "t"); return err },
			wantErr: "has no parent account to top up from"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.op()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
			for id, want := range tc.wantBal {
				if got := storetest.CheckLedger(t, s, id, false); got != want {
					t.Errorf("balance of %s = %d, want %d", id, got, want)
				}
			}
		})
	}
}

func TestLedgerPage(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	ctx := storetest.AcctTestCtx(t)
	a := storetest.AcctMustCreate(t, s, accounts.Account{Name: "A"})
	for i := range 7 {
		if _, err := s.Credit(ctx, a.ID, int64(i+1), "", "t"); err != nil {
			t.Fatal(err)
		}
	}
	var got []int64
	before := ""
	for page := 0; ; page++ {
		entries, next, err := s.LedgerPage(ctx, a.ID, before, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			got = append(got, e.Amount)
		}
		if next == "" {
			break
		}
		if page > 5 || len(entries) != 3 || next != entries[2].ID {
			t.Fatalf("page %d: %d entries, next %q", page, len(entries), next)
		}
		before = next
	}
	if fmt.Sprint(got) != "[7 6 5 4 3 2 1]" {
		t.Fatalf("paged amounts %v", got)
	}
	for _, bad := range []string{"x", "1-", "-1", "1-2-3", "(1-0"} {
		if _, _, err := s.LedgerPage(ctx, a.ID, bad, 3); !errors.Is(err, accounts.ErrInvalid) {
			t.Errorf("before %q: %v, want ErrInvalid", bad, err)
		}
	}
	if _, _, err := s.LedgerPage(ctx, "a0-nosuchaccount", "", 3); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
}

// TestMoneyConcurrentTree runs transfers both ways, top-ups, operator
// debits and auto-recharging sends from tens of goroutines (thousands of
// operations) against one tree with a prepaid and a postpaid sub-account.
// Afterwards every ledger sums to its balance with every entry's balance the
// running sum, no prepaid balance was ever below zero and no postpaid one
// below its credit limit (checked on every ledger entry, so also in between),
// and money is conserved: what the operator credited equals the balances
// plus what was debited and what was sent.
func TestMoneyConcurrentTree(t *testing.T) {
	s := storetest.New(t, redisstore.Options{Shards: 2})
	ctx := storetest.AcctTestCtx(t)
	root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root", Currency: "AUD"})
	pre := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Pre", ParentID: root.ID, AutoRecharge: accounts.AutoRecharge{Threshold: 50, Amount: 40}})
	post := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Post", ParentID: root.ID, Billing: accounts.BillingPostpaid, CreditLimit: 300,
		AutoRecharge: accounts.AutoRecharge{Threshold: 0, Amount: 25}, LowBalance: 20})
	floors := map[string]int64{root.ID: 0, pre.ID: 0, post.ID: -300}
	subs := []string{pre.ID, post.ID}
	const initial, workers, ops = 30000, 40, 100
	if _, err := s.Credit(ctx, root.ID, initial, "seed", "op"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var spent, sent, refused int64
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 11))
			var mySpent, mySent, myRefused int64
			defer func() {
				mu.Lock()
				spent, sent, refused = spent+mySpent, sent+mySent, refused+myRefused
				mu.Unlock()
			}()
			for i := range ops {
				amount := int64(1 + r.IntN(40))
				sub := subs[r.IntN(2)]
				var err error
				switch r.IntN(5) {
				case 0:
					_, _, err = s.Transfer(ctx, root.ID, sub, amount, "", "w")
				case 1:
					_, _, err = s.Transfer(ctx, sub, root.ID, amount, "", "w")
				case 2:
					_, _, err = s.TopUp(ctx, sub, amount, "", "w")
				case 3:
					id := []string{root.ID, pre.ID, post.ID}[r.IntN(3)]
					if _, err = s.Debit(ctx, id, amount, "", "w"); err == nil {
						mySpent += amount
					}
				default:
					n := 1 + r.IntN(3)
					msgs := make([]*accounts.Message, n)
					for j := range msgs {
						msgs[j] = storetest.AcceptTestMsg("6141111111"+strconv.Itoa(j), 1+r.IntN(2), amount)
					}
					req := accounts.AcceptRequest{AccountID: sub, Messages: msgs, IdempotencyKey: fmt.Sprint(w, "/", i)}
					var res *accounts.AcceptResult
					if res, err = s.Accept(ctx, req); err == nil && !res.Duplicate {
						for _, m := range msgs {
							mySent += m.Price
						}
					}
				}
				if errors.Is(err, accounts.ErrInsufficientBalance) {
					myRefused++
					err = nil
				}
				if err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	var balances, recharges int64
	for _, id := range []string{root.ID, pre.ID, post.ID} {
		a, err := s.GetAccount(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		l, err := s.Ledger(ctx, id, 0)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for i := len(l) - 1; i >= 0; i-- {
			sum += l[i].Amount
			if l[i].Kind == accounts.KindRechargeIn {
				recharges++
			}
			if l[i].Balance != sum || sum < floors[id] {
				t.Fatalf("%s: entry %s (%s %d) balance %d, running sum %d, floor %d", id, l[i].ID, l[i].Kind, l[i].Amount, l[i].Balance, sum, floors[id])
			}
		}
		if sum != a.Balance {
			t.Fatalf("%s: ledger sums to %d, balance %d", id, sum, a.Balance)
		}
		balances += a.Balance
	}
	if balances+spent+sent != initial {
		t.Fatalf("money not conserved: balances %d + debited %d + sent %d != %d", balances, spent, sent, initial)
	}
	if sent == 0 || refused == 0 || recharges == 0 {
		t.Errorf("sent %d, refused %d, recharged %d times: the mix should exercise all three", sent, refused, recharges)
	}
	t.Logf("%d operations: sent %d, debited %d, refused %d, recharged %d times, balances %d", workers*ops, sent, spent, refused, recharges, balances)
}
