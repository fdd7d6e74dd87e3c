package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

func TestMoney(t *testing.T) {
	for _, c := range []struct {
		minor int64
		cur   string
		want  string
	}{
		{123456, "AUD", "1,234.56 AUD"}, {5, "AUD", "0.05 AUD"}, {-250, "usd", "-2.50 usd"},
		{1234567, "JPY", "1,234,567 JPY"}, {1234, "KWD", "1.234 KWD"}, {100, "", "1.00"},
	} {
		if got := money(c.minor, c.cur); got != c.want {
			t.Errorf("money(%d, %q) = %q, want %q", c.minor, c.cur, got, c.want)
		}
	}
}

func TestParseAmount(t *testing.T) {
	for _, c := range []struct {
		in, cur string
		want    int64
		ok      bool
	}{
		{"2.50", "AUD", 250, true}, {"2.5", "AUD", 250, true}, {"3", "AUD", 300, true}, {"1,000", "AUD", 100000, true},
		{".75", "AUD", 75, true}, {"100", "JPY", 100, true}, {"1.234", "KWD", 1234, true},
		{"2.505", "AUD", 0, false}, {"-1", "AUD", 0, false}, {"+1", "AUD", 0, false}, {"1.5", "JPY", 0, false},
		{"", "AUD", 0, false}, {"abc", "AUD", 0, false}, {"1e3", "AUD", 0, false}, {"99999999999999999", "AUD", 0, false},
	} {
		got, err := parseAmount("amount", c.in, c.cur)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseAmount(%q, %s) = %d, %v; want %d, ok %v", c.in, c.cur, got, err, c.want, c.ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "422 Invalid form: amount:") {
			t.Errorf("parseAmount(%q): the error %q does not name the field", c.in, err)
		}
	}
}

// TestPreview: the Send page counts as the gateway sends (smpp.CountParts).
func TestPreview(t *testing.T) {
	for _, c := range []struct {
		text          string
		rcpt          int
		parts         int
		enc           string
		price, chars_ int64
	}{
		{"Hello", 2, 1, "GSM 7-bit", 10, 5},
		{strings.Repeat("a", 160), 1, 1, "GSM 7-bit", 5, 160},
		{strings.Repeat("a", 161), 1, 2, "GSM 7-bit", 10, 161},
		{strings.Repeat("€", 80), 1, 1, "GSM 7-bit", 5, 80}, // two septets each: 160
		{"Grüße ☃", 3, 1, "Unicode (UCS-2)", 15, 7},
		{strings.Repeat("☃", 71), 1, 2, "Unicode (UCS-2)", 10, 71},
		{"", 1, 0, "GSM 7-bit", 0, 0},
	} {
		p := previewOf(c.text, c.rcpt, 5)
		if p.Parts != c.parts || p.Encoding != c.enc || p.Price != c.price || int64(p.Chars) != c.chars_ {
			t.Errorf("preview of %q: %+v", c.text, p)
		}
	}
}

