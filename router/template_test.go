package router

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

func TestSubjectTemplate(t *testing.T) {
	tests := []struct{ name, subject, want string }{
		{"whole subject", "template: reminder", "reminder"},
		{"case and spaces", "  TEMPLATE:   Appointment Reminder  ", "Appointment Reminder"},
		{"no space", "Template:reminder", "reminder"},
		{"bracket form", "Re: [template:reminder] for Bob", "reminder"},
		{"bracket form with spaces", "[ Template: x ]", ""},
		{"bracket form case", "hello [TEMPLATE: Reminder ]", "Reminder"},
		{"empty bracket then a real one", "[template:] [template:b]", "b"},
		{"unclosed bracket", "[template:reminder", ""},
		{"empty name", "template:", ""},
		{"plain subject", "hello", ""},
		{"word elsewhere", "about the template: reminder", ""},
		{"empty", "", ""},
		{"unicode around", "Grüße [template:ü] İ", "ü"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SubjectTemplate(tt.subject); got != tt.want {
				t.Errorf("SubjectTemplate(%q) = %q, want %q", tt.subject, got, tt.want)
			}
		})
	}
}

// fakeTemplates is a TemplateStore over maps; it counts contact lookups.
type fakeTemplates struct {
	templates  map[string]string            // name -> body
	contacts   map[string]*accounts.Contact // number -> contact
	contactErr error
	lookups    int
}

func (f *fakeTemplates) Template(_ context.Context, accountID, name string) (*accounts.Template, error) {
	body, ok := f.templates[strings.ToLower(name)]
	if !ok {
		return nil, accounts.ErrNotFound
	}
	return &accounts.Template{ID: "t0-x", AccountID: accountID, Name: name, Body: body}, nil
}

func (f *fakeTemplates) ContactByNumber(_ context.Context, _, number string) (*accounts.Contact, error) {
	f.lookups++
	if f.contactErr != nil {
		return nil, f.contactErr
	}
	if c, ok := f.contacts[number]; ok {
		return c, nil
	}
	return nil, accounts.ErrNotFound
}

// recordingStore is an AcceptStore that keeps the last request.
type recordingStore struct {
	AcceptStore
	req *accounts.AcceptRequest
}

func (r *recordingStore) Accept(_ context.Context, req accounts.AcceptRequest) (*accounts.AcceptResult, error) {
	r.req = &req
	ids := make([]string, len(req.Messages))
	for i := range ids {
		ids[i] = "m0-" + string(rune('a'+i))
	}
	return &accounts.AcceptResult{IDs: ids}, nil
}

