package rules_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

func autoTestAccount(t *testing.T) (*redisstore.Store, *accounts.Account, *storetest.UserClock) {
	t.Helper()
	clock := &storetest.UserClock{T: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	s := storetest.New(t, redisstore.Options{Now: clock.Now})
	root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root", DefaultCountry: "AU"})
	sub := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sales", ParentID: root.ID})
	return s, sub, clock
}

func TestAutomationValidation(t *testing.T) {
	s, sub, _ := autoTestAccount(t)
	ctx := storetest.AcctTestCtx(t)
	// 61480000123 is the account's dedicated number (accounts/tenancy's index).
	if err := s.RDB.Set(ctx, s.Keys.Number("61480000123"), sub.ID, 0).Err(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   accounts.Automation
		want string // "" for success
	}{
		{"auto reply", accounts.Automation{Name: "Info", Kind: accounts.AutoReply, Keyword: "info", Text: "Thanks"}, ""},
		{"any keyword", accounts.Automation{Name: "Any", Kind: accounts.AutoReply, Keyword: "*", Text: "Thanks"}, ""},
		{"no name", accounts.Automation{Kind: accounts.AutoReply, Keyword: "x", Text: "t"}, "name: required"},
		{"long name", accounts.Automation{Name: strings.Repeat("n", 81), Kind: accounts.AutoReply, Keyword: "x", Text: "t"}, "name: 81 characters, at most 80"},
		{"bad kind", accounts.Automation{Name: "n", Kind: "sms"}, `kind: "sms" is not one of`},
		{"no keyword", accounts.Automation{Name: "n", Kind: accounts.AutoReply, Text: "t"}, "keyword: required for auto_reply"},
		{"two words", accounts.Automation{Name: "n", Kind: accounts.AutoReply, Keyword: "in fo", Text: "t"}, `keyword: "IN FO" must be one word`},
		{"keyword on notice", accounts.Automation{Name: "n", Kind: accounts.AutoReceiptNotice, Keyword: "x"}, "keyword: not used by receipt_notice"},
		{"no text", accounts.Automation{Name: "n", Kind: accounts.AutoReply, Keyword: "x"}, "text: required for auto_reply"},
		{"long text", accounts.Automation{Name: "n", Kind: accounts.AutoReply, Keyword: "x", Text: strings.Repeat("t", 481)}, "text: 481 characters, at most 480"},
		{"text on forward", accounts.Automation{Name: "n", Kind: accounts.AutoForward, Keyword: "x", Text: "t", ForwardTo: []string{"a@example.com"}}, "text: not used by forward"},
		{"forward nowhere", accounts.Automation{Name: "n", Kind: accounts.AutoForward, Keyword: "x"}, "forward_to: required"},
		{"forward bad", accounts.Automation{Name: "n", Kind: accounts.AutoForward, Keyword: "y", ForwardTo: []string{"a@example.com", "bob"}}, `forward_to[1]: "bob" is neither`},
		{"forward bad mail", accounts.Automation{Name: "n", Kind: accounts.AutoForward, Keyword: "y", ForwardTo: []string{"a@@x"}}, `forward_to[0]: "a@@x" is not an email address`},
		{"forward twice", accounts.Automation{Name: "n", Kind: accounts.AutoForward, Keyword: "y", ForwardTo: []string{"0412345678", "+61412345678"}}, "forward_to[1]: 61412345678 is listed twice"},
		{"forward own number", accounts.Automation{Name: "n", Kind: accounts.AutoForward, Keyword: "y", ForwardTo: []string{"+61480000123"}}, "forward_to[0]: 61480000123 is a dedicated number of this account"},
		{"forward", accounts.Automation{Name: "n", Kind: accounts.AutoForward, Keyword: "order", ForwardTo: []string{"Ops@Example.com", "0412345678"}}, ""},
		{"notify bad", accounts.Automation{Name: "n", Kind: accounts.AutoReceiptNotice, Notify: "some"}, `notify: "some" is not one of all, failed`},
		{"notify on reply", accounts.Automation{Name: "n", Kind: accounts.AutoReply, Keyword: "z", Text: "t", Notify: "all"}, "notify: not used by auto_reply"},
		{"notice", accounts.Automation{Name: "n", Kind: accounts.AutoReceiptNotice, Notify: accounts.NotifyFailed}, ""},
		{"second notice", accounts.Automation{Name: "n", Kind: accounts.AutoReceiptNotice}, "kind: the account already has receipt_notice rule"},
		{"same keyword", accounts.Automation{Name: "n", Kind: accounts.AutoReply, Keyword: "INFO", Text: "t"}, "keyword: INFO is already used by auto_reply rule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.CreateAutomation(ctx, sub.ID, tc.in)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("create: %v", err)
			case tc.want != "" && (!errors.Is(err, accounts.ErrInvalid) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("create: %v, want ErrInvalid with %q", err, tc.want)
			case tc.want == "" && (got.ID == "" || got.AccountID != sub.ID || got.CreatedAt.IsZero()):
				t.Fatalf("created %+v", got)
			}
		})
	}
	rules, err := s.ListAutomations(ctx, sub.ID)
	if err != nil || len(rules) != 4 {
		t.Fatalf("list: %d rules, %v", len(rules), err)
	}
	byKind := map[string]accounts.Automation{}
	for _, r := range rules {
		byKind[r.Kind] = r
	}
	if fwd := byKind[accounts.AutoForward]; fwd.Keyword != "ORDER" || strings.Join(fwd.ForwardTo, ",") != "ops@example.com,61412345678" {
		t.Fatalf("stored forward %+v", fwd)
	}
	if n := byKind[accounts.AutoReceiptNotice]; n.Notify != accounts.NotifyFailed {
		t.Fatalf("stored notice %+v", n)
	}
}