// TestTeamCredit: a parent administrator credits and debits a sub-account
// from the master balance; a debit beyond its balance shows the API's
// refusal and changes nothing.
func TestTeamCredit(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	sub := e.newSub("Sales")
	e.addUser(sub.ID, "sam@example.com", accounts.RoleSubAdmin)
	if _, err := e.st.UpdateMember(ctx, sub.ID, memberID(t, e, sub.ID, "sam@example.com"), accounts.MemberUpdate{Owner: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signIn("ann@example.com")
	st, body, _ := b.get("/team")
	if st != http.StatusOK || !strings.Contains(body, "Sales") || !strings.Contains(body, `id="amt-`+sub.ID+`"`) || !strings.Contains(body, "<td>sam@example.com</td>") {
		t.Fatalf("team page: %d\n%s", st, body)
	}
	if st, _, resp := b.post("/team/"+sub.ID+"/credit", url.Values{"amount": {"2.50"}}); st != http.StatusSeeOther || resp.Header.Get("Location") != "/team" {
		t.Fatalf("credit: %d", st)
	}
	balance := func(id string) int64 {
		a, err := e.st.GetAccount(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return a.Balance
	}
	if balance(sub.ID) != 250 || balance(e.root.ID) != 10000-250 {
		t.Fatalf("balances after credit: sub %d, root %d", balance(sub.ID), balance(e.root.ID))
	}
	if _, body, _ := b.get("/team"); !strings.Contains(body, "Credited "+sub.ID+" 2.50 AUD.") || !strings.Contains(body, "2.50 AUD") {
		t.Fatalf("after the credit:\n%s", body)
	}
	st, body, _ = b.post("/team/"+sub.ID+"/debit", url.Values{"amount": {"3.00"}})
	if st < 400 || st >= 500 || !strings.Contains(body, "balance") {
		t.Fatalf("a debit beyond the balance: %d\n%s", st, body)
	}
	if balance(sub.ID) != 250 {
		t.Fatalf("the refused debit changed the balance: %d", balance(sub.ID))
	}
	if st, body, _ := b.post("/team/"+sub.ID+"/credit", url.Values{"amount": {"2.505"}}); st != http.StatusUnprocessableEntity || !strings.Contains(body, "amount:") {
		t.Fatalf("a bad amount: %d\n%s", st, body)
	}
}

// TestRolePages: what a role may not use is neither shown nor served; the
// sub-account's administrator sees their own account only.
func TestRolePages(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	sub := e.newSub("Sales")
	other := e.newSub("Support")
	e.addUser(sub.ID, "basil@example.com", accounts.RoleBasic)
	e.addUser(sub.ID, "sam@example.com", accounts.RoleSubAdmin)

	basic := e.browser()
	basic.signIn("basil@example.com")
	_, body, _ := basic.get("/")
	for _, hidden := range []string{`href="/team"`, `href="/users"`, `href="/email"`} {
		if strings.Contains(body, hidden) {
			t.Errorf("a basic user's menu links %s", hidden)
		}
	}
	for _, path := range []string{"/team", "/users", "/messages.csv", "/users?account=" + other.ID, "/email?account=" + other.ID} {
		if st, _, _ := basic.get(path); st != http.StatusForbidden && st != http.StatusNotFound {
			t.Errorf("a basic user forcing %s: %d", path, st)
		}
	}
	if st, _, _ := basic.post("/team/"+sub.ID+"/credit", url.Values{"amount": {"1"}}); st != http.StatusNotFound && st != http.StatusForbidden {
		t.Errorf("a basic user crediting their own account: %d", st)
	}

	admin := e.browser()
	admin.signIn("sam@example.com")
	_, body, _ = admin.get("/")
	if !strings.Contains(body, `href="/users"`) || !strings.Contains(body, `href="/email"`) || strings.Contains(body, `href="/team"`) {
		t.Errorf("a sub-account administrator's menu:\n%s", body)
	}
	// Another sub-account's pages are the API's 404: not even its existence.
	for _, path := range []string{"/users?account=" + other.ID, "/email?account=" + other.ID, "/messages?account=" + other.ID} {
		if st, body, _ := admin.get(path); st != http.StatusNotFound || strings.Contains(body, "Support") {
			t.Errorf("%s for another sub-account's administrator: %d\n%s", path, st, body)
		}
	}
	if st, _, _ := admin.post("/team/"+sub.ID+"/credit", url.Values{"amount": {"1"}}); st < 400 {
		t.Errorf("a sub-account crediting itself: %d", st)
	}
	if a, _ := e.st.GetAccount(ctx, sub.ID); a.Balance != 0 {
		t.Errorf("the sub-account's balance moved: %d", a.Balance)
	}
}

// TestChart: a chart of days has a bar for every day of the period, the
// quiet ones at zero, scaled to the busiest.
func TestChart(t *testing.T) {
	rows := everyDay([]accounts.StatsRow{{Day: "2026-03-02", Messages: 4}, {Day: "2026-03-04", Messages: 2}}, "2026-03-01", "2026-03-05")
	if len(rows) != 5 || rows[0].Messages != 0 || rows[1].Messages != 4 || rows[3].Messages != 2 {
		t.Fatalf("every day: %+v", rows)
	}
	ch := chartOf(rows, func(r accounts.StatsRow) string { return r.Day })
	if ch.Max != 4 || len(ch.Bars) != 5 || ch.Bars[1].H != chartH || ch.Bars[3].H != chartH/2 || ch.Bars[0].H != 0 || ch.Bars[1].Y != 0 {
		t.Fatalf("chart %+v", ch)
	}
	if chartOf(nil, nil) != nil {
		t.Fatal("a chart of nothing")
	}
}

func ptr[T any](v T) *T { return &v }

// memberID is the user id of email's membership of acct.
func memberID(t *testing.T, e *env, acct, email string) string {
	t.Helper()
	ms, err := e.st.ListMembers(t.Context(), acct)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Email == email {
			return m.UserID
		}
	}
	t.Fatalf("%s is not a member of %s", email, acct)
	return ""
}
