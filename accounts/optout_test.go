package accounts

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestOptOutList(t *testing.T) {
	s := acceptTestStore(t, 2)
	ctx := t.Context()
	root, sub := acceptTestTree(t, s, 0, 0, Account{})
	shared, err := s.CreateAccount(ctx, Account{Name: "shared", ParentID: root.ID,
		Permissions: Permissions{Granted: []string{FlagAccessSMS, FlagShareContacts}, Enabled: []string{FlagAccessSMS, FlagShareContacts}}})
	if err != nil {
		t.Fatal(err)
	}
	grantedOnly, err := s.CreateAccount(ctx, Account{Name: "granted only", ParentID: root.ID,
		Permissions: Permissions{Granted: []string{FlagAccessSMS, FlagShareContacts}, Enabled: []string{FlagAccessSMS}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		acct *Account
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
	s := acceptTestStore(t, 1)
	ctx := t.Context()
	a := acceptTestAccount(t, s, 0)
	added, err := s.AddOptOut(ctx, a.ID, OptOut{Number: "61411111111", Reason: `keyword "STOP"`, Via: "reply r0-x"})
	if err != nil || !added {
		t.Fatalf("add: %v %v", added, err)
	}
	// A second STOP keeps the first record.
	added, err = s.AddOptOut(ctx, a.ID, OptOut{Number: "61411111111", Reason: "again", Via: "reply r0-y"})
	if err != nil || added {
		t.Fatalf("add again: %v %v", added, err)
	}
	o, err := s.GetOptOut(ctx, a.ID, "61411111111")
	if err != nil || o.Via != "reply r0-x" || o.Reason != `keyword "STOP"` || o.At.IsZero() {
		t.Fatalf("get: %+v %v", o, err)
	}
	if _, err := s.AddOptOut(ctx, a.ID, OptOut{Number: "+6141"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad number: %v, want ErrInvalid", err)
	}
	list, err := s.ListOptOuts(ctx, a.ID)
	if err != nil || len(list) != 1 || list[0].Number != "61411111111" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := s.RemoveOptOut(ctx, a.ID, "61411111111"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveOptOut(ctx, a.ID, "61411111111"); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove twice: %v, want ErrNotFound", err)
	}
	if _, err := s.GetOptOut(ctx, a.ID, "61411111111"); !errors.Is(err, ErrNotFound) {
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
			s := acceptTestStore(t, 1)
			ctx := t.Context()
			sub := Account{PricePerPart: 5}
			if tt.shared {
				p := DefaultPermissions()
				p.Granted = append(p.Granted, FlagShareContacts)
				p.Enabled = append(p.Enabled, FlagShareContacts)
				sub.Permissions = p
			}
			root, child := acceptTestTree(t, s, 0, 100, sub)
			owner := child.ID
			if tt.listOf == "root" {
				owner = root.ID
			}
			if _, err := s.AddOptOut(ctx, owner, OptOut{Number: blockedNum, Reason: "test"}); err != nil {
				t.Fatal(err)
			}
			msgs := make([]*Message, len(tt.to))
			for i, to := range tt.to {
				msgs[i] = acceptTestMsg(to, 1, 5)
			}
			res, err := s.Accept(ctx, AcceptRequest{AccountID: child.ID, Messages: msgs, SkipOptOut: tt.skip,
				IdempotencyKey: "k-" + tt.name})
			if tt.wantErr {
				var oe *OptedOutError
				if !errors.Is(err, ErrOptedOut) || !errors.As(err, &oe) {
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
			if bal := acceptTestBalance(t, s, child.ID); bal != 100-tt.wantCharged {
				t.Errorf("balance %d, want %d", bal, 100-tt.wantCharged)
			}
			nBlocked := len(tt.wantBlocked)
			if tt.wantErr {
				nBlocked = len(tt.to)
			}
			queued := int64(len(tt.to) - nBlocked)
			if n := acceptTestLen(t, s, s.skey(0, "queue"), true); n != queued {
				t.Errorf("queue has %d entries, want %d", n, queued)
			}
			if n := acceptTestLen(t, s, s.skey(0, "msgs", child.ID), false); n != queued {
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
				if m.Status != MsgBlocked || m.Price != 0 || m.To != blockedNum || m.Sender != "jo@acme.example" {
					t.Errorf("blocked record %+v", m)
				}
			}
			for _, m := range msgs {
				if m.To == blockedNum && !tt.skip && (tt.wantErr || nBlocked > 0) && (m.Status != MsgBlocked || m.Price != 0) {
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
	s := acceptTestStore(t, 1)
	ctx := t.Context()
	_, child := acceptTestTree(t, s, 0, 100000, Account{PricePerPart: 5})
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := s.Accept(ctx, AcceptRequest{AccountID: child.ID,
				Messages: []*Message{acceptTestMsg("61433333333", 1, 5)}})
			if err != nil && !errors.Is(err, ErrOptedOut) {
				errs <- fmt.Errorf("send %d: %w", i, err)
			}
		})
		if i == n/2 {
			if _, err := s.AddOptOut(ctx, child.ID, OptOut{Number: "61433333333"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	queued := acceptTestLen(t, s, s.skey(0, "queue"), true)
	blocked, err := s.CountBlocked(ctx, child.ID)
	if err != nil {
		t.Fatal(err)
	}
	if queued+blocked != n || blocked == 0 {
		t.Errorf("queued %d + blocked %d, want %d with some blocked", queued, blocked, n)
	}
	if bal := acceptTestBalance(t, s, child.ID); bal != 100000-5*queued {
		t.Errorf("balance %d, want %d (charged for %d queued)", bal, 100000-5*queued, queued)
	}
}

func TestStopRule(t *testing.T) {
	s := acceptTestStore(t, 1)
	ctx := t.Context()
	a := acceptTestAccount(t, s, 0)
	r, err := s.StopRule(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Keywords, DefaultStopRule().Keywords) || r.AllowStart || r.Confirmation != DefaultStopConfirmation {
		t.Fatalf("default rule %+v", r)
	}
	set, err := s.SetStopRule(ctx, a.ID, StopRule{Keywords: []string{" halt ", "STOP", "stop"},
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
		r    StopRule
		want string
	}{
		{"no keywords", StopRule{}, "keywords: at least one stop keyword is required"},
		{"empty keyword", StopRule{Keywords: []string{"STOP", " "}}, `keywords[1]: " " is empty`},
		{"comma", StopRule{Keywords: []string{"A,B"}}, `keywords[0]: "A,B" contains a comma`},
		{"in both lists", StopRule{Keywords: []string{"STOP"}, StartKeywords: []string{"stop"}}, `start_keywords: "STOP" is also a stop keyword`},
		{"long confirmation", StopRule{Keywords: []string{"STOP"}, Confirmation: strings.Repeat("x", 481)}, "confirmation: 481 characters, at most 480"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.SetStopRule(ctx, a.ID, tt.r)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalid with %q", err, tt.want)
			}
		})
	}
}

func TestStopRuleMatch(t *testing.T) {
	r := DefaultStopRule()
	tests := []struct {
		text, kind, keyword string
	}{
		{"STOP", StopStop, "STOP"},
		{"  stop  ", StopStop, "STOP"},
		{"Stop.", StopStop, "STOP"},
		{"stop please", StopStop, "STOP"},
		{"Unsubscribe me", StopStop, "UNSUBSCRIBE"},
		{"start", StopStart, "START"},
		{"YES!", StopStart, "YES"},
		{"please stop", StopNone, ""},
		{"stopping by later", StopNone, ""},
		{"", StopNone, ""},
		{"see you at 3", StopNone, ""},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			kind, kw := r.Match(tt.text)
			if kind != tt.kind || kw != tt.keyword {
				t.Errorf("Match(%q) = %q %q, want %q %q", tt.text, kind, kw, tt.kind, tt.keyword)
			}
		})
	}
	multi := StopRule{Keywords: []string{"STOP ALL"}}
	if kind, _ := multi.Match("stop   all"); kind != StopStop {
		t.Errorf("a multi-word keyword does not match the whole text")
	}
}

func TestListBlockedPages(t *testing.T) {
	s := acceptTestStore(t, 1)
	ctx := t.Context()
	a := acceptTestAccount(t, s, 1000)
	if _, err := s.AddOptOut(ctx, a.ID, OptOut{Number: "61411111111"}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		_, err := s.Accept(ctx, AcceptRequest{AccountID: a.ID, Messages: []*Message{acceptTestMsg("61411111111", 1, 5)}})
		if !errors.Is(err, ErrOptedOut) {
			t.Fatalf("accept: %v", err)
		}
	}
	var all []*Message
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
	if _, _, err := s.ListBlocked(ctx, a.ID, 2, "x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad cursor: %v", err)
	}
}
