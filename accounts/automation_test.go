package accounts

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsgate/smsgate/internal/redistest"
)

func autoTestAccount(t *testing.T) (*Store, *Account, *userClock) {
	t.Helper()
	clock := &userClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	s := NewStore(redistest.Start(t), StoreOptions{Now: clock.Now})
	root := acctMustCreate(t, s, Account{Name: "Root", DefaultCountry: "AU"})
	sub := acctMustCreate(t, s, Account{Name: "Sales", ParentID: root.ID})
	return s, sub, clock
}

func TestAutomationValidation(t *testing.T) {
	s, sub, _ := autoTestAccount(t)
	ctx := acctTestCtx(t)
	// 61480000123 is the account's dedicated number (accounts/senders.go's index).
	if err := s.rdb.Set(ctx, s.gkey("number", "61480000123"), sub.ID, 0).Err(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   Automation
		want string // "" for success
	}{
		{"auto reply", Automation{Name: "Info", Kind: AutoReply, Keyword: "info", Text: "Thanks"}, ""},
		{"any keyword", Automation{Name: "Any", Kind: AutoReply, Keyword: "*", Text: "Thanks"}, ""},
		{"no name", Automation{Kind: AutoReply, Keyword: "x", Text: "t"}, "name: required"},
		{"long name", Automation{Name: strings.Repeat("n", 81), Kind: AutoReply, Keyword: "x", Text: "t"}, "name: 81 characters, at most 80"},
		{"bad kind", Automation{Name: "n", Kind: "sms"}, `kind: "sms" is not one of`},
		{"no keyword", Automation{Name: "n", Kind: AutoReply, Text: "t"}, "keyword: required for auto_reply"},
		{"two words", Automation{Name: "n", Kind: AutoReply, Keyword: "in fo", Text: "t"}, `keyword: "IN FO" must be one word`},
		{"keyword on notice", Automation{Name: "n", Kind: AutoReceiptNotice, Keyword: "x"}, "keyword: not used by receipt_notice"},
		{"no text", Automation{Name: "n", Kind: AutoReply, Keyword: "x"}, "text: required for auto_reply"},
		{"long text", Automation{Name: "n", Kind: AutoReply, Keyword: "x", Text: strings.Repeat("t", 481)}, "text: 481 characters, at most 480"},
		{"text on forward", Automation{Name: "n", Kind: AutoForward, Keyword: "x", Text: "t", ForwardTo: []string{"a@example.com"}}, "text: not used by forward"},
		{"forward nowhere", Automation{Name: "n", Kind: AutoForward, Keyword: "x"}, "forward_to: required"},
		{"forward bad", Automation{Name: "n", Kind: AutoForward, Keyword: "y", ForwardTo: []string{"a@example.com", "bob"}}, `forward_to[1]: "bob" is neither`},
		{"forward bad mail", Automation{Name: "n", Kind: AutoForward, Keyword: "y", ForwardTo: []string{"a@@x"}}, `forward_to[0]: "a@@x" is not an email address`},
		{"forward twice", Automation{Name: "n", Kind: AutoForward, Keyword: "y", ForwardTo: []string{"0412345678", "+61412345678"}}, "forward_to[1]: 61412345678 is listed twice"},
		{"forward own number", Automation{Name: "n", Kind: AutoForward, Keyword: "y", ForwardTo: []string{"+61480000123"}}, "forward_to[0]: 61480000123 is a dedicated number of this account"},
		{"forward", Automation{Name: "n", Kind: AutoForward, Keyword: "order", ForwardTo: []string{"Ops@Example.com", "0412345678"}}, ""},
		{"notify bad", Automation{Name: "n", Kind: AutoReceiptNotice, Notify: "some"}, `notify: "some" is not one of all, failed`},
		{"notify on reply", Automation{Name: "n", Kind: AutoReply, Keyword: "z", Text: "t", Notify: "all"}, "notify: not used by auto_reply"},
		{"notice", Automation{Name: "n", Kind: AutoReceiptNotice, Notify: NotifyFailed}, ""},
		{"second notice", Automation{Name: "n", Kind: AutoReceiptNotice}, "kind: the account already has receipt_notice rule"},
		{"same keyword", Automation{Name: "n", Kind: AutoReply, Keyword: "INFO", Text: "t"}, "keyword: INFO is already used by auto_reply rule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.CreateAutomation(ctx, sub.ID, tc.in)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("create: %v", err)
			case tc.want != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want)):
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
	byKind := map[string]Automation{}
	for _, r := range rules {
		byKind[r.Kind] = r
	}
	if fwd := byKind[AutoForward]; fwd.Keyword != "ORDER" || strings.Join(fwd.ForwardTo, ",") != "ops@example.com,61412345678" {
		t.Fatalf("stored forward %+v", fwd)
	}
	if n := byKind[AutoReceiptNotice]; n.Notify != NotifyFailed {
		t.Fatalf("stored notice %+v", n)
	}
}

