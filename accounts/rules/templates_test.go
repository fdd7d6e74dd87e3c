package rules_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/rules"
	"github.com/smsgate/smsgate/accounts/storetest"
)

// tplTestTree is a root with two sub-accounts.
func tplTestTree(t *testing.T, s *redisstore.Store) (root, a, b *accounts.Account) {
	t.Helper()
	root = storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root", DefaultCountry: "AU"})
	a = storetest.AcctMustCreate(t, s, accounts.Account{Name: "A", ParentID: root.ID})
	b = storetest.AcctMustCreate(t, s, accounts.Account{Name: "B", ParentID: root.ID})
	return root, a, b
}

func tplMustCreate(t *testing.T, s *redisstore.Store, accountID, name, body string) *accounts.Template {
	t.Helper()
	tp, err := s.CreateTemplate(storetest.AcctTestCtx(t), accountID, name, body)
	if err != nil {
		t.Fatalf("CreateTemplate(%s, %q): %v", accountID, name, err)
	}
	return tp
}

func TestCreateTemplateValidation(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	root, _, _ := tplTestTree(t, s)
	tplMustCreate(t, s, root.ID, "Reminder", "Hi {{first_name|there}}")
	tests := []struct {
		name, acct, tname, body string
		want                    error
		text                    string
	}{
		{"ok", root.ID, " Appointment  reminder ", "Hi {{name}}", nil, ""},
		{"empty name", root.ID, "  ", "x", accounts.ErrInvalid, "name: required"},
		{"long name", root.ID, strings.Repeat("n", 65), "x", accounts.ErrInvalid, "name: 65 characters, at most 64"},
		{"bracket in name", root.ID, "a]b", "x", accounts.ErrInvalid, `has ']' at character 2`},
		{"name shaped like an id", root.ID, "t0-0123456789abcdef", "x", accounts.ErrInvalid, "form of a template id"},
		{"empty body", root.ID, "x", " \n", accounts.ErrInvalid, "body: required"},
		{"long body", root.ID, "x", strings.Repeat("b", 2001), accounts.ErrInvalid, "body: 2001 characters, at most 2000"},
		{"unbalanced body", root.ID, "x", "Hi {{first_name", accounts.ErrInvalid, `body: at character 4, "{{" is never closed`},
		{"name taken, other case", root.ID, "REMINDER", "x", accounts.ErrTemplateNameTaken, `"REMINDER"`},
		{"unknown account", "a0-nosuchaccount", "x", "x", accounts.ErrNotFound, ""},
		{"not an account id", "garbage", "x", "x", accounts.ErrNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, err := s.CreateTemplate(storetest.AcctTestCtx(t), tt.acct, tt.tname, tt.body)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CreateTemplate: %v", err)
				}
				if tp.Name != strings.TrimSpace(tt.tname) || tp.AccountID != tt.acct || !rules.LooksLikeTemplateID(tp.ID) ||
					tp.CreatedAt.IsZero() || !tp.UpdatedAt.Equal(tp.CreatedAt) {
					t.Fatalf("created %+v", tp)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(fmt.Sprint(err), tt.text) {
				t.Fatalf("CreateTemplate error %v, want %v containing %q", err, tt.want, tt.text)
			}
		})
	}
}

// TestTemplateSharing: a root's templates are shared with its sub-accounts
// (seed 001), read-only; a sub's own shadows the parent's; siblings and
// the parent never see a sub's.
func TestTemplateSharing(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		root, a, b := tplTestTree(t, s)
		other := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Other"})
		rem := tplMustCreate(t, s, root.ID, "Reminder", "parent's reminder")
		tplMustCreate(t, s, root.ID, "Promo", "parent's promo")
		own := tplMustCreate(t, s, a.ID, "reminder", "A's reminder")
		tplMustCreate(t, s, b.ID, "B only", "B's")

		for _, tc := range []struct {
			acct, name, want string // want: body, "" for not found
		}{
			{a.ID, "REMINDER", "A's reminder"},
			{a.ID, "promo", "parent's promo"},
			{a.ID, "b only", ""},
			{b.ID, "reminder", "parent's reminder"},
			{root.ID, "reminder", "parent's reminder"},
			{root.ID, "B Only", ""},
			{other.ID, "reminder", ""},
		} {
			got, err := s.Template(ctx, tc.acct, tc.name)
			switch {
			case tc.want == "" && !errors.Is(err, accounts.ErrNotFound):
				t.Errorf("Template(%s, %q) = %+v, %v, want ErrNotFound", tc.acct, tc.name, got, err)
			case tc.want != "" && (err != nil || got.Body != tc.want):
				t.Errorf("Template(%s, %q) = %+v, %v, want body %q", tc.acct, tc.name, got, err, tc.want)
			}
		}
		// By id: the parent's is visible to the sub, the sub's not to its sibling.
		if got, err := s.LookupTemplate(ctx, b.ID, rem.ID); err != nil || got.AccountID != root.ID {
			t.Errorf("LookupTemplate(b, parent's id) = %+v, %v", got, err)
		}
		if _, err := s.LookupTemplate(ctx, b.ID, own.ID); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("LookupTemplate(b, a's id) = %v, want ErrNotFound", err)
		}
		if _, err := s.Template(ctx, a.ID, own.ID); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("Template by id = %v, want ErrNotFound (names only)", err)
		}

		list, err := s.ListTemplates(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range list {
			got = append(got, fmt.Sprintf("%s inherited=%v shadowed=%v", l.Name, l.Inherited, l.Shadowed))
		}
		want := []string{"Promo inherited=true shadowed=false", "reminder inherited=false shadowed=false",
			"Reminder inherited=true shadowed=true"}
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Errorf("ListTemplates(a) =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if list, err := s.ListTemplates(ctx, root.ID); err != nil || len(list) != 2 || list[0].Inherited {
			t.Errorf("ListTemplates(root) = %+v, %v", list, err)
		}
		if _, err := s.ListTemplates(ctx, "a0-nosuchaccount"); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("ListTemplates(unknown) = %v, want ErrNotFound", err)
		}
	})
}

