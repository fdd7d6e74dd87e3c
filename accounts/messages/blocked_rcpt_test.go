package messages_test

import (
	"errors"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/storetest"
)

// TestRecordRefusedOptOut: a recipient refused at RCPT TO for having opted
// out lands in the account's blocked log, uncharged and without text; an
// id of no shard is refused.
func TestRecordRefusedOptOut(t *testing.T) {
	s := storetest.AcceptTestStore(t, 1)
	acct := storetest.AcceptTestAccount(t, s, 100)
	ctx := t.Context()
	id, err := s.RecordRefusedOptOut(ctx, acct.ID, "alice@example.com", "61412000222")
	if err != nil {
		t.Fatal(err)
	}
	blocked, _, err := s.ListBlocked(ctx, acct.ID, 10, "")
	if err != nil || len(blocked) != 1 {
		t.Fatalf("blocked log %v %v", blocked, err)
	}
	b := blocked[0]
	if b.ID != id || b.To != "61412000222" || b.Sender != "alice@example.com" || b.Status != accounts.MsgBlocked ||
		b.Price != 0 || b.Text != "" || b.Error == "" {
		t.Errorf("record %+v", b)
	}
	if bal := storetest.AcceptTestBalance(t, s, acct.ID); bal != 100 {
		t.Errorf("balance %d, want 100", bal)
	}
	if _, err := s.RecordRefusedOptOut(ctx, "nonsense", "a@x", "61400000000"); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("unknown account: %v, want ErrNotFound", err)
	}
}
