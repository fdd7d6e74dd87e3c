package api

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/router"
)

// matrixTemplateRows are the authorisation matrix rows of templates: any
// member (and the parent's administrators) reads them, sub_admin and up
// manage them (templates belong to what a sub-account has).
func matrixTemplateRows() []mRow {
	ok, created, noContent := http.StatusOK, http.StatusCreated, http.StatusNoContent
	read := func(pattern string, req func(*testing.T, *mWorld, *accounts.Account) (string, any)) mRow {
		return mRow{pattern: pattern, root: true, child: true, sub: mBasic, ok: ok, req: req}
	}
	manage := func(pattern string, status int, req func(*testing.T, *mWorld, *accounts.Account) (string, any)) mRow {
		return mRow{pattern: pattern, root: true, child: true, sub: mSubAdmin, ok: status, req: req}
	}
	onTemplate := func(body any) func(*testing.T, *mWorld, *accounts.Account) (string, any) {
		return func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			t.Helper()
			tp, err := w.st.CreateTemplate(t.Context(), a.ID, "Reminder", "Hi {{first_name|there}}")
			if err != nil {
				t.Fatalf("create template: %v", err)
			}
			return "/v1/accounts/" + a.ID + "/templates/" + tp.ID, body
		}
	}
	return []mRow{
		read("GET /v1/accounts/{id}/templates", mAt("/v1/accounts/%s/templates")),
		manage("POST /v1/accounts/{id}/templates", created,
			mWith("/v1/accounts/%s/templates", map[string]any{"name": "Reminder", "body": "Hi {{first_name}}"})),
		read("GET /v1/accounts/{id}/templates/{tpl}", onTemplate(nil)),
		manage("PATCH /v1/accounts/{id}/templates/{tpl}", ok, onTemplate(map[string]any{"body": "Hello {{name}}"})),
		manage("DELETE /v1/accounts/{id}/templates/{tpl}", noContent, onTemplate(nil)),
	}
}

// templateListNames lists "name:inherited:shadowed" of a list answer.
func templateListNames(l templateList) []string {
	var out []string
	for _, t := range l.Templates {
		s := t.Name
		if t.Inherited {
			s += ":inherited"
		}
		if t.Shadowed {
			s += ":shadowed"
		}
		out = append(out, s)
	}
	return out
}

func TestTemplatesAPI(t *testing.T) {
	f := newFixture(t)
	root, a, b := "/v1/accounts/"+f.root.ID+"/templates", "/v1/accounts/"+f.subA.ID+"/templates", "/v1/accounts/"+f.subB.ID+"/templates"
	basic := f.logTestUserKey(f.subA, "jo@example.com", accounts.RoleBasic)

	var parentTpl accounts.TemplateListing
	f.expect(f.rootKey, "POST", root, map[string]any{"name": "Reminder", "body": "Hi {{first_name|there}}, {{body}}"},
		http.StatusCreated, &parentTpl)
	f.expect(f.rootKey, "POST", root, map[string]any{"name": "Promo", "body": "Sale!"}, http.StatusCreated, nil)

	// The sub sees the parent's, read-only.
	var got accounts.TemplateListing
	f.expect(basic, "GET", a+"/REMINDER", nil, http.StatusOK, &got)
	if got.ID != parentTpl.ID || !got.Inherited || got.AccountID != f.root.ID {
		t.Fatalf("sub reads parent's template: %+v", got)
	}
	p := f.problem(f.subAKey, "PATCH", a+"/"+parentTpl.ID, map[string]any{"body": "mine"}, http.StatusForbidden)
	if !strings.Contains(p.Detail, "shared read-only") || !strings.Contains(p.Detail, "shadow") {
		t.Errorf("patching the parent's template from the sub: %s", p.Detail)
	}
	f.problem(f.subAKey, "DELETE", a+"/reminder", nil, http.StatusForbidden)

	// Its own of the same name shadows it.
	var own accounts.TemplateListing
	f.expect(f.subAKey, "POST", a, map[string]any{"name": "reminder", "body": "Sales: {{body}}"}, http.StatusCreated, &own)
	var list templateList
	f.expect(basic, "GET", a, nil, http.StatusOK, &list)
	if got, want := templateListNames(list), []string{"Promo:inherited", "reminder", "Reminder:inherited:shadowed"}; !slices.Equal(got, want) {
		t.Errorf("sub's list %v, want %v", got, want)
	}
	f.expect(f.subAKey, "GET", a+"/Reminder", nil, http.StatusOK, &got)
	if got.ID != own.ID || got.Inherited {
		t.Errorf("by name the sub gets %+v, want its own", got)
	}
	f.expect(f.subBKey, "GET", b, nil, http.StatusOK, &list)
	if got, want := templateListNames(list), []string{"Promo:inherited", "Reminder:inherited"}; !slices.Equal(got, want) {
		t.Errorf("sibling's list %v, want %v", got, want)
	}
	f.expect(f.rootKey, "GET", a+"/"+own.ID, nil, http.StatusOK, nil) // the parent's admins see the sub's

	for _, tc := range []struct {
		name, key, method, path string
		body                    any
		status                  int
		detail                  string
	}{
		{"sibling's template by id", f.subBKey, "GET", b + "/" + own.ID, nil, http.StatusNotFound, "template " + own.ID + " not found"},
		{"sibling's account", f.subBKey, "GET", a, nil, http.StatusNotFound, "not found"},
		{"basic user may not create", basic, "POST", a, map[string]any{"name": "x", "body": "y"}, http.StatusForbidden, "manage its templates"},
		{"name taken, other case", f.subAKey, "POST", a, map[string]any{"name": "REMINDER", "body": "y"}, http.StatusConflict, `already named "REMINDER"`},
		{"unbalanced braces", f.subAKey, "POST", a, map[string]any{"name": "x", "body": "Hi {{first_name"}, http.StatusUnprocessableEntity,
			`body: at character 4, "{{" is never closed with "}}"`},
		{"no name", f.subAKey, "POST", a, map[string]any{"body": "y"}, http.StatusUnprocessableEntity, "name: required"},
		{"unknown field", f.subAKey, "POST", a, map[string]any{"name": "x", "text": "y"}, http.StatusBadRequest, "text"},
		{"empty patch", f.subAKey, "PATCH", a + "/" + own.ID, map[string]any{}, http.StatusUnprocessableEntity, "give name, body or both"},
		{"rename onto the parent's name is fine, onto own taken", f.subAKey, "PATCH", a + "/" + own.ID, map[string]any{"name": "promo"},
			http.StatusOK, ""},
		{"unknown template", f.subAKey, "DELETE", a + "/nope", nil, http.StatusNotFound, `template nope not found`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.detail == "" {
				f.expect(tc.key, tc.method, tc.path, tc.body, tc.status, nil)
				return
			}
			p := f.problem(tc.key, tc.method, tc.path, tc.body, tc.status)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q does not contain %q", p.Detail, tc.detail)
			}
		})
	}
	f.expect(f.subAKey, "POST", a, map[string]any{"name": "other", "body": "y"}, http.StatusCreated, nil)
	p = f.problem(f.subAKey, "PATCH", a+"/other", map[string]any{"name": "Promo"}, http.StatusConflict)
	if !strings.Contains(p.Detail, `"Promo"`) {
		t.Errorf("rename onto a taken name: %s", p.Detail)
	}
	f.expect(f.subAKey, "DELETE", a+"/"+own.ID, nil, http.StatusNoContent, nil)
	f.expect(f.subAKey, "GET", a+"/reminder", nil, http.StatusOK, &got)
	if got.ID != parentTpl.ID {
		t.Errorf("after deleting its own, the sub gets %+v, want the parent's again", got)
	}
}

