package router

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/internal/redistest"
)

const blockedPhone = "61412345678"

// recordingNotifier records the opted-out recipients the pipeline reports.
type recordingNotifier struct {
	mu      sync.Mutex
	blocked [][]string
}

func (n *recordingNotifier) BlockedNotice(_ context.Context, _ *Mail, blocked []string) {
	n.mu.Lock()
	n.blocked = append(n.blocked, blocked)
	n.mu.Unlock()
}

// blockedWorld is a real store with a root and a sub-account (AU, 5 a part,
// balance 100) and a pipeline over it that reports blocked recipients.
type blockedWorld struct {
	st      *redisstore.Store
	sub     *accounts.Account
	pipe    *Pipeline
	notices *recordingNotifier
}

func newBlockedWorld(t *testing.T) *blockedWorld {
	t.Helper()
	ctx := t.Context()
	st := redisstore.New(redistest.Start(t), redisstore.Options{PasswordCost: 4})
	root, err := st.CreateAccount(ctx, accounts.Account{Name: "Root", DefaultCountry: "AU", Currency: "AUD"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Credit(ctx, root.ID, 10000, "seed", "test"); err != nil {
		t.Fatal(err)
	}
	sub, err := st.CreateAccount(ctx, accounts.Account{Name: "Sales", ParentID: root.ID, PricePerPart: 5,
		Permissions: accounts.DefaultPermissions()})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Transfer(ctx, root.ID, sub.ID, 100, "seed", "test"); err != nil {
		t.Fatal(err)
	}
	w := &blockedWorld{st: st, sub: sub, notices: &recordingNotifier{}}
	w.pipe = NewPipeline(PipelineOptions{Store: st, DefaultSource: "61480000000", Notifier: w.notices})
	return w
}

func TestPipelineBlocked(t *testing.T) {
	ctx := t.Context()
	w := newBlockedWorld(t)
	if _, err := w.st.AddOptOut(ctx, w.sub.ID, accounts.OptOut{Number: blockedPhone}); err != nil {
		t.Fatal(err)
	}
	sender := &accounts.Sender{Account: w.sub, Address: "alice@example.com"}

	_, err := w.pipe.Accept(ctx, &Mail{Sender: sender, Recipients: []string{blockedPhone}, MailID: "<a@x>", Text: "hi"})
	var oe *accounts.OptedOutError
	if !errors.Is(err, accounts.ErrOptedOut) || !errors.As(err, &oe) || !slices.Equal(oe.Numbers, []string{blockedPhone}) {
		t.Fatalf("all blocked: %v", err)
	}
	if len(w.notices.blocked) != 0 {
		t.Errorf("a refused mail also got a notice: %v", w.notices.blocked)
	}

	ids, err := w.pipe.Accept(ctx, &Mail{Sender: sender, Recipients: []string{blockedPhone, "61499999999"}, MailID: "<b@x>", Text: "hi"})
	if err != nil || len(ids) != 1 {
		t.Fatalf("partly blocked: %v %v", ids, err)
	}
	if m, _ := w.st.GetMessage(ctx, ids[0]); m == nil || m.To != "61499999999" {
		t.Errorf("the id returned is not the other recipient's: %+v", m)
	}
	if len(w.notices.blocked) != 1 || !slices.Equal(w.notices.blocked[0], []string{blockedPhone}) {
		t.Errorf("notices %v", w.notices.blocked)
	}
	if a, _ := w.st.GetAccount(ctx, w.sub.ID); a.Balance != 95 {
		t.Errorf("balance %d, want 95 (one recipient charged)", a.Balance)
	}
}
