package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/smtp/exterr"
)

// txnFakeStore is the store side of a transaction with an error knob per
// stage: OptOutErr at RCPT TO, AcceptErr at the commit.
type txnFakeStore struct {
	optedOut  map[string]bool
	OptOutErr error
	AcceptErr error
	accepted  []string // recipients of the last accept
	recorded  []string // numbers written to the blocked log at RCPT
	gets      int      // opt-out lookups
}

func (f *txnFakeStore) Accept(_ context.Context, req accounts.AcceptRequest) (*accounts.AcceptResult, error) {
	if f.AcceptErr != nil {
		return nil, f.AcceptErr
	}
	f.accepted = nil
	ids := make([]string, len(req.Messages))
	for i, m := range req.Messages {
		f.accepted = append(f.accepted, m.To)
		ids[i] = fmt.Sprintf("m0-%d", i)
	}
	return &accounts.AcceptResult{IDs: ids}, nil
}

func (f *txnFakeStore) OptOutList(a *accounts.Account) string { return a.ID }

func (f *txnFakeStore) CheckOptOut(_ context.Context, _, number string) (bool, int64, error) {
	f.gets++
	if f.OptOutErr != nil {
		return false, 0, f.OptOutErr
	}
	return f.optedOut[number], int64(len(f.optedOut)), nil
}

func (f *txnFakeStore) RecordRefusedOptOut(_ context.Context, _, _, to string) (string, error) {
	f.recorded = append(f.recorded, to)
	return "m0-b", nil
}

// wantRefusal checks that err is an *exterr.Error with the code, enhanced
// code and reason.
func wantRefusal(t *testing.T, err error, code int, enh [3]int, reason string) {
	t.Helper()
	xe, ok := exterr.As(err)
	if !ok {
		t.Fatalf("error %v is not an *exterr.Error", err)
	}
	if xe.Code != code || xe.Enhanced != enh || xe.Reason != reason {
		t.Fatalf("refusal %d %v %q, want %d %v %q", xe.Code, xe.Enhanced, xe.Reason, code, enh, reason)
	}
}