func TestUpdateDeleteTemplate(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	ctx := storetest.AcctTestCtx(t)
	root, a, _ := tplTestTree(t, s)
	x := tplMustCreate(t, s, root.ID, "x", "body x")
	y := tplMustCreate(t, s, root.ID, "y", "body y")
	str := func(v string) *string { return &v }

	// Rename to a free name frees the old one; case-only renames are allowed.
	got, err := s.UpdateTemplate(ctx, root.ID, x.ID, accounts.TemplateUpdate{Name: str("X2"), Body: str("new {{body}}")})
	if err != nil || got.Name != "X2" || got.Body != "new {{body}}" || !got.CreatedAt.Equal(x.CreatedAt) {
		t.Fatalf("UpdateTemplate = %+v, %v", got, err)
	}
	if _, err := s.Template(ctx, root.ID, "x"); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("old name still resolves: %v", err)
	}
	if _, err := s.UpdateTemplate(ctx, root.ID, x.ID, accounts.TemplateUpdate{Name: str("x2")}); err != nil {
		t.Errorf("case-only rename: %v", err)
	}
	tplMustCreate(t, s, root.ID, "X", "the old name is free again")

	for _, tc := range []struct {
		name string
		acct string
		id   string
		u    accounts.TemplateUpdate
		want error
	}{
		{"rename onto another", root.ID, y.ID, accounts.TemplateUpdate{Name: str(" X2 ")}, accounts.ErrTemplateNameTaken},
		{"bad body", root.ID, y.ID, accounts.TemplateUpdate{Body: str("}}")}, accounts.ErrInvalid},
		{"unknown id", root.ID, "t0-0123456789abcdef", accounts.TemplateUpdate{Body: str("b")}, accounts.ErrNotFound},
		{"the parent's, from the sub", a.ID, y.ID, accounts.TemplateUpdate{Body: str("b")}, accounts.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.UpdateTemplate(ctx, tc.acct, tc.id, tc.u); !errors.Is(err, tc.want) {
				t.Fatalf("UpdateTemplate = %v, want %v", err, tc.want)
			}
		})
	}

	if err := s.DeleteTemplate(ctx, a.ID, y.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("a sub deleted its parent's template: %v", err)
	}
	if err := s.DeleteTemplate(ctx, root.ID, y.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTemplate(ctx, root.ID, y.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := s.Template(ctx, a.ID, "y"); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("deleted template still shared: %v", err)
	}
	tplMustCreate(t, s, root.ID, "y", "name free after delete")
}

// TestTemplateConcurrency: of many concurrent creates of one name exactly
// one wins; concurrent renames never leave two templates with one name or
// A name pointing nowhere.
func TestTemplateConcurrency(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	ctx := storetest.AcctTestCtx(t)
	root, _, _ := tplTestTree(t, s)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := s.CreateTemplate(ctx, root.ID, fmt.Sprintf("Same%s", strings.Repeat(" ", i%3)), "b")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, accounts.ErrTemplateNameTaken):
			t.Errorf("create: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d creates of one name succeeded, want 1", ok)
	}

	a := tplMustCreate(t, s, root.ID, "a", "a")
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("name%d", i%4)
			_, err := s.UpdateTemplate(ctx, root.ID, a.ID, accounts.TemplateUpdate{Name: &name})
			if err != nil && !errors.Is(err, accounts.ErrTemplateNameTaken) && !strings.Contains(err.Error(), "concurrently") {
				t.Errorf("rename: %v", err)
			}
		})
	}
	wg.Wait()
	names, err := s.RDB.HGetAll(ctx, s.Keys.TemplateNames(0, root.ID)).Result()
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.ListTemplates(ctx, root.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != len(list) || len(list) != 2 {
		t.Fatalf("name index %v, templates %+v: out of step", names, list)
	}
	for _, l := range list {
		if names[accounts.FoldName(l.Name)] != l.ID {
			t.Errorf("name %q -> %q, want %s", l.Name, names[accounts.FoldName(l.Name)], l.ID)
		}
	}
}

// TestTemplateCountLimit: templates are bounded by the account's quota
// (configured default, raised per parent by the operator).
func TestTemplateCountLimit(t *testing.T) {
	s := storetest.New(t, redisstore.Options{Quotas: accounts.Quotas{Templates: 5}})
	ctx := storetest.AcctTestCtx(t)
	root, _, _ := tplTestTree(t, s)
	for i := range 5 {
		tplMustCreate(t, s, root.ID, fmt.Sprintf("t%d", i), "b")
	}
	_, err := s.CreateTemplate(ctx, root.ID, "one more", "b")
	var qe *accounts.QuotaError
	if !errors.As(err, &qe) || qe.Quota != accounts.QuotaTemplates || qe.Limit != 5 || !errors.Is(err, accounts.ErrQuota) {
		t.Fatalf("create over the quota: %v", err)
	}
	if _, err := s.SetQuotas(ctx, root.ID, accounts.Quotas{Templates: 6}); err != nil {
		t.Fatal(err)
	}
	tplMustCreate(t, s, root.ID, "one more", "b")
}
