package rules_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/storetest"
)

func TestOptOutList(t *testing.T) {
	s := storetest.AcceptTestStore(t, 2)
	ctx := t.Context()
	root, sub := storetest.AcceptTestTree(t, s, 0, 0, accounts.Account{})
	shared, err := s.CreateAccount(ctx, accounts.Account{Name: "shared", ParentID: root.ID,
		Permissions: accounts.Permissions{Granted: []string{accounts.FlagAccessSMS, accounts.FlagShareContacts}, Enabled: []string{accounts.FlagAccessSMS, accounts.FlagShareContacts}}})
	if err != nil {
		t.Fatal(err)
	}
	grantedOnly, err := s.CreateAccount(ctx, accounts.Account{Name: "granted only", ParentID: root.ID,
		Permissions: accounts.Permissions{Granted: []string{accounts.FlagAccessSMS, accounts.FlagShareContacts}, Enabled: []string{accounts.FlagAccessSMS}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		acct *accounts.Account
		want string
	}{
		{"root: its own", root, root.ID},
		{"sub without share_contacts: its own", sub, sub.ID},
		{"sub sharing contacts: the parent's", shared, root.ID},
		{"granted but not enabled: its own", grantedOnly, grantedOnly.ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.OptOutList(tt.acct); got != tt.want {
				t.Errorf("OptOutList = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestOptOutAddRemove(t *testing.T) {
	s := storetest.AcceptTestStore(t, 1)
	ctx := t.Context()
	a := storetest.AcceptTestAccount(t, s, 0)
	added, err := s.AddOptOut(ctx, a.ID, accounts.OptOut{Number: "61411111111", Reason: `keyword "STOP"`, Via: "reply r0-x"})
	if err != nil || !added {
		t.Fatalf("add: %v %v", added, err)
	}
	// A second STOP keeps the first record.
	added, err = s.AddOptOut(ctx, a.ID, accounts.OptOut{Number: "61411111111", Reason: "again", Via: "reply r0-y"})
	if err != nil || added {
		t.Fatalf("add again: %v %v", added, err)
	}
	o, err := s.GetOptOut(ctx, a.ID, "61411111111")
	if err != nil || o.Via != "reply r0-x" || o.Reason != `keyword "STOP"` || o.At.IsZero() {
		t.Fatalf("get: %+v %v", o, err)
	}
	if _, err := s.AddOptOut(ctx, a.ID, accounts.OptOut{Number: "+6141"}); !errors.Is(err, accounts.ErrInvalid) {
		t.Errorf("bad number: %v, want ErrInvalid", err)
	}
	list, err := s.ListOptOuts(ctx, a.ID)
	if err != nil || len(list) != 1 || list[0].Number != "61411111111" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := s.RemoveOptOut(ctx, a.ID, "61411111111"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveOptOut(ctx, a.ID, "61411111111"); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("remove twice: %v, want ErrNotFound", err)
	}
	if _, err := s.GetOptOut(ctx, a.ID, "61411111111"); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("get after remove: %v, want ErrNotFound", err)
	}
}

func TestAcceptOptOut(t *testing.T) {
	const blockedNum, otherNum = "61411111111", "61422222222"
	tests := []struct {
		name        string
		shared      bool   // the sub shares its parent's list
		listOf      string // "sub" or "root": whose list has blockedNum
		to          []string
		skip        bool
		wantErr     bool // every recipient blocked
		wantBlocked []string
		wantCharged int64
	}{
		{name: "one of two blocked", listOf: "sub", to: []string{blockedNum, otherNum},
			wantBlocked: []string{blockedNum}, wantCharged: 5},
		{name: "all blocked", listOf: "sub", to: []string{blockedNum}, wantErr: true},
		{name: "none blocked", listOf: "sub", to: []string{otherNum}, wantCharged: 5},
		{name: "parent's list ignored without share_contacts", listOf: "root", to: []string{blockedNum}, wantCharged: 5},
		{name: "parent's list governs with share_contacts", shared: true, listOf: "root", to: []string{blockedNum}, wantErr: true},
		{name: "own list ignored with share_contacts", shared: true, listOf: "sub", to: []string{blockedNum}, wantCharged: 5},
		{name: "the stop confirmation skips the check", listOf: "sub", to: []string{blockedNum}, skip: true, wantCharged: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := storetest.AcceptTestStore(t, 1)
			ctx := t.Context()
			sub := accounts.Account{PricePerPart: 5}
			if tt.shared {
				p := accounts.DefaultPermissions()
				p.Granted = append(p.Granted, accounts.FlagShareContacts)
				p.Enabled = append(p.Enabled, accounts.FlagShareContacts)
				sub.Permissions = p
			}
			root, child := storetest.AcceptTestTree(t, s, 0, 100, sub)
			owner := child.ID
			if tt.listOf == "root" {
				owner = root.ID
			}
			if _, err := s.AddOptOut(ctx, owner, accounts.OptOut{Number: blockedNum, Reason: "test"}); err != nil {
				t.Fatal(err)
			}
			msgs := make([]*accounts.Message, len(tt.to))
			for i, to := range tt.to {
				msgs[i] = storetest.AcceptTestMsg(to, 1, 5)
			}
			res, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: child.ID, Messages: msgs, SkipOptOut: tt.skip,
				IdempotencyKey: "k-" + tt.name})
			if tt.wantErr {
				var oe *accounts.OptedOutError
				if !errors.Is(err, accounts.ErrOptedOut) || !errors.As(err, &oe) {
					t.Fatalf("err = %v, want an OptedOutError", err)
				}
				if !strings.Contains(err.Error(), "all recipients have opted out: *******1111") {
					t.Errorf("error text %q does not name the masked number", err)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if !slices.Equal(res.Blocked, tt.wantBlocked) {
				t.Errorf("blocked %v, want %v", res.Blocked, tt.wantBlocked)
			} else if len(res.IDs) != len(tt.to)-len(tt.wantBlocked) {
				t.Errorf("ids %v for %d sent", res.IDs, len(tt.to)-len(tt.wantBlocked))
			}
			if bal := storetest.AcceptTestBalance(t, s, child.ID); bal != 100-tt.wantCharged {
				t.Errorf("balance %d, want %d", bal, 100-tt.wantCharged)
			}
			nBlocked := len(tt.wantBlocked)
			if tt.wantErr {
				nBlocked = len(tt.to)
			}
			queued := int64(len(tt.to) - nBlocked)
			if n := storetest.AcceptTestLen(t, s, s.Keys.Queue(0), true); n != queued {
				t.Errorf("queue has %d entries, want %d", n, queued)
			}
			if n := storetest.LoggedMessages(t, s, 0, child.ID); n != queued {
				t.Errorf("message log has %d, want %d", n, queued)
			}
			blocked, _, err := s.ListBlocked(ctx, child.ID, 0, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(blocked) != nBlocked {
				t.Fatalf("blocked log has %d, want %d", len(blocked), nBlocked)
			}
			for _, m := range blocked {
				if m.Status != accounts.MsgBlocked || m.Price != 0 || m.To != blockedNum || m.Sender != "jo@acme.example" {
					t.Errorf("blocked record %+v", m)
				}
			}
			for _, m := range msgs {
				if m.To == blockedNum && !tt.skip && (tt.wantErr || nBlocked > 0) && (m.Status != accounts.MsgBlocked || m.Price != 0) {
					t.Errorf("request message %s: status %s price %d", m.To, m.Status, m.Price)
				}
			}
		})
	}
}

// TestAcceptOptOutRace: a STOP landing while sends are in flight never
// lets a send through uncharged or a blocked one charged: every message is
// either queued and charged or blocked and free.
func TestAcceptOptOutRace(t *testing.T) {
	s := storetest.AcceptTestStore(t, 1)
	ctx := t.Context()
	_, child := storetest.AcceptTestTree(t, s, 0, 100000, accounts.Account{PricePerPart: 5})
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: child.ID,
				Messages: []*accounts.Message{storetest.AcceptTestMsg("61433333333", 1, 5)}})
			if err != nil && !errors.Is(err, accounts.ErrOptedOut) {
				errs <- fmt.Errorf("send %d: %w", i, err)
			}
		})
		if i == n/2 {
			if _, err := s.AddOptOut(ctx, child.ID, accounts.OptOut{Number: "61433333333"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	queued := storetest.AcceptTestLen(t, s, s.Keys.Queue(0), true)
	blocked, err := s.CountBlocked(ctx, child.ID)
	if err != nil {
		t.Fatal(err)
	}
	if queued+blocked != n || blocked == 0 {
		t.Errorf("queued %d + blocked %d, want %d with some blocked", queued, blocked, n)
	}
	if bal := storetest.AcceptTestBalance(t, s, child.ID); bal != 100000-5*queued {
		t.Errorf("balance %d, want %d (charged for %d queued)", bal, 100000-5*queued, queued)
	}
}

func TestStopRule(t *testing.T) {
	s := storetest.AcceptTestStore(t, 1)
	ctx := t.Context()
	a := storetest.AcceptTestAccount(t, s, 0)
	r, err := s.StopRule(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Keywords, accounts.DefaultStopRule().Keywords) || r.AllowStart || r.Confirmation != accounts.DefaultStopConfirmation {
		t.Fatalf("default rule %+v", r)
	}
	set, err := s.SetStopRule(ctx, a.ID, accounts.StopRule{Keywords: []string{" halt ", "STOP", "stop"},
		StartKeywords: []string{"go"}, AllowStart: true, Confirmation: ""})
	if err != nil {
		t.Fatal(err)
	}
	r, err = s.StopRule(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Keywords, []string{"HALT", "STOP"}) || !slices.Equal(r.StartKeywords, []string{"GO"}) ||
		!r.AllowStart || r.Confirmation != "" || r.StartConfirmation != "" || !slices.Equal(set.Keywords, r.Keywords) {
		t.Fatalf("stored rule %+v", r)
	}

	bad := []struct {
		name string
		r    accounts.StopRule
		want string
	}{
		{"no keywords", accounts.StopRule{}, "keywords: at least one stop keyword is required"},
		{"empty keyword", accounts.StopRule{Keywords: []string{"STOP", " "}}, `keywords[1]: " " is empty`},
		{"comma", accounts.StopRule{Keywords: []string{"A,B"}}, `keywords[0]: "A,B" contains a comma`},
		{"in both lists", accounts.StopRule{Keywords: []string{"STOP"}, StartKeywords: []string{"stop"}}, `start_keywords: "STOP" is also a stop keyword`},
		{"long confirmation", accounts.StopRule{Keywords: []string{"STOP"}, Confirmation: strings.Repeat("x", 481)}, "confirmation: 481 characters, at most 480"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.SetStopRule(ctx, a.ID, tt.r)
			if !errors.Is(err, accounts.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalid with %q", err, tt.want)
			}
		})
	}
}

func TestListBlockedPages(t *testing.T) {
	s := storetest.AcceptTestStore(t, 1)
	ctx := t.Context()
	a := storetest.AcceptTestAccount(t, s, 1000)
	if _, err := s.AddOptOut(ctx, a.ID, accounts.OptOut{Number: "61411111111"}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		_, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID, Messages: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)}})
		if !errors.Is(err, accounts.ErrOptedOut) {
			t.Fatalf("accept: %v", err)
		}
	}
	var all []*accounts.Message
	cursor := ""
	for range 10 {
		page, next, err := s.ListBlocked(ctx, a.ID, 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(all) != 5 {
		t.Errorf("pages gave %d blocked messages, want 5", len(all))
	}
	if _, _, err := s.ListBlocked(ctx, a.ID, 2, "x"); !errors.Is(err, accounts.ErrInvalid) {
		t.Errorf("bad cursor: %v", err)
	}
}

// TestCheckOptOut: one call says whether a number is listed and how big the
// list is; an id of no shard is ErrNotFound.
func TestCheckOptOut(t *testing.T) {
	s := storetest.AcceptTestStore(t, 1)
	ctx := t.Context()
	a := storetest.AcceptTestAccount(t, s, 0)
	if listed, size, err := s.CheckOptOut(ctx, a.ID, "61411111111"); err != nil || listed || size != 0 {
		t.Fatalf("empty list: %v %d %v", listed, size, err)
	}
	if _, err := s.AddOptOut(ctx, a.ID, accounts.OptOut{Number: "61411111111"}); err != nil {
		t.Fatal(err)
	}
	if listed, size, err := s.CheckOptOut(ctx, a.ID, "61411111111"); err != nil || !listed || size != 1 {
		t.Fatalf("listed number: %v %d %v", listed, size, err)
	}
	if listed, size, err := s.CheckOptOut(ctx, a.ID, "61422222222"); err != nil || listed || size != 1 {
		t.Fatalf("other number: %v %d %v", listed, size, err)
	}
	if _, _, err := s.CheckOptOut(ctx, "nonsense", "61411111111"); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("unknown list: %v, want ErrNotFound", err)
	}
}
