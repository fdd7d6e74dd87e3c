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
		{Link: "l1", CanonicalID: "a1", Status: "delivered"}, // duplicate: applied, nothing to announce
	}
	msgs, errs, err := s.ApplyReceipts(ctx, ups)
	if err != nil {
		t.Fatal(err)
	}
	want := []accounts.MessageStatus{accounts.MsgDelivered, accounts.MsgUndeliverable, "", "", "-"}
	for i := range ups {
		switch want[i] {
		case "":
			if !errors.Is(errs[i], accounts.ErrNotFound) {
				t.Errorf("update %d: err %v, want ErrNotFound", i, errs[i])
			}
		case "-":
			if errs[i] != nil || msgs[i] != nil {
				t.Errorf("update %d: %v %v, want applied without a message", i, msgs[i], errs[i])
			}
		default:
			if errs[i] != nil || msgs[i] == nil || msgs[i].Status != want[i] {
				t.Errorf("update %d: %v %v, want %s", i, msgs[i], errs[i], want[i])
			}
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

// TestApplyReceiptsAcrossShards: one batch of receipts for messages of
// several shards is applied shard by shard (one script call each), and a
// receipt whose id is indexed in another form finds its message by Forms.
func TestApplyReceiptsAcrossShards(t *testing.T) {
	s := storetest.New(t, redisstore.Options{Shards: 4})
	ctx := t.Context()
	if err := s.EnsureGroups(ctx); err != nil {
		t.Fatal(err)
	}
	shards := map[int]bool{}
	var subs []accounts.Submitted
	for i := 0; len(shards) < 3 && i < 200; i++ {
		a, err := s.CreateAccount(ctx, accounts.Account{Name: "S", DefaultCountry: "AU"})
		if err != nil {
			t.Fatal(err)
		}
		sh, _ := s.Keys.Shard(a.ID)
		if shards[sh] {
			continue
		}
		shards[sh] = true
		if _, err := s.Credit(ctx, a.ID, 100, "t", "t"); err != nil {
			t.Fatal(err)
		}
		m := &accounts.Message{To: "61412345670", Text: "x", Parts: 1, Price: 1, Sender: "a@example.com"}
		if _, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID, Messages: []*accounts.Message{m}}); err != nil {
			t.Fatal(err)
		}
	}
	if len(shards) < 3 {
		t.Fatalf("accounts landed on %d shards only", len(shards))
	}
	entries, err := s.Read(ctx, "c1", 10, 0)
	if err != nil || len(entries) != 3 {
		t.Fatalf("read %v %v", entries, err)
	}
	// Submit responses in hex; receipts in decimal.
	hex := []string{"1f", "2f", "3f"}
	for i, e := range entries {
		subs = append(subs, accounts.Submitted{Entry: e, Link: "l1", Source: "61480000000", SMSCIDs: []string{hex[i]}})
	}
	if err := s.MarkSubmitted(ctx, subs); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if m, err := s.GetMessage(ctx, e.MessageID); err != nil || m.Status != accounts.MsgSubmitted {
			t.Fatalf("message %s after submit: %+v %v", e.MessageID, m, err)
		}
	}
	ups := []accounts.ReceiptUpdate{
		{Link: "l1", CanonicalID: "31", Forms: []string{"49", "1f"}, Status: "delivered"},
		{Link: "l1", CanonicalID: "31", Forms: []string{"49"}, Status: "delivered"}, // no form indexed
		{Link: "l1", CanonicalID: "47", Forms: []string{"71", "2f"}, Status: "delivered"},
		{Link: "l1", CanonicalID: "63", Forms: []string{"99", "3f"}, Status: "expired"},
	}
	msgs, errs, err := s.ApplyReceipts(ctx, ups)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(errs[1], accounts.ErrNotFound) {
		t.Errorf("receipt without its indexed form: %v, want ErrNotFound", errs[1])
	}
	for i, want := range []accounts.MessageStatus{accounts.MsgDelivered, "", accounts.MsgDelivered, accounts.MsgExpired} {
		if want == "" {
			continue
		}
		e := entries[max(i-1, 0)]
		if errs[i] != nil || msgs[i] == nil || msgs[i].Status != want || msgs[i].ID != e.MessageID {
			t.Errorf("receipt %d: %+v %v, want %s of %s", i, msgs[i], errs[i], want, e.MessageID)
		}
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

// TestApplyReceiptsRef: a receipt that carries its message (Ref, from a
// submit this instance recorded) is applied without the SMSC-id index (here
// deleted); one whose Ref names no message of a shard reads the index as
// any; without a Ref and without the index, the message is not found.
func TestApplyReceiptsRef(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	ctx := t.Context()
	ids := acceptForReceipts(t, s, 3)
	entries, err := s.Read(ctx, "c1", 10, 0)
	if err != nil || len(entries) != 3 {
		t.Fatalf("read %v %v", entries, err)
	}
	msgs, err := s.LoadMessages(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	var subs []accounts.Submitted
	for i, e := range entries {
		subs = append(subs, accounts.Submitted{Entry: e, Link: "l1", Source: "61480000000",
			SMSCIDs: []string{[]string{"r1", "r2", "r3"}[i]}, AccountID: msgs[i].AccountID, CreatedAt: msgs[i].CreatedAt})
	}
	if err := s.MarkSubmitted(ctx, subs); err != nil {
		t.Fatal(err)
	}
	// The index of r1 and r3 gone: only a Ref can find them.
	if err := s.RDB.Del(ctx, s.Keys.SMSCMessage("l1", "r1"), s.Keys.SMSCMessage("l1", "r3")).Err(); err != nil {
		t.Fatal(err)
	}
	ref := func(i int) *accounts.MessageRef {
		return &accounts.MessageRef{MessageID: ids[i], AccountID: msgs[i].AccountID, CreatedAt: msgs[i].CreatedAt}
	}
	ups := []accounts.ReceiptUpdate{
		{Link: "l1", CanonicalID: "r1", Status: "delivered", Ref: ref(0)},
		{Link: "l1", CanonicalID: "r2", Status: "delivered", Ref: &accounts.MessageRef{MessageID: "nonsense", AccountID: "a", CreatedAt: time.Now()}},
		{Link: "l1", CanonicalID: "r3", Status: "delivered"},
	}
	got, errs, err := s.ApplyReceipts(ctx, ups)
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || got[0] == nil || got[0].ID != ids[0] || got[0].Status != accounts.MsgDelivered {
		t.Errorf("with its Ref: %+v, %v; want %s delivered", got[0], errs[0], ids[0])
	}
	if errs[1] != nil || got[1] == nil || got[1].ID != ids[1] {
		t.Errorf("with a Ref of no message: %+v, %v; want %s found by the index", got[1], errs[1], ids[1])
	}
	if !errors.Is(errs[2], accounts.ErrNotFound) {
		t.Errorf("without Ref nor index: %v, want ErrNotFound", errs[2])
	}
}
