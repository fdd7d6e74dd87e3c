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
			wantErr: "needs 9.86 AUD, available 8.85 AUD (balance 9.85 AUD, 1.00 AUD backing the credit limits of its sub-accounts)", wantBal: map[string]int64{pre.ID: 25, root.ID: 985}},
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
// debits, auto-recharging sends, refunds of failed messages and changes of a
// sub-account's credit limit from tens of goroutines (thousands of
// operations) against one tree with a prepaid and a postpaid sub-account.
// Afterwards every ledger sums to its balance with every entry's balance the
// running sum, no prepaid balance was ever below zero and no postpaid one
// below its largest credit limit (checked on every ledger entry, so also in
// between), and money is conserved tree-wide: the balances of the tree are
// what the operator credited, less what was debited and charged, plus what
// was refunded. The credit in the tree never exceeds the operator's grant:
// the root holds exactly its sub-accounts' credit limits and every account
// has what it may spend (balance + credit limit - credit held) >= 0, so the
// tree's spendable total is at most its balances plus the root's own credit.
func TestMoneyConcurrentTree(t *testing.T) {
	s := storetest.New(t, redisstore.Options{Shards: 2})
	ctx := storetest.AcctTestCtx(t)
	root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root", Currency: "AUD"})
	const initial, workers, ops, maxLimit = 30000, 40, 100, 600
	if _, err := s.Credit(ctx, root.ID, initial, "seed", "op"); err != nil {
		t.Fatal(err)
	}
	pre := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Pre", ParentID: root.ID, AutoRecharge: accounts.AutoRecharge{Threshold: 50, Amount: 40}})
	post := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Post", ParentID: root.ID, Billing: accounts.BillingPostpaid, CreditLimit: 300,
		AutoRecharge: accounts.AutoRecharge{Threshold: 0, Amount: 25}, LowBalance: 20})
	floors := map[string]int64{root.ID: 0, pre.ID: 0, post.ID: -maxLimit}
	subs := []string{pre.ID, post.ID}
	var mu sync.Mutex
	var spent, sent, refunded, refused, limits int64
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 11))
			var mySpent, mySent, myRefunded, myRefused, myLimits int64
			var accepted []string // ids of this worker's queued messages
			price := map[string]int64{}
			defer func() {
				mu.Lock()
				spent, sent, refunded, refused, limits = spent+mySpent, sent+mySent, refunded+myRefunded, refused+myRefused, limits+myLimits
				mu.Unlock()
			}()
			for i := range ops {
				amount := int64(1 + r.IntN(40))
				sub := subs[r.IntN(2)]
				var err error
				switch r.IntN(7) {
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
				case 4: // the parent's administrators change the credit limit
					var a *accounts.Account
					if a, err = s.GetAccount(ctx, post.ID); err == nil {
						a.CreditLimit = int64(r.IntN(maxLimit + 1))
						if err = s.UpdateAccount(ctx, a); err == nil {
							myLimits++
						} else if errors.Is(err, accounts.ErrInvalid) { // it owes more than the new limit
							err = accounts.ErrInsufficientBalance
						}
					}
				case 5: // a queued message fails and is refunded
					if len(accepted) == 0 {
						continue
					}
					id := accepted[len(accepted)-1]
					accepted = accepted[:len(accepted)-1]
					if _, err = s.Fail(ctx, accounts.Entry{MessageID: id}, "test", true, true); err == nil {
						myRefunded += price[id]
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
						for j, m := range msgs {
							mySent += m.Price
							price[res.IDs[j]] = m.Price
							accepted = append(accepted, res.IDs[j])
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
	var balances, recharges, held int64
	byID := map[string]*accounts.Account{}
	for _, id := range []string{root.ID, pre.ID, post.ID} {
		a, err := s.GetAccount(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		byID[id] = a
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
		if a.ParentID != "" && a.Billing == accounts.BillingPostpaid {
			held += a.CreditLimit
		}
		if avail := a.Balance + a.CreditLimit - a.CreditReserved; avail < 0 {
			t.Errorf("%s: balance %d + credit limit %d - held %d = %d: spendable below zero", id, a.Balance, a.CreditLimit, a.CreditReserved, avail)
		}
	}
	if got := byID[root.ID].CreditReserved; got != held {
		t.Errorf("root holds %d of credit for its sub-accounts, their credit limits sum to %d", got, held)
	}
	if balances != initial-spent-sent+refunded {
		t.Fatalf("money not conserved: balances %d != credited %d - debited %d - sent %d + refunded %d", balances, initial, spent, sent, refunded)
	}
	if sent == 0 || refused == 0 || recharges == 0 || refunded == 0 || limits == 0 {
		t.Errorf("sent %d, refused %d, recharged %d times, refunded %d, limits changed %d times: the mix should exercise all of them",
			sent, refused, recharges, refunded, limits)
	}
	t.Logf("%d operations: sent %d, debited %d, refunded %d, refused %d, recharged %d times, limit changes %d, balances %d",
		workers*ops, sent, spent, refunded, refused, recharges, limits, balances)
}

// TestCreditLimitBackedByParent: a parent holds its sub-accounts' credit
// limits out of what it may spend; the credit in a tree cannot exceed what
// the operator granted the root, and a limit cannot be lowered below a debt.
func TestCreditLimitBackedByParent(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	ctx := storetest.AcctTestCtx(t)
	root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root", Currency: "AUD"})
	if _, err := s.Credit(ctx, root.ID, 500, "seed", "op"); err != nil {
		t.Fatal(err)
	}
	sub := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sub", ParentID: root.ID})
	setLimit := func(id string, billing string, limit int64) error {
		a, err := s.GetAccount(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		a.Billing, a.CreditLimit = billing, limit
		return s.UpdateAccount(ctx, a)
	}
	held := func() int64 {
		r, err := s.GetAccount(ctx, root.ID)
		if err != nil {
			t.Fatal(err)
		}
		return r.CreditReserved
	}
	// The attack of issue 10: a huge credit limit, then a debit of the
	// sub-account into the parent.
	var ce *accounts.CreditError
	if err := setLimit(sub.ID, accounts.BillingPostpaid, 10_000_000_000_000); !errors.As(err, &ce) || ce.Available != 500 {
		t.Fatalf("credit limit beyond the parent's means: %v", err)
	}
	if _, _, err := s.Transfer(ctx, sub.ID, root.ID, 1, "", "t"); !errors.Is(err, accounts.ErrInsufficientBalance) {
		t.Fatalf("debit of a prepaid sub-account with nothing: %v", err)
	}
	if err := setLimit(sub.ID, accounts.BillingPostpaid, 300); err != nil || held() != 300 {
		t.Fatalf("limit 300: %v, held %d", err, held())
	}
	if err := setLimit(sub.ID, accounts.BillingPostpaid, 201+300); !errors.As(err, &ce) || ce.Available != 200 || ce.Want != 201 {
		t.Fatalf("raise beyond what is left: %v", err)
	}
	// Debiting the sub-account into its credit moves money the parent
	// already holds: the tree's spendable total does not change.
	if _, _, err := s.Transfer(ctx, sub.ID, root.ID, 300, "", "t"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Debit(ctx, root.ID, 501, "", "op"); !errors.Is(err, accounts.ErrInsufficientBalance) {
		t.Fatalf("the root spent more than the operator granted: %v", err)
	}
	if err := setLimit(sub.ID, accounts.BillingPostpaid, 299); !errors.Is(err, accounts.ErrInvalid) || !strings.Contains(err.Error(), "owes 3.00 AUD") {
		t.Fatalf("lower below the debt: %v", err)
	}
	if err := setLimit(sub.ID, accounts.BillingPrepaid, 0); !errors.Is(err, accounts.ErrInvalid) {
		t.Fatalf("prepaid with a debt: %v", err)
	}
	// A postpaid root: the operator's credit backs its sub-accounts too,
	// and cannot be withdrawn while they hold it.
	if _, err := s.Debit(ctx, root.ID, 500, "", "op"); err != nil {
		t.Fatal(err)
	}
	if err := setLimit(root.ID, accounts.BillingPostpaid, 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Debit(ctx, root.ID, 1001, "", "op"); !errors.Is(err, accounts.ErrInsufficientBalance) {
		t.Fatalf("a postpaid root beyond its limit: %v", err)
	}
	if _, err := s.Debit(ctx, root.ID, 1000, "", "op"); err != nil {
		t.Fatal(err)
	}
	if err := setLimit(root.ID, accounts.BillingPostpaid, 500); !errors.Is(err, accounts.ErrInvalid) || !strings.Contains(err.Error(), "extends 3.00 AUD") {
		t.Fatalf("root limit below what its sub-accounts hold: %v", err)
	}
	if _, _, err := s.Transfer(ctx, sub.ID, root.ID, 1, "", "t"); !errors.Is(err, accounts.ErrInsufficientBalance) {
		t.Fatalf("sub-account beyond its limit: %v", err)
	}
	if _, err := s.Credit(ctx, root.ID, 1000, "settle", "op"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Transfer(ctx, root.ID, sub.ID, 300, "", "t"); err != nil {
		t.Fatal(err)
	}
	if err := setLimit(sub.ID, accounts.BillingPrepaid, 0); err != nil || held() != 0 {
		t.Fatalf("back to prepaid: %v, held %d", err, held())
	}
	// A limit from before parents held their subs' credit (an upgrade):
	// lowering it releases nothing the parent did not hold.
	key, _ := s.AcctKey(sub.ID)
	if err := s.RDB.HSet(ctx, key, "billing", accounts.BillingPostpaid, "credit_limit", 700).Err(); err != nil {
		t.Fatal(err)
	}
	if err := setLimit(sub.ID, accounts.BillingPostpaid, 100); err != nil || held() != 0 {
		t.Fatalf("lowering a legacy limit: %v, held %d (must not go below zero)", err, held())
	}
}
