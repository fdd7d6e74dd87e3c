package storetest

import (
	"testing"

	"github.com/smsgate/smsgate/accounts/redisstore"
)

// moneyLedgerSum asserts that an account's ledger sums to its balance and
// that each entry's balance is the running sum, and returns the balance.
func MoneyLedgerSum(t *testing.T, s *redisstore.Store, id string) int64 {
	t.Helper()
	a, err := s.GetAccount(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.Ledger(t.Context(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for i := len(l) - 1; i >= 0; i-- {
		sum += l[i].Amount
		if l[i].Balance != sum {
			t.Fatalf("%s: entry %s (%s) balance %d, running sum %d", id, l[i].ID, l[i].Kind, l[i].Balance, sum)
		}
	}
	if sum != a.Balance {
		t.Fatalf("%s: ledger sums to %d, balance %d", id, sum, a.Balance)
	}
	return a.Balance
}