// TestSendTemplateAPI sends with a template through the real pipeline and
// store: texts, parts and prices differ per recipient.
func TestSendTemplateAPI(t *testing.T) {
	base := newFixture(t)
	ctx := t.Context()
	st := base.store
	pipe := router.NewPipeline(router.PipelineOptions{Store: st, Templates: st})
	f := base.withSender(pipe)
	if _, _, err := st.Transfer(ctx, f.root.ID, f.subA.ID, 1000, "seed", "test"); err != nil {
		t.Fatal(err)
	}
	acct := f.account(f.subA.ID)
	acct.PricePerPart, acct.MaxParts = 5, 3
	if err := st.UpdateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.UpsertContact(ctx, f.subA.ID, accounts.ContactInput{Number: "0412345678", FirstName: "Bob",
		Fields: map[string]string{"note": strings.Repeat("n", 160)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateTemplate(ctx, f.root.ID, "reminder", "Hi {{first_name|there}}, your appointment is {{body}}{{note}}"); err != nil {
		t.Fatal(err)
	}

	var res sendResult
	f.expect(f.subAKey, "POST", "/v1/messages", map[string]any{"to": []string{"0412345678", "0498765432"},
		"template": "Reminder", "text": "tomorrow at 10", "subject": "ignored"}, http.StatusCreated, &res)
	want := []struct {
		text  string
		parts int
	}{
		{"Hi Bob, your appointment is tomorrow at 10" + strings.Repeat("n", 160), 2},
		{"Hi there, your appointment is tomorrow at 10", 1},
	}
	for i, id := range res.IDs {
		m, err := st.GetMessage(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Text != want[i].text || m.Parts != want[i].parts || m.Price != int64(5*want[i].parts) {
			t.Errorf("message %d: %q parts %d price %d, want %q parts %d", i, m.Text, m.Parts, m.Price, want[i].text, want[i].parts)
		}
	}

	for _, tc := range []struct {
		name   string
		body   map[string]any
		detail string
	}{
		{"unknown template", map[string]any{"to": []string{"0412345678"}, "template": "nope"},
			`template: no template named "nope" in this account or its parent account`},
		{"fills to nothing", map[string]any{"to": []string{"0412345678"}, "template": "empty"}, `template: "empty" filled for one of the numbers has no text`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := st.CreateTemplate(context.WithoutCancel(ctx), f.subA.ID, "empty", "{{nothing}}"); err != nil &&
				!strings.Contains(err.Error(), "taken") {
				t.Fatal(err)
			}
			p := f.problem(f.subAKey, "POST", "/v1/messages", tc.body, http.StatusUnprocessableEntity)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q does not contain %q", p.Detail, tc.detail)
			}
		})
	}
}