func TestTransaction(t *testing.T) {
	ctx := t.Context()
	au := func(flags ...string) *accounts.Account {
		return &accounts.Account{ID: "a0-sub", ParentID: "a0-root", Status: accounts.StatusActive, DefaultCountry: "AU",
			Permissions: accounts.Permissions{Granted: flags, Enabled: flags}}
	}
	routes := NewRoutes([]Route{{Prefixes: []string{"61"}}, {Prefixes: []string{"44"}}})
	mail := func() *Mail { return &Mail{MailID: "x@y", Text: "hello"} }

	t.Run("no access_sms refuses at MAIL", func(t *testing.T) {
		p := NewPipeline(PipelineOptions{Store: &txnFakeStore{}})
		_, err := p.Start(ctx, &accounts.Sender{Account: au(), Address: "a@x"})
		wantRefusal(t, err, 550, [3]int{5, 7, 1}, "not_permitted")
	})
	t.Run("deactivated refuses at MAIL", func(t *testing.T) {
		p := NewPipeline(PipelineOptions{Store: &txnFakeStore{}})
		a := au(accounts.FlagAccessSMS)
		a.Status = accounts.StatusDeactivated
		if _, err := p.Start(ctx, &accounts.Sender{Account: a}); !errors.Is(err, accounts.ErrDeactivated) {
			t.Fatalf("error %v, want ErrDeactivated", err)
		}
	})
	t.Run("each recipient on its own", func(t *testing.T) {
		st := &txnFakeStore{optedOut: map[string]bool{"61400000002": true}}
		p := NewPipeline(PipelineOptions{Store: st, Routes: NewRoutes([]Route{{Prefixes: []string{"61"}}})})
		tx, err := p.Start(ctx, &accounts.Sender{Account: au(accounts.FlagAccessSMS, accounts.FlagSendBulk), Address: "a@x"})
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.AddRcpt(ctx, "61400000001"); err != nil {
			t.Fatal(err)
		}
		wantRefusal(t, tx.AddRcpt(ctx, "61400000002"), 550, [3]int{5, 7, 1}, "opted_out")
		wantRefusal(t, tx.AddRcpt(ctx, "447911123456"), 550, [3]int{5, 7, 1}, "not_permitted") // global_sending
		if err := tx.AddRcpt(ctx, "61400000001"); err != nil {                                 // a duplicate
			t.Fatal(err)
		}
		if err := tx.AddRcpt(ctx, "61400000003"); err != nil {
			t.Fatal(err)
		}
		ids, err := tx.Commit(ctx, mail())
		if err != nil || len(ids) != 2 {
			t.Fatalf("commit: %v %v", ids, err)
		}
		if want := []string{"61400000001", "61400000003"}; !slices.Equal(st.accepted, want) {
			t.Errorf("accepted %v, want %v", st.accepted, want)
		}
		if !slices.Equal(st.recorded, []string{"61400000002"}) {
			t.Errorf("blocked log got %v", st.recorded)
		}
	})
	t.Run("send_bulk bounds the second recipient", func(t *testing.T) {
		p := NewPipeline(PipelineOptions{Store: &txnFakeStore{}})
		tx, _ := p.Start(ctx, &accounts.Sender{Account: au(accounts.FlagAccessSMS)})
		if err := tx.AddRcpt(ctx, "61400000001"); err != nil {
			t.Fatal(err)
		}
		wantRefusal(t, tx.AddRcpt(ctx, "61400000002"), 550, [3]int{5, 7, 1}, "not_permitted")
	})
	t.Run("no route at RCPT", func(t *testing.T) {
		p := NewPipeline(PipelineOptions{Store: &txnFakeStore{}, Routes: NewRoutes([]Route{{Prefixes: []string{"61"}}})})
		tx, _ := p.Start(ctx, &accounts.Sender{Account: au(accounts.FlagAccessSMS, accounts.FlagGlobalSending)})
		wantRefusal(t, tx.AddRcpt(ctx, "447911123456"), 550, [3]int{5, 4, 4}, "no_route")
		if len(tx.Recipients()) != 0 {
			t.Errorf("refused recipient kept: %v", tx.Recipients())
		}
	})
	t.Run("opt-out lookup failure is not a refusal of the number", func(t *testing.T) {
		st := &txnFakeStore{OptOutErr: errors.New("READONLY")}
		p := NewPipeline(PipelineOptions{Store: st, Routes: routes})
		tx, _ := p.Start(ctx, &accounts.Sender{Account: au(accounts.FlagAccessSMS)})
		err := tx.AddRcpt(ctx, "61400000001")
		if _, typed := exterr.As(err); err == nil || typed {
			t.Fatalf("error %v, want an untyped (internal, temporary) error", err)
		}
	})
	t.Run("group all or none", func(t *testing.T) {
		p := NewPipeline(PipelineOptions{Store: &txnFakeStore{}, Routes: routes})
		tx, _ := p.Start(ctx, &accounts.Sender{Account: au(accounts.FlagAccessSMS, accounts.FlagSendBulk)})
		_, err := tx.AddGroup(ctx, []string{"61400000001", "447911123456"})
		wantRefusal(t, err, 550, [3]int{5, 7, 1}, "not_permitted")
		if len(tx.Recipients()) != 0 {
			t.Fatalf("a refused group left recipients: %v", tx.Recipients())
		}
		fresh, err := tx.AddGroup(ctx, []string{"61400000001", "61400000002", "61400000001"})
		if err != nil || fresh != 2 {
			t.Fatalf("group: %d %v", fresh, err)
		}
		// A large group (past the few recipients searched one by one), its
		// numbers again, and one of them as a recipient of its own: each once.
		var big []string
		for i := range 30 {
			big = append(big, "614100000"+strconv.Itoa(10+i))
		}
		fresh, err = tx.AddGroup(ctx, append(big, big[:5]...))
		if err != nil || fresh != 30 {
			t.Fatalf("large group: %d new, %v; want 30", fresh, err)
		}
		if fresh, err = tx.AddGroup(ctx, big); err != nil || fresh != 0 {
			t.Fatalf("the large group again: %d new, %v; want 0", fresh, err)
		}
		if err := tx.AddRcpt(ctx, big[29]); err != nil || len(tx.Recipients()) != 32 || !tx.Has(big[29]) || !tx.Has("61400000002") {
			t.Fatalf("recipients %d (%v), want 32, each once", len(tx.Recipients()), err)
		}
	})
	t.Run("an empty opt-out list costs no lookup until the Stop rule adds to it", func(t *testing.T) {
		st := &txnFakeStore{optedOut: map[string]bool{}}
		p := NewPipeline(PipelineOptions{Store: st})
		sender := &accounts.Sender{Account: au(accounts.FlagAccessSMS), Address: "a@x"}
		for i := range 3 {
			tx, _ := p.Start(ctx, sender)
			if err := tx.AddRcpt(ctx, "6140000000"+strconv.Itoa(i)); err != nil {
				t.Fatal(err)
			}
		}
		if st.gets != 1 {
			t.Fatalf("%d opt-out lookups for 3 recipients of an empty list, want 1", st.gets)
		}
		// STOP: the number is listed and the Stop rule sends its
		// confirmation (SkipOptOut); the next RCPT TO must see the list.
		st.optedOut["61400000009"] = true
		if _, err := p.Accept(ctx, &Mail{Sender: sender, Recipients: []string{"61400000009"}, Text: "stopped", SkipOptOut: true}); err != nil {
			t.Fatal(err)
		}
		tx, _ := p.Start(ctx, sender)
		wantRefusal(t, tx.AddRcpt(ctx, "61400000009"), 550, [3]int{5, 7, 1}, "opted_out")
	})
	t.Run("commit without recipients", func(t *testing.T) {
		p := NewPipeline(PipelineOptions{Store: &txnFakeStore{}})
		tx, _ := p.Start(ctx, &accounts.Sender{Account: au(accounts.FlagAccessSMS)})
		_, err := tx.Commit(ctx, mail())
		wantRefusal(t, err, 554, [3]int{5, 5, 1}, "protocol")
	})
	t.Run("account deleted while cached is permanent", func(t *testing.T) {
		st := &txnFakeStore{AcceptErr: fmt.Errorf("account a0-sub: %w", accounts.ErrNotFound)}
		p := NewPipeline(PipelineOptions{Store: st})
		tx, _ := p.Start(ctx, &accounts.Sender{Account: au(accounts.FlagAccessSMS)})
		if err := tx.AddRcpt(ctx, "61400000001"); err != nil {
			t.Fatal(err)
		}
		_, err := tx.Commit(ctx, mail())
		wantRefusal(t, err, 550, [3]int{5, 7, 1}, "not_found")
	})
	t.Run("text refusals are typed", func(t *testing.T) {
		p := NewPipeline(PipelineOptions{Store: &txnFakeStore{}})
		tx, _ := p.Start(ctx, &accounts.Sender{Account: au(accounts.FlagAccessSMS)})
		if err := tx.AddRcpt(ctx, "61400000001"); err != nil {
			t.Fatal(err)
		}
		_, err := tx.Commit(ctx, &Mail{Text: "  "})
		wantRefusal(t, err, 554, [3]int{5, 6, 0}, "empty")
		if !errors.Is(err, ErrEmpty) {
			t.Error("the refusal does not match ErrEmpty")
		}
	})
}

// TestIdempotencyKey: a mail retried with the same sender, Message-ID,
// recipients and content has the same key; a different text under the same
// Message-ID does not; an API key names the request whatever its body.
func TestIdempotencyKey(t *testing.T) {
	sender := &accounts.Sender{Address: "a@x"}
	base := Mail{Sender: sender, MailID: "<m1@x>", Recipients: []string{"61400000001"}, Subject: "s", Text: "hello"}
	same, other, api1, api2 := base, base, base, base
	other.Text = "a new alert"
	api1.IdempotencyKey, api2.IdempotencyKey, api2.Text = "k1", "k1", "changed"
	if idempotencyKey(&base) != idempotencyKey(&same) {
		t.Error("a retried identical mail has another key")
	}
	if idempotencyKey(&base) == idempotencyKey(&other) {
		t.Error("a different text under the same Message-ID has the same key")
	}
	if idempotencyKey(&api1) != idempotencyKey(&api2) {
		t.Error("an API Idempotency-Key depends on the body")
	}
}
