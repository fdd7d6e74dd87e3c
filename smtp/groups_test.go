package smtp

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/smsgate/smsgate/accounts"
)

// fakeGroups holds groups by account and normalised name.
type fakeGroups struct {
	groups  map[string]*accounts.Group // "<account>/<norm name>"
	numbers map[string][]string        // group id -> numbers
	err     error
}

func (f *fakeGroups) GroupByName(_ context.Context, accountID, name string) (*accounts.Group, error) {
	if f.err != nil {
		return nil, f.err
	}
	if g, ok := f.groups[accountID+"/"+accounts.NormGroupName(name)]; ok {
		return g, nil
	}
	return nil, fmt.Errorf("group %q: %w", name, accounts.ErrNotFound)
}

func (f *fakeGroups) GroupNumbers(_ context.Context, id string) ([]string, error) {
	return f.numbers[id], nil
}

func TestGroupRecipients(t *testing.T) {
	noBulk := &accounts.Account{ID: "a0-nb", ParentID: "a0-p", Status: accounts.StatusActive, DefaultCountry: "AU", SenderPolicy: loopbackPolicy,
		Permissions: accounts.Permissions{Granted: []string{accounts.FlagAccessSMS}, Enabled: []string{accounts.FlagAccessSMS}}}
	big := make([]string, maxMailRecipients+1)
	for i := range big {
		big[i] = fmt.Sprintf("614%08d", i)
	}
	groups := &fakeGroups{
		groups: map[string]*accounts.Group{
			"a1/sales-team": {ID: "g1", AccountID: "a1", Name: "Sales Team", Members: 3},
			"a1/empty":      {ID: "g2", AccountID: "a1", Name: "Empty"},
			"a1/everyone":   {ID: "g3", AccountID: "a1", Name: "Everyone", Members: len(big)},
			"a0-nb/team":    {ID: "g4", AccountID: "a0-nb", Name: "Team", Members: 1},
			"a1/2nd-shift":  {ID: "g5", AccountID: "a1", Name: "2nd Shift", Members: 1},
		},
		numbers: map[string][]string{
			"g1": {"61412000001", "61412000002", "61412000003"},
			"g3": big,
			"g4": {"61412000001"},
			"g5": {"61412000009"},
		},
	}
	cases := []struct {
		name  string
		from  string
		rcpts []string
		// code 0: every RCPT accepted and the mail goes to want.
		code int
		enh  gosmtp.EnhancedCode
		text string
		want []string
	}{
		{name: "group expands", from: "jo@a.example", rcpts: []string{"sales-team@sms.test"},
			want: []string{"61412000001", "61412000002", "61412000003"}},
		{name: "name forms alike", from: "jo@a.example", rcpts: []string{"Sales.Team@SMS.test", `"sales team"@sms.test`, "sales_team@sms.test"},
			want: []string{"61412000001", "61412000002", "61412000003"}},
		{name: "duplicates collapse", from: "jo@a.example", rcpts: []string{"0412000002@sms.test", "sales-team@sms.test", "+61412000003@sms.test", "0412999999@sms.test"},
			want: []string{"61412000002", "61412000001", "61412000003", "61412999999"}},
		{name: "group members not counted against max recipients", from: "jo@a.example",
			rcpts: []string{"sales-team@sms.test", "0412999991@sms.test", "0412999992@sms.test", "0412999993@sms.test"},
			want:  []string{"61412000001", "61412000002", "61412000003", "61412999991", "61412999992", "61412999993"}},
		{name: "unknown group", from: "jo@a.example", rcpts: []string{"sales-tem@sms.test"},
			code: 550, enh: gosmtp.EnhancedCode{5, 1, 1}, text: `no group named "sales-tem" (and not a phone number:`},
		{name: "letters in a number", from: "jo@a.example", rcpts: []string{"0412abc@sms.test"},
			code: 550, enh: gosmtp.EnhancedCode{5, 1, 3}, text: `letters are not allowed in a number: "0412abc"`},
		{name: "group named like a number", from: "jo@a.example", rcpts: []string{"2nd-shift@sms.test"},
			want: []string{"61412000009"}},
		{name: "empty group", from: "jo@a.example", rcpts: []string{"empty@sms.test"},
			code: 550, enh: gosmtp.EnhancedCode{5, 1, 1}, text: `group "Empty" has no members`},
		{name: "too large", from: "jo@a.example", rcpts: []string{"everyone@sms.test"},
			code: 550, enh: gosmtp.EnhancedCode{5, 5, 3}, text: "one mail reaches at most 10000 numbers"},
		{name: "no send_bulk", from: "jo@nobulk.example", rcpts: []string{"team@sms.test"},
			code: 550, enh: gosmtp.EnhancedCode{5, 7, 1}, text: "permission send_bulk"},
		{name: "other domain is not a group", from: "jo@a.example", rcpts: []string{"sales-team@elsewhere.test"},
			code: 550, enh: gosmtp.EnhancedCode{5, 1, 2}, text: "not an SMS domain"},
	}
	h := start(t, func(o *Options) { o.Groups = groups })
	h.resolver.byAddr["@nobulk.example"] = noBulk
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.pipeline.mails())
			c := h.dial(t, nil)
			if err := c.Mail(tc.from, nil); err != nil {
				t.Fatal(err)
			}
			var err error
			for _, r := range tc.rcpts {
				if err = c.Rcpt(r, nil); err != nil {
					break
				}
			}
			if tc.code != 0 {
				wantReply(t, err, tc.code, tc.enh, tc.text)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := send(c, plainMail); err != nil {
				t.Fatal(err)
			}
			mails := h.pipeline.mails()
			if len(mails) != before+1 || !slices.Equal(mails[before].Recipients, tc.want) {
				t.Fatalf("recipients %v, want %v", mails[len(mails)-1].Recipients, tc.want)
			}
		})
	}
	t.Run("groups off", func(t *testing.T) {
		off := start(t, nil)
		c := off.dial(t, nil)
		if err := c.Mail("jo@a.example", nil); err != nil {
			t.Fatal(err)
		}
		wantReply(t, c.Rcpt("sales-team@sms.test", nil), 550, gosmtp.EnhancedCode{5, 1, 3}, "")
	})
}

func TestQueuedText(t *testing.T) {
	ids := make([]string, 25)
	for i := range ids {
		ids[i] = fmt.Sprintf("m0-%02d", i)
	}
	cases := []struct {
		name string
		ids  []string
		want string
	}{
		{"one", ids[:1], "queued as m0-00 (session s1)"},
		{"ten", ids[:10], "queued as " + strings.Join(ids[:10], ",") + " (session s1)"},
		{"many", ids, "queued as " + strings.Join(ids[:10], ",") + " and 15 more (session s1)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := queuedText(tc.ids, "s1"); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
