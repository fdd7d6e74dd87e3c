package redisstore_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/money"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

func TestDeleteAccount(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root", Currency: "AUD"})
		if _, err := s.Credit(ctx, root.ID, 1000, "seed", "op"); err != nil {
			t.Fatal(err)
		}
		sub := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sales", ParentID: root.ID, PricePerPart: 5})
		if _, _, err := s.Transfer(ctx, root.ID, sub.ID, 300, "", "t"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddDomain(ctx, sub.ID, "sales.example"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddAddress(ctx, sub.ID, "boss@other.example"); err != nil {
			t.Fatal(err)
		}
		secret, key, err := s.CreateKey(ctx, sub.ID, accounts.RoleSubAdmin, "k")
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: sub.ID, Messages: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 100)}})
		if err != nil {
			t.Fatal(err)
		}

		got, err := s.DeleteAccount(ctx, sub.ID, "key:test")
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprint(&accounts.DeleteResult{AccountID: sub.ID, ParentID: root.ID, Returned: 200, Currency: "AUD",
			Domains: []string{"sales.example"}, Addresses: []string{"boss@other.example"}, Keys: []string{key.ID}})
		if fmt.Sprint(got) != want {
			t.Fatalf("DeleteAccount = %v, want %v", got, want)
		}
		if bal := storetest.CheckLedger(t, s, root.ID, false); bal != 900 {
			t.Errorf("root balance %d, want 900 (700 + 200 returned)", bal)
		}
		// The deleted account's own ledger is kept and sums to zero.
		shard, _ := s.ShardFromID(sub.ID)
		entries, _ := s.RDB.XRange(ctx, s.Keys.Ledger(shard, sub.ID), "-", "+").Result()
		var sum int64
		for _, e := range entries {
			e, err := money.MoneyEntry(sub.ID, e)
			if err != nil {
				t.Fatal(err)
			}
			sum += e.Amount
		}
		if last, _ := money.MoneyEntry(sub.ID, entries[len(entries)-1]); sum != 0 || last.Kind != accounts.KindCloseOut || last.Actor != "key:test" {
			t.Errorf("deleted ledger sums to %d, last entry %+v", sum, last)
		}

		checks := []struct {
			name string
			err  error
			want error
		}{
			{"get", func() error { _, err := s.GetAccount(ctx, sub.ID); return err }(), accounts.ErrNotFound},
			{"key stops working", func() error { _, err := s.Authenticate(ctx, secret); return err }(), accounts.ErrBadKey},
			{"domain released", func() error { _, err := s.ResolveSender(ctx, "jo@sales.example"); return err }(), accounts.ErrUnknownSender},
			{"address released", func() error { _, err := s.ResolveSender(ctx, "boss@other.example"); return err }(), accounts.ErrUnknownSender},
			{"no reactivation", s.SetStatus(ctx, sub.ID, accounts.StatusActive), accounts.ErrNotFound},
			{"no update", func() error { a := *sub; a.Name = "x"; return s.UpdateAccount(ctx, &a) }(), accounts.ErrNotFound},
			{"no send", func() error {
				_, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: sub.ID, Messages: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 0)}})
				return err
			}(), accounts.ErrNotFound},
			{"no credit", func() error { _, err := s.Credit(ctx, sub.ID, 1, "", "op"); return err }(), accounts.ErrNotFound},
			{"no transfer", func() error { _, _, err := s.Transfer(ctx, root.ID, sub.ID, 1, "", "op"); return err }(), accounts.ErrNotFound},
			{"no second delete", func() error { _, err := s.DeleteAccount(ctx, sub.ID, "op"); return err }(), accounts.ErrNotFound},
			{"root cannot be deleted", func() error { _, err := s.DeleteAccount(ctx, root.ID, "op"); return err }(), accounts.ErrInvalid},
			{"domain free for another", s.AddDomain(ctx, root.ID, "sales.example"), nil},
		}
		for _, c := range checks {
			if !errors.Is(c.err, c.want) || (c.want == nil && c.err != nil) {
				t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
			}
		}
		subs, _ := s.ListSubAccounts(ctx, root.ID)
		deleted, err := s.DeletedSubAccounts(ctx, root.ID)
		if err != nil || len(subs) != 0 || len(deleted) != 1 || deleted[0].Status != accounts.StatusDeleted || deleted[0].Balance != 0 {
			t.Errorf("subs %v, deleted %v, %v", subs, deleted, err)
		}
		// The message accepted before the deletion is kept.
		if m, err := s.GetMessage(ctx, res.IDs[0]); err != nil || m.Status != accounts.MsgQueued {
			t.Errorf("in-flight message %+v, %v", m, err)
		}
	})
}

