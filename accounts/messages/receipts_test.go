package messages_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

func TestApplyReceiptsBatch(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	ctx := t.Context()
	ids := acceptForReceipts(t, s, 3)
	var subs []accounts.Submitted
	entries, err := s.Read(ctx, "c1", 10, 0)
	if err != nil || len(entries) != 3 {
		t.Fatalf("read %v %v", entries, err)
	}
	for i, e := range entries {
		subs = append(subs, accounts.Submitted{Entry: e, Link: "l1", Source: "61480000000", SMSCIDs: []string{[]string{"a1", "a2", "a3"}[i]}})
	}
	if err := s.MarkSubmitted(ctx, subs); err != nil {
		t.Fatal(err)
	}
	ups := []accounts.ReceiptUpdate{
		{Link: "l1", CanonicalID: "a1", Status: "delivered"},
		{Link: "l1", CanonicalID: "a2", Status: "undeliverable", ErrCode: "001"},
		{Link: "l1", CanonicalID: "zz", Status: "delivered"}, // unknown id
		{Link: "l2", CanonicalID: "a3", Status: "delivered"}, // wrong link
		{Link: "l1", CanonicalID: "a1", Status: "delivered"}, // duplicate
	}
	msgs, errs, err := s.ApplyReceipts(ctx, ups)
	if err != nil {
		t.Fatal(err)
	}
	want := []accounts.MessageStatus{accounts.MsgDelivered, accounts.MsgUndeliverable, "", "", accounts.MsgDelivered}
	for i := range ups {
		if want[i] == "" {
			if !errors.Is(errs[i], accounts.ErrNotFound) {
				t.Errorf("update %d: err %v, want ErrNotFound", i, errs[i])
			}
			continue
		}
		if errs[i] != nil || msgs[i] == nil || msgs[i].Status != want[i] {
			t.Errorf("update %d: %v %v, want %s", i, msgs[i], errs[i], want[i])
		}
	}
	m, _ := s.GetMessage(ctx, ids[2])
	if m.Status != accounts.MsgSubmitted {
		t.Errorf("third message %s, want submitted", m.Status)
	}
	// After a script cache flush the batch still applies.
	if err := s.RDB.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	msgs, errs, err = s.ApplyReceipts(ctx, []accounts.ReceiptUpdate{{Link: "l1", CanonicalID: "a3", Status: "expired", At: time.Now()}})
	if err != nil || errs[0] != nil || msgs[0].Status != accounts.MsgExpired {
		t.Fatalf("after flush: %v %v %v", msgs, errs, err)
	}
}

func acceptForReceipts(t *testing.T, s *redisstore.Store, n int) []string {
	t.Helper()
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, accounts.Account{Name: "R", DefaultCountry: "AU"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Credit(ctx, a.ID, 1000, "t", "t"); err != nil {
		t.Fatal(err)
	}
	var msgs []*accounts.Message
	for i := range n {
		msgs = append(msgs, &accounts.Message{To: "6141234567" + string(rune('0'+i)), Text: "x", Parts: 1, Price: 1, Sender: "a@example.com"})
	}
	res, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID, Messages: msgs})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureGroups(ctx); err != nil {
		t.Fatal(err)
	}
	return res.IDs
}

// TestReceiptIndexCarriesOwner: an SMSC-id index entry written with the
// message's account and creation time lets a receipt reach its statistics
// without reading the message; an entry without them (written before they
// were carried) still works. Both count in the account's statistics.
func TestReceiptIndexCarriesOwner(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	ctx := t.Context()
	ids := acceptForReceipts(t, s, 2)
	entries, err := s.Read(ctx, "c1", 10, 0)
	if err != nil || len(entries) != 2 {
		t.Fatalf("read %v %v", entries, err)
	}
	m0, err := s.GetMessage(ctx, entries[0].MessageID)
	if err != nil {
		t.Fatal(err)
	}
	subs := []accounts.Submitted{
		{Entry: entries[0], Link: "l1", Source: "61480000000", SMSCIDs: []string{"o1"}, AccountID: m0.AccountID, CreatedAt: m0.CreatedAt},
		{Entry: entries[1], Link: "l1", Source: "61480000000", SMSCIDs: []string{"o2"}},
	}
	if err := s.MarkSubmitted(ctx, subs); err != nil {
		t.Fatal(err)
	}
	ref, err := s.RDB.Get(ctx, s.Keys.SMSCMessage("l1", "o1")).Result()
	if want := entries[0].MessageID + " " + m0.AccountID + " "; err != nil || len(ref) <= len(want) || ref[:len(want)] != want {
		t.Fatalf("index entry %q %v, want it to start %q", ref, err, want)
	}
	msgs, errs, err := s.ApplyReceipts(ctx, []accounts.ReceiptUpdate{
		{Link: "l1", CanonicalID: "o1", Status: "delivered"},
		{Link: "l1", CanonicalID: "o2", Status: "delivered"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range msgs {
		if errs[i] != nil || msgs[i] == nil || msgs[i].Status != accounts.MsgDelivered {
			t.Errorf("receipt %d: %+v %v", i, msgs[i], errs[i])
		}
	}
	st, err := s.Stats(ctx, m0.AccountID, m0.CreatedAt, m0.CreatedAt, "")
	if err != nil || st.Total.Delivered != 2 {
		t.Fatalf("statistics %+v %v, want 2 delivered (ids %v)", st, err, ids)
	}
}
