package accounts

import (
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/smsgate/smsgate/internal/redistest"
)

func TestFormatMoney(t *testing.T) {
	tests := []struct {
		minor int64
		cur   string
		want  string
	}{
		{0, "USD", "0.00 USD"},
		{5, "USD", "0.05 USD"},
		{24, "AUD", "0.24 AUD"},
		{123456, "EUR", "1234.56 EUR"},
		{-5, "USD", "-0.05 USD"},
		{-100, "USD", "-1.00 USD"},
		{7, "", "0.07"},
		{math.MinInt64, "X", "-92233720368547758.08 X"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := FormatMoney(tt.minor, tt.cur); got != tt.want {
				t.Fatalf("FormatMoney(%d, %q) = %q", tt.minor, tt.cur, got)
			}
		})
	}
}

func TestBalanceError(t *testing.T) {
	var err error = &BalanceError{Need: 24, Have: 10, Currency: "USD"}
	if got, want := err.Error(), "insufficient balance: needs 0.24 USD, balance is 0.10 USD"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrInsufficientBalance) || errors.Is(err, ErrInvalid) {
		t.Fatal("errors.Is wrong")
	}
}

func TestCreditDebit(t *testing.T) {
	acctEachShards(t, func(t *testing.T, s *Store) {
		ctx := acctTestCtx(t)
		a := acctMustCreate(t, s, Account{Name: "A", Currency: "AUD"})
		steps := []struct {
			name    string
			credit  bool
			amount  int64
			balance int64
			want    error
		}{
			{"credit", true, 100, 100, nil},
			{"debit", false, 30, 70, nil},
			{"debit too much", false, 71, 70, ErrInsufficientBalance},
			{"debit all", false, 70, 0, nil},
			{"debit at zero", false, 1, 0, ErrInsufficientBalance},
			{"credit zero", true, 0, 0, ErrInvalid},
			{"credit negative", true, -5, 0, ErrInvalid},
			{"debit negative", false, -5, 0, ErrInvalid},
			{"credit huge", true, 1e14, 0, ErrInvalid},
			{"credit again", true, 5, 5, nil},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				var e *LedgerEntry
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
				var be *BalanceError
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
			if _, err := s.Credit(ctx, id, 1, "", ""); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Credit(%s) = %v", id, err)
			}
			if _, err := s.Ledger(ctx, id, 1); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Ledger(%s) = %v", id, err)
			}
		}
	})
}

func TestTransfer(t *testing.T) {
	acctEachShards(t, func(t *testing.T, s *Store) {
		ctx := acctTestCtx(t)
		root := acctMustCreate(t, s, Account{Name: "Root"})
		sub := acctMustCreate(t, s, Account{Name: "Sub", ParentID: root.ID})
		sib := acctMustCreate(t, s, Account{Name: "Sibling", ParentID: root.ID})
		stranger := acctMustCreate(t, s, Account{Name: "Stranger"})
		if _, err := s.Credit(ctx, root.ID, 1000, "", "op"); err != nil {
			t.Fatal(err)
		}
		rs, _ := s.shardFromID(root.ID)
		unknown := newShardedID("a", rs) // same shard, no record
		tests := []struct {
			name           string
			from, to       string
			amount         int64
			fromBal, toBal int64
			want           error
		}{
			{"parent to sub", root.ID, sub.ID, 600, 400, 600, nil},
			{"sub to parent", sub.ID, root.ID, 100, 500, 500, nil},
			{"more than balance", sub.ID, root.ID, 501, 500, 500, ErrInsufficientBalance},
			{"siblings", sub.ID, sib.ID, 1, 500, 0, ErrInvalid},
			{"other tree", root.ID, stranger.ID, 1, 500, 0, ErrInvalid},
			{"to self", root.ID, root.ID, 1, 500, 500, ErrInvalid},
			{"zero", root.ID, sub.ID, 0, 500, 500, ErrInvalid},
			{"unknown target", root.ID, unknown, 1, 500, 0, ErrNotFound},
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
				if from.Kind != KindTransferOut || to.Kind != KindTransferIn || from.Amount != -tt.amount ||
					to.Amount != tt.amount || from.Balance != tt.fromBal || to.Balance != tt.toBal {
					t.Fatalf("entries %+v %+v", from, to)
				}
			})
		}
		for _, a := range []*Account{root, sub, sib, stranger} {
			moneyCheckLedger(t, s, a.ID)
		}
	})
}

// moneyCheckLedger asserts that an account's ledger sums to its balance,
// that each entry's balance is the running sum, and that none is negative.
func moneyCheckLedger(t *testing.T, s *Store, id string) int64 {
	t.Helper()
	ctx := acctTestCtx(t)
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
		if l[i].Balance != sum || sum < 0 {
			t.Fatalf("%s: entry %s balance %d, running sum %d", id, l[i].ID, l[i].Balance, sum)
		}
	}
	if sum != a.Balance || a.Balance < 0 {
		t.Fatalf("%s: ledger sums to %d, balance %d", id, sum, a.Balance)
	}
	return a.Balance
}

func TestMoneyConcurrent(t *testing.T) {
	for _, shards := range []int{1, 4} {
		t.Run(map[int]string{1: "shards=1", 4: "shards=4"}[shards], func(t *testing.T) {
			s := NewStore(redistest.Start(t), StoreOptions{Shards: shards})
			ctx := acctTestCtx(t)
			root := acctMustCreate(t, s, Account{Name: "Root"})
			ids := []string{root.ID}
			for range 4 {
				ids = append(ids, acctMustCreate(t, s, Account{Name: "Sub", ParentID: root.ID}).ID)
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
						if err != nil && !errors.Is(err, ErrInsufficientBalance) {
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
				balances += moneyCheckLedger(t, s, id)
			}
			debited.Range(func(_, v any) bool { spent += v.(int64); return true })
			if balances+spent != initial {
				t.Fatalf("money not conserved: balances %d + debited %d != %d", balances, spent, initial)
			}
		})
	}
}