// TestDeleteAccountDebt: a postpaid sub-account's credit limit is backed by
// its parent (held out of the parent's balance), so deleting it settles its
// debt from that and releases the rest.
func TestDeleteAccountDebt(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	ctx := storetest.AcctTestCtx(t)
	root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root", Currency: "AUD"})
	if _, err := s.Credit(ctx, root.ID, 40, "seed", "op"); err != nil {
		t.Fatal(err)
	}
	post := accounts.Account{Name: "Post", ParentID: root.ID, Billing: accounts.BillingPostpaid, CreditLimit: 100}
	var ce *accounts.CreditError
	if _, err := s.CreateAccount(ctx, post); !errors.As(err, &ce) || ce.Available != 40 || ce.Want != 100 {
		t.Fatalf("a credit limit the parent cannot back: %v", err)
	}
	if _, err := s.Credit(ctx, root.ID, 60, "seed", "op"); err != nil {
		t.Fatal(err)
	}
	sub := storetest.AcctMustCreate(t, s, post)
	if r, _ := s.GetAccount(ctx, root.ID); r.CreditReserved != 100 {
		t.Fatalf("root holds %d, want 100", r.CreditReserved)
	}
	if _, err := s.Debit(ctx, root.ID, 1, "", "op"); !errors.Is(err, accounts.ErrInsufficientBalance) {
		t.Fatalf("the root spent the credit it backs: %v", err)
	}
	if _, err := s.Debit(ctx, sub.ID, 60, "", "op"); err != nil {
		t.Fatal(err)
	}
	got, err := s.DeleteAccount(ctx, sub.ID, "op")
	if err != nil || got.Returned != -60 {
		t.Fatalf("DeleteAccount = %+v, %v; want the debt of 60 settled", got, err)
	}
	r, _ := s.GetAccount(ctx, root.ID)
	if bal := storetest.CheckLedger(t, s, root.ID, false); bal != 40 || r.CreditReserved != 0 {
		t.Fatalf("root balance %d holding %d, want 40 holding nothing", bal, r.CreditReserved)
	}
	if _, err := s.Debit(ctx, root.ID, 40, "", "op"); err != nil {
		t.Fatalf("the released credit: %v", err)
	}
}

// A message accepted before its account was deleted and failed afterwards
// is refunded to the parent, which got the balance.
func TestDeleteAccountLateRefund(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	ctx := storetest.AcctTestCtx(t)
	root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root", Currency: "AUD"})
	if _, err := s.Credit(ctx, root.ID, 100, "seed", "op"); err != nil {
		t.Fatal(err)
	}
	sub := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sub", ParentID: root.ID})
	if _, _, err := s.Transfer(ctx, root.ID, sub.ID, 50, "", "t"); err != nil {
		t.Fatal(err)
	}
	res, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: sub.ID, Messages: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 2, 30)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteAccount(ctx, sub.ID, "op"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Fail(ctx, accounts.Entry{MessageID: res.IDs[0]}, "carrier said no", true, false); err != nil {
		t.Fatal(err)
	}
	if bal := storetest.CheckLedger(t, s, root.ID, false); bal != 50+20+30 {
		t.Fatalf("root balance %d, want 100 (50 kept, 20 returned, 30 refunded)", bal)
	}
	l, _ := s.Ledger(ctx, root.ID, 1)
	if l[0].Kind != accounts.KindRefund || l[0].Ref != res.IDs[0] {
		t.Fatalf("last root entry %+v, want the refund", l[0])
	}
}