func TestAcceptTemplate(t *testing.T) {
	const bob, other = "61412345678", "61498765432"
	long := strings.Repeat("x", 150) + " {{body}}" // one part, or two with a long enough body
	store := func() *fakeTemplates {
		return &fakeTemplates{
			templates: map[string]string{
				"reminder": "Hi {{first_name|there}}, your appointment is {{body}}",
				"plain":    "Your code is {{body}} ({{number}})",
				"long":     long,
				"fields":   "{{name}} <{{email}}> works at {{Company|nowhere}}",
				"nothing":  "{{first_name}}",
				"uni":      "Grüße {{first_name}} ✓",
				"long2":    strings.Repeat("y", 157) + " {{first_name}}",
			},
			contacts: map[string]*accounts.Contact{bob: {Number: bob, FirstName: "Bob", LastName: "Jones",
				Email: "bob@example.com", Fields: map[string]string{"company": "Acme"}}},
		}
	}
	acct := func(mode, long string) *accounts.Account {
		return &accounts.Account{ID: "a0-root", DefaultCountry: "AU", PricePerPart: 5, MaxParts: 1,
			SubjectMode: mode, LongMessage: long}
	}
	two := &accounts.Account{ID: "a0-root", DefaultCountry: "AU", PricePerPart: 5, MaxParts: 2}
	type msg struct {
		text  string
		parts int
		price int64
	}
	tests := []struct {
		name     string
		acct     *accounts.Account
		tpl      string
		body     string
		to       []string
		store    func() *fakeTemplates // nil: templates off
		want     []msg
		wantErr  error
		errText  string
		lookups  int
		contactE error
	}{
		{name: "personalised per recipient", acct: acct(accounts.SubjectPrepend, ""), tpl: "Reminder", body: "tomorrow at 10\n",
			to: []string{bob, other}, store: store, lookups: 2, want: []msg{
				{"Hi Bob, your appointment is tomorrow at 10", 1, 5},
				{"Hi there, your appointment is tomorrow at 10", 1, 5}}},
		{name: "no contact placeholders: no lookups", acct: acct("", ""), tpl: "plain", body: "1234", to: []string{bob},
			store: store, want: []msg{{"Your code is 1234 (+61412345678)", 1, 5}}},
		{name: "name, email, custom field", acct: acct("", ""), tpl: "fields", to: []string{bob, other}, store: store, lookups: 2,
			want: []msg{{"Bob Jones <bob@example.com> works at Acme", 1, 5}, {"<> works at nowhere", 1, 5}}},
		{name: "parts differ per recipient, truncated", acct: acct("", accounts.LongTruncate), tpl: "long", body: "a long body",
			to: []string{bob}, store: store, want: []msg{{strings.Repeat("x", 150) + " a long bo", 1, 5}}},
		{name: "parts and price differ per recipient", acct: two, tpl: "long2", to: []string{bob, other}, store: store, lookups: 2,
			want: []msg{{strings.Repeat("y", 157) + " Bob", 2, 10}, {strings.Repeat("y", 157), 1, 5}}},
		{name: "over the part limit: refused", acct: acct("", ""), tpl: "long", body: "a long body", to: []string{bob},
			store: store, wantErr: ErrTooLong, errText: "needs 2 SMS parts, the account allows 1"},
		{name: "unicode coding per message", acct: acct("", ""), tpl: "uni", to: []string{bob}, store: store, lookups: 1,
			want: []msg{{"Grüße Bob ✓", 1, 5}}},
		{name: "unknown template", acct: acct("", ""), tpl: "nope", to: []string{bob}, store: store,
			wantErr: ErrNoTemplate, errText: `no template named "nope" in this account or its parent account`},
		{name: "templates off", acct: acct("", ""), tpl: "reminder", to: []string{bob},
			wantErr: ErrNoTemplate, errText: "templates are not enabled"},
		{name: "renders to nothing", acct: acct("", ""), tpl: "nothing", to: []string{other}, store: store, lookups: 1,
			wantErr: ErrEmpty, errText: "*******5432"},
		{name: "contact store fails", acct: acct("", ""), tpl: "reminder", to: []string{bob}, store: store, lookups: 1,
			contactE: errors.New("redis down"), errText: "redis down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordingStore{}
			opts := PipelineOptions{Store: rec}
			var fs *fakeTemplates
			if tt.store != nil {
				fs = tt.store()
				fs.contactErr = tt.contactE
				opts.Templates = fs
			}
			p := NewPipeline(opts)
			ids, err := p.Accept(t.Context(), &Mail{Sender: &accounts.Sender{Account: tt.acct, Address: "jo@example.com"},
				Recipients: tt.to, Subject: "template: " + tt.tpl, Template: tt.tpl, Text: tt.body})
			if tt.errText != "" {
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("Accept error %v, want %v containing %q", err, tt.wantErr, tt.errText)
				}
				if rec.req != nil {
					t.Fatal("the store was called for a refused mail")
				}
			} else {
				if err != nil || len(ids) != len(tt.to) {
					t.Fatalf("Accept = %v, %v", ids, err)
				}
				for i, w := range tt.want {
					m := rec.req.Messages[i]
					if m.Text != w.text || m.Parts != w.parts || m.Price != w.price || m.To != tt.to[i] {
						t.Errorf("message %d: %q parts %d price %d to %s, want %q parts %d price %d",
							i, m.Text, m.Parts, m.Price, m.To, w.text, w.parts, w.price)
					}
				}
			}
			if fs != nil && fs.lookups != tt.lookups {
				t.Errorf("%d contact lookups, want %d", fs.lookups, tt.lookups)
			}
		})
	}
}

// TestAcceptWithoutTemplate: without a template every recipient gets the
// same composed text, as before.
func TestAcceptWithoutTemplate(t *testing.T) {
	rec := &recordingStore{}
	p := NewPipeline(PipelineOptions{Store: rec, Templates: &fakeTemplates{}})
	acct := &accounts.Account{ID: "a0-root", DefaultCountry: "AU", PricePerPart: 3, SubjectMode: accounts.SubjectPrepend}
	_, err := p.Accept(t.Context(), &Mail{Sender: &accounts.Sender{Account: acct, Address: "jo@example.com"},
		Recipients: []string{"61412345678", "61498765432"}, Subject: "Hi", Text: "there"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range rec.req.Messages {
		if m.Text != "Hi\nthere" || m.Parts != 1 || m.Price != 3 {
			t.Errorf("message %+v", m)
		}
	}
}
