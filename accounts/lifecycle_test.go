package accounts

import (
	"errors"
	"fmt"
	"testing"

	"github.com/smsgate/smsgate/internal/redistest"
)

func TestDeleteAccount(t *testing.T) {
	acctEachShards(t, func(t *testing.T, s *Store) {
		ctx := acctTestCtx(t)
		root := acctMustCreate(t, s, Account{Name: "Root", Currency: "AUD"})
		if _, err := s.Credit(ctx, root.ID, 1000, "seed", "op"); err != nil {
			t.Fatal(err)
		}
		sub := acctMustCreate(t, s, Account{Name: "Sales", ParentID: root.ID, PricePerPart: 5})
		if _, _, err := s.Transfer(ctx, root.ID, sub.ID, 300, "", "t"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddDomain(ctx, sub.ID, "sales.example"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddAddress(ctx, sub.ID, "boss@other.example"); err != nil {
			t.Fatal(err)
		}
		secret, key, err := s.CreateKey(ctx, sub.ID, RoleSubAdmin, "k")
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Accept(ctx, AcceptRequest{AccountID: sub.ID, Messages: []*Message{acceptTestMsg("61411111111", 1, 100)}})
		if err != nil {
			t.Fatal(err)
		}

		got, err := s.DeleteAccount(ctx, sub.ID, "key:test")
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprint(&DeleteResult{AccountID: sub.ID, ParentID: root.ID, Returned: 200, Currency: "AUD",
			Domains: []string{"sales.example"}, Addresses: []string{"boss@other.example"}, Keys: []string{key.ID}})
		if fmt.Sprint(got) != want {
			t.Fatalf("DeleteAccount = %v, want %v", got, want)
		}
		if bal := moneyLedgerSum(t, s, root.ID); bal != 900 {
			t.Errorf("root balance %d, want 900 (700 + 200 returned)", bal)
		}
		// The deleted account's own ledger is kept and sums to zero.
		shard, _ := s.shardFromID(sub.ID)
		entries, _ := s.rdb.XRange(ctx, s.skey(shard, "ledger", sub.ID), "-", "+").Result()
		var sum int64
		for _, e := range entries {
			e, err := moneyEntry(sub.ID, e)
			if err != nil {
				t.Fatal(err)
			}
			sum += e.Amount
		}
		if last, _ := moneyEntry(sub.ID, entries[len(entries)-1]); sum != 0 || last.Kind != KindCloseOut || last.Actor != "key:test" {
			t.Errorf("deleted ledger sums to %d, last entry %+v", sum, last)
		}

		checks := []struct {
			name string
			err  error
			want error
		}{
			{"get", func() error { _, err := s.GetAccount(ctx, sub.ID); return err }(), ErrNotFound},
			{"key stops working", func() error { _, err := s.Authenticate(ctx, secret); return err }(), ErrBadKey},
			{"domain released", func() error { _, err := s.ResolveSender(ctx, "jo@sales.example"); return err }(), ErrUnknownSender},
			{"address released", func() error { _, err := s.ResolveSender(ctx, "boss@other.example"); return err }(), ErrUnknownSender},
			{"no reactivation", s.SetStatus(ctx, sub.ID, StatusActive), ErrNotFound},
			{"no update", func() error { a := *sub; a.Name = "x"; return s.UpdateAccount(ctx, &a) }(), ErrNotFound},
			{"no send", func() error {
				_, err := s.Accept(ctx, AcceptRequest{AccountID: sub.ID, Messages: []*Message{acceptTestMsg("61411111111", 1, 0)}})
				return err
			}(), ErrNotFound},
			{"no credit", func() error { _, err := s.Credit(ctx, sub.ID, 1, "", "op"); return err }(), ErrNotFound},
			{"no transfer", func() error { _, _, err := s.Transfer(ctx, root.ID, sub.ID, 1, "", "op"); return err }(), ErrNotFound},
			{"no second delete", func() error { _, err := s.DeleteAccount(ctx, sub.ID, "op"); return err }(), ErrNotFound},
			{"root cannot be deleted", func() error { _, err := s.DeleteAccount(ctx, root.ID, "op"); return err }(), ErrInvalid},
			{"domain free for another", s.AddDomain(ctx, root.ID, "sales.example"), nil},
		}
		for _, c := range checks {
			if !errors.Is(c.err, c.want) || (c.want == nil && c.err != nil) {
				t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
			}
		}
		subs, _ := s.ListSubAccounts(ctx, root.ID)
		deleted, err := s.DeletedSubAccounts(ctx, root.ID)
		if err != nil || len(subs) != 0 || len(deleted) != 1 || deleted[0].Status != StatusDeleted || deleted[0].Balance != 0 {
			t.Errorf("subs %v, deleted %v, %v", subs, deleted, err)
		}
		// The message accepted before the deletion is kept.
		if m, err := s.GetMessage(ctx, res.IDs[0]); err != nil || m.Status != MsgQueued {
			t.Errorf("in-flight message %+v, %v", m, err)
		}
	})
}

func TestDeleteAccountDebt(t *testing.T) {
	s := NewStore(redistest.Start(t), StoreOptions{})
	ctx := acctTestCtx(t)
	root := acctMustCreate(t, s, Account{Name: "Root", Currency: "AUD"})
	if _, err := s.Credit(ctx, root.ID, 40, "seed", "op"); err != nil {
		t.Fatal(err)
	}
	sub := acctMustCreate(t, s, Account{Name: "Post", ParentID: root.ID, Billing: BillingPostpaid, CreditLimit: 100})
	if _, err := s.Debit(ctx, sub.ID, 60, "", "op"); err != nil {
		t.Fatal(err)
	}
	_, err := s.DeleteAccount(ctx, sub.ID, "op")
	var be *BalanceError
	if !errors.As(err, &be) || be.Need != 60 || be.Have != 40 {
		t.Fatalf("delete with a debt the parent cannot pay: %v", err)
	}
	if moneyLedgerSum(t, s, sub.ID) != -60 || moneyLedgerSum(t, s, root.ID) != 40 {
		t.Fatal("a refused delete changed balances")
	}
	if _, err := s.Credit(ctx, root.ID, 20, "seed", "op"); err != nil {
		t.Fatal(err)
	}
	got, err := s.DeleteAccount(ctx, sub.ID, "op")
	if err != nil || got.Returned != -60 {
		t.Fatalf("DeleteAccount = %+v, %v; want the debt of 60 settled", got, err)
	}
	if bal := moneyLedgerSum(t, s, root.ID); bal != 0 {
		t.Fatalf("root balance %d, want 0", bal)
	}
}

// A message accepted before its account was deleted and failed afterwards
// is refunded to the parent, which got the balance.
func TestDeleteAccountLateRefund(t *testing.T) {
	s := NewStore(redistest.Start(t), StoreOptions{})
	ctx := acctTestCtx(t)
	root := acctMustCreate(t, s, Account{Name: "Root", Currency: "AUD"})
	if _, err := s.Credit(ctx, root.ID, 100, "seed", "op"); err != nil {
		t.Fatal(err)
	}
	sub := acctMustCreate(t, s, Account{Name: "Sub", ParentID: root.ID})
	if _, _, err := s.Transfer(ctx, root.ID, sub.ID, 50, "", "t"); err != nil {
		t.Fatal(err)
	}
	res, err := s.Accept(ctx, AcceptRequest{AccountID: sub.ID, Messages: []*Message{acceptTestMsg("61411111111", 2, 30)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteAccount(ctx, sub.ID, "op"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Fail(ctx, Entry{MessageID: res.IDs[0]}, "carrier said no", true); err != nil {
		t.Fatal(err)
	}
	if bal := moneyLedgerSum(t, s, root.ID); bal != 50+20+30 {
		t.Fatalf("root balance %d, want 100 (50 kept, 20 returned, 30 refunded)", bal)
	}
	l, _ := s.Ledger(ctx, root.ID, 1)
	if l[0].Kind != KindRefund || l[0].Ref != res.IDs[0] {
		t.Fatalf("last root entry %+v, want the refund", l[0])
	}
}