func TestAutomationCRUD(t *testing.T) {
	s, sub, clock := autoTestAccount(t)
	ctx := acctTestCtx(t)
	a, err := s.CreateAutomation(ctx, sub.ID, Automation{Name: "Info", Kind: AutoReply, Keyword: "info", Text: "Thanks", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute)
	off, text := false, "  Thank you  "
	up, err := s.UpdateAutomation(ctx, sub.ID, a.ID, AutomationPatch{Enabled: &off, Text: &text})
	if err != nil || up.Enabled || up.Text != "Thank you" || up.Keyword != "INFO" || !up.UpdatedAt.After(up.CreatedAt) {
		t.Fatalf("update: %+v %v", up, err)
	}
	got, err := s.GetAutomation(ctx, sub.ID, a.ID)
	if err != nil || got.Text != "Thank you" || got.Enabled {
		t.Fatalf("get: %+v %v", got, err)
	}
	bad := "two words"
	if _, err := s.UpdateAutomation(ctx, sub.ID, a.ID, AutomationPatch{Keyword: &bad}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad update: %v", err)
	}
	if _, err := s.UpdateAutomation(ctx, sub.ID, "au_nothere", AutomationPatch{Enabled: &off}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}
	// Another account does not see the rule.
	other := acctMustCreate(t, s, Account{Name: "Other", ParentID: sub.ParentID})
	if _, err := s.GetAutomation(ctx, other.ID, a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other account's get: %v", err)
	}
	if err := s.DeleteAutomation(ctx, other.ID, a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other account's delete: %v", err)
	}
	if err := s.DeleteAutomation(ctx, sub.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetAutomation(ctx, sub.ID, a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
}

// TestAutomationLimit: concurrent creations never pass MaxAutomations.
func TestAutomationLimit(t *testing.T) {
	s, sub, _ := autoTestAccount(t)
	ctx := acctTestCtx(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, limited := 0, 0
	for i := range MaxAutomations + 10 {
		wg.Go(func() {
			_, err := s.CreateAutomation(ctx, sub.ID, Automation{Name: "r", Kind: AutoReply, Keyword: fmt.Sprintf("k%d", i), Text: "t"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created++
			case errors.Is(err, ErrAutomationLimit):
				limited++
			default:
				t.Errorf("create %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if created != MaxAutomations || limited != 10 {
		t.Fatalf("created %d, limited %d", created, limited)
	}
}

func TestClaimAutomation(t *testing.T) {
	s, sub, clock := autoTestAccount(t)
	ctx := acctTestCtx(t)
	claim := func(rule, phone string, window time.Duration, cap int) string {
		t.Helper()
		ok, why, err := s.ClaimAutomation(ctx, AutomationClaim{AccountID: sub.ID, RuleID: rule, Phone: phone, Window: window, HourlyCap: cap})
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
		{"same phone in window", "au_a", "61400000001", time.Minute, 4, AutoLimitWindow},
		{"other phone", "au_a", "61400000002", time.Minute, 4, "ok"},
		{"other rule", "au_b", "61400000001", time.Minute, 4, "ok"},
		{"no window", "au_c", "61400000001", 0, 4, "ok"},
		{"hourly cap", "au_d", "61400000003", time.Minute, 4, AutoLimitHourly},
		{"no window no cap room", "au_c", "61400000001", 0, 4, AutoLimitHourly},
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
	if err := s.rdb.Del(ctx, s.skey(0, "autoonce", "au_a", "61400000001")).Err(); err != nil {
		t.Fatal(err)
	}
	if got := claim("au_a", "61400000001", time.Minute, 4); got != "ok" {
		t.Fatalf("after the window: %s", got)
	}
	ttl, err := s.rdb.PTTL(ctx, s.skey(0, "autoonce", "au_a", "61400000001")).Result()
	if err != nil || ttl <= 0 || ttl > time.Minute {
		t.Fatalf("window key ttl %v %v", ttl, err)
	}
}

func TestAutomationMatches(t *testing.T) {
	for _, tc := range []struct {
		keyword, text string
		want          bool
	}{
		{"INFO", "INFO please", true},
		{"INFO", "info", true},
		{"INFO", "  Info, please", true},
		{"INFO", "information please", false},
		{"INFO", "please info", false},
		{"INFO", "", false},
		{"*", "anything", true},
		{"*", "", true},
	} {
		t.Run(tc.keyword+"/"+tc.text, func(t *testing.T) {
			a := Automation{Keyword: tc.keyword}
			if got := a.Matches(tc.text); got != tc.want {
				t.Fatalf("Matches(%q) = %v", tc.text, got)
			}
		})
	}
}