func TestAutomationCRUD(t *testing.T) {
	s, sub, clock := autoTestAccount(t)
	ctx := storetest.AcctTestCtx(t)
	a, err := s.CreateAutomation(ctx, sub.ID, accounts.Automation{Name: "Info", Kind: accounts.AutoReply, Keyword: "info", Text: "Thanks", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute)
	off, text := false, "  Thank you  "
	up, err := s.UpdateAutomation(ctx, sub.ID, a.ID, accounts.AutomationPatch{Enabled: &off, Text: &text})
	if err != nil || up.Enabled || up.Text != "Thank you" || up.Keyword != "INFO" || !up.UpdatedAt.After(up.CreatedAt) {
		t.Fatalf("update: %+v %v", up, err)
	}
	got, err := s.GetAutomation(ctx, sub.ID, a.ID)
	if err != nil || got.Text != "Thank you" || got.Enabled {
		t.Fatalf("get: %+v %v", got, err)
	}
	bad := "two words"
	if _, err := s.UpdateAutomation(ctx, sub.ID, a.ID, accounts.AutomationPatch{Keyword: &bad}); !errors.Is(err, accounts.ErrInvalid) {
		t.Fatalf("bad update: %v", err)
	}
	if _, err := s.UpdateAutomation(ctx, sub.ID, "au_nothere", accounts.AutomationPatch{Enabled: &off}); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}
	// Another account does not see the rule.
	other := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Other", ParentID: sub.ParentID})
	if _, err := s.GetAutomation(ctx, other.ID, a.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("other account's get: %v", err)
	}
	if err := s.DeleteAutomation(ctx, other.ID, a.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("other account's delete: %v", err)
	}
	if err := s.DeleteAutomation(ctx, sub.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetAutomation(ctx, sub.ID, a.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
}

// TestAutomationLimit: concurrent creations never pass MaxAutomations.
func TestAutomationLimit(t *testing.T) {
	s, sub, _ := autoTestAccount(t)
	ctx := storetest.AcctTestCtx(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, limited := 0, 0
	for i := range accounts.MaxAutomations + 10 {
		wg.Go(func() {
			_, err := s.CreateAutomation(ctx, sub.ID, accounts.Automation{Name: "r", Kind: accounts.AutoReply, Keyword: fmt.Sprintf("k%d", i), Text: "t"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created++
			case errors.Is(err, accounts.ErrAutomationLimit):
				limited++
			default:
				t.Errorf("create %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if created != accounts.MaxAutomations || limited != 10 {
		t.Fatalf("created %d, limited %d", created, limited)
	}
}

func TestClaimAutomation(t *testing.T) {
	s, sub, clock := autoTestAccount(t)
	ctx := storetest.AcctTestCtx(t)
	claim := func(rule, phone string, window time.Duration, cap int) string {
		t.Helper()
		ok, why, err := s.ClaimAutomation(ctx, accounts.AutomationClaim{AccountID: sub.ID, RuleID: rule, Phone: phone, Window: window, HourlyCap: cap})
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return "ok"
		}
		return why
	}
	steps := []struct {
		name, rule, phone string
		window            time.Duration
		cap               int
		want              string
	}{
		{"first", "au_a", "61400000001", time.Minute, 4, "ok"},
		{"same phone in window", "au_a", "61400000001", time.Minute, 4, accounts.AutoLimitWindow},
		{"other phone", "au_a", "61400000002", time.Minute, 4, "ok"},
		{"other rule", "au_b", "61400000001", time.Minute, 4, "ok"},
		{"no window", "au_c", "61400000001", 0, 4, "ok"},
		{"hourly cap", "au_d", "61400000003", time.Minute, 4, accounts.AutoLimitHourly},
		{"no window no cap room", "au_c", "61400000001", 0, 4, accounts.AutoLimitHourly},
	}
	for _, st := range steps {
		if got := claim(st.rule, st.phone, st.window, st.cap); got != st.want {
			t.Fatalf("%s: %s, want %s", st.name, got, st.want)
		}
	}
	// The next hour has a fresh cap; the window expires on its own.
	clock.Add(time.Hour)
	if got := claim("au_d", "61400000003", time.Minute, 4); got != "ok" {
		t.Fatalf("next hour: %s", got)
	}
	if err := s.RDB.Del(ctx, s.Keys.AutomationWindow(0, "au_a", "61400000001")).Err(); err != nil {
		t.Fatal(err)
	}
	if got := claim("au_a", "61400000001", time.Minute, 4); got != "ok" {
		t.Fatalf("after the window: %s", got)
	}
	ttl, err := s.RDB.PTTL(ctx, s.Keys.AutomationWindow(0, "au_a", "61400000001")).Result()
	if err != nil || ttl <= 0 || ttl > time.Minute {
		t.Fatalf("window key ttl %v %v", ttl, err)
	}
}
