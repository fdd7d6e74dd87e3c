package router

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/internal/redistest"
)

// refusingHolder is a real store whose Redis refuses to hold receipts.
type refusingHolder struct{ *redisstore.Store }

func (refusingHolder) HoldReceipts(context.Context, []accounts.ReceiptUpdate, time.Time) error {
	return errors.New("OOM command not allowed when used memory > 'maxmemory'")
}

// TestHeldReceiptOutlivesInstance (issue 12): a receipt that overtakes the
// recording of its submit is held in Redis before the carrier is answered;
// the instance that received it ends; the submit is recorded elsewhere; a
// new instance applies the receipt. A receipt Redis refuses to hold is not
// acknowledged (the carrier delivers it again), and one never matched is
// given up at its deadline.
func TestHeldReceiptOutlivesInstance(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	st := redisstore.New(redistest.Start(t), redisstore.Options{PasswordCost: 4})
	a, err := st.CreateAccount(ctx, accounts.Account{Name: "A", DefaultCountry: "AU", Currency: "AUD"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Credit(ctx, a.ID, 100, "seed", "test"); err != nil {
		t.Fatal(err)
	}
	res, err := st.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID, Messages: []*accounts.Message{
		{To: "61412345678", Text: "hi", Parts: 1, Price: 1, Sender: "jo@a.example", Source: "61480000000"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.EnsureGroups(ctx); err != nil {
		t.Fatal(err)
	}
	entries, err := st.Read(ctx, "d1", 10, 0)
	if err != nil || len(entries) != 1 {
		t.Fatalf("read %v %v", entries, err)
	}

	// Instance A receives the receipt before the submit is recorded.
	ctxA, stopA := context.WithCancel(ctx)
	a1 := NewInbound(InboundOptions{Store: st, OrphanWait: time.Minute})
	doneA := make(chan struct{})
	go func() { defer close(doneA); a1.Run(ctxA) }()
	if err := a1.HandleDeliver(ctx, receiptDeliver("7f", "DELIVRD")); err != nil {
		t.Fatalf("an early receipt held in Redis must be acknowledged: %v", err)
	}
	if n := st.RDB.HLen(ctx, st.Keys.HeldReceipts()).Val(); n != 1 {
		t.Fatalf("%d receipts held in Redis, want 1", n)
	}
	stopA()
	<-doneA

	// Another instance records the submit, then a new one starts.
	if err := st.MarkSubmitted(ctx, []accounts.Submitted{{Entry: entries[0], Link: "l1", Source: "61480000000", SMSCIDs: []string{"7f"}}}); err != nil {
		t.Fatal(err)
	}
	b1 := NewInbound(InboundOptions{Store: st, OrphanWait: time.Minute})
	go b1.Run(ctx)
	for {
		m, err := st.GetMessage(ctx, res.IDs[0])
		if err != nil {
			t.Fatal(err)
		}
		if m.Status == accounts.MsgDelivered {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the held receipt was never applied (message %s)", m.Status)
		case <-time.After(20 * time.Millisecond):
		}
	}
	for st.RDB.HLen(ctx, st.Keys.HeldReceipts()).Val() != 0 {
		select {
		case <-ctx.Done():
			t.Fatal("an applied receipt stays held")
		case <-time.After(20 * time.Millisecond):
		}
	}

	// Redis refusing to hold: the carrier is told to deliver it again.
	c1 := NewInbound(InboundOptions{Store: refusingHolder{st}, OrphanWait: time.Minute})
	go c1.Run(ctx)
	if err := c1.HandleDeliver(ctx, receiptDeliver("99", "DELIVRD")); err == nil {
		t.Fatal("a receipt Redis would not hold was acknowledged")
	}

	// Never matched: given up at its deadline, and no longer held.
	d1 := NewInbound(InboundOptions{Store: st, OrphanWait: 50 * time.Millisecond})
	go d1.Run(ctx)
	if err := d1.HandleDeliver(ctx, receiptDeliver("abc", "DELIVRD")); err != nil {
		t.Fatal(err)
	}
	for st.RDB.HLen(ctx, st.Keys.HeldReceipts()).Val() != 0 {
		select {
		case <-ctx.Done():
			t.Fatal("an expired receipt stays held")
		case <-time.After(50 * time.Millisecond):
		}
	}
}
