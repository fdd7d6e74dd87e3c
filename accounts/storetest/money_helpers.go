package storetest

import (
	"testing"

	"github.com/smsgate/smsgate/accounts/redisstore"
)

// CheckLedger asserts that an account's ledger sums to its balance and that
// each entry's balance is the running sum, and returns the balance. With
// prepaid, neither the balance nor any running sum may be negative.
func CheckLedger(t testing.TB, s *redisstore.Store, id string, prepaid bool) int64 {
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
		if l[i].Balance != sum || (prepaid && sum < 0) {
			t.Fatalf("%s: entry %s (%s) balance %d, running sum %d", id, l[i].ID, l[i].Kind, l[i].Balance, sum)
		}
	}
	if sum != a.Balance || (prepaid && a.Balance < 0) {
		t.Fatalf("%s: ledger sums to %d, balance %d", id, sum, a.Balance)
	}
	return a.Balance
}
