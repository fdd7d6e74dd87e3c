package console

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

// TestEveryPage: every page renders for a parent administrator (a
// template error would be a 500), with its heading.
func TestEveryPage(t *testing.T) {
	e := newEnv(t)
	sub := e.newSub("Sales")
	b := e.browser()
	b.signIn("ann@example.com")
	for path, h1 := range map[string]string{
		"/": "Overview", "/send": "Send", "/messages": "Messages", "/messages?status=failed&from=2026-01-01": "Messages",
		"/inbox": "Inbox", "/inbox?state=all": "Inbox", "/team": "Team", "/users": "Users", "/users?account=" + sub.ID: "Users",
		"/email": "Email to SMS", "/email?account=" + sub.ID: "Email to SMS", "/keys": "API keys", "/keys?account=" + sub.ID: "API keys",
		"/stats": "Statistics", "/stats?by=sender": "Statistics", "/stats?by=account": "Statistics", "/stats?account=" + sub.ID: "Statistics",
		"/contacts": "Contacts", "/templates": "Templates", "/optouts": "Opt-outs", "/webhooks": "Webhooks", "/settings": "Settings", "/automations": "Automation", "/team/" + sub.ID: "Sales",
	} {
		st, body, _ := b.get(path)
		if st != http.StatusOK || !strings.Contains(body, "<h1>"+h1+"</h1>") {
			t.Errorf("%s: %d\n%s", path, st, body)
		}
	}
	// A parent administrator filters the log and the inbox by sub-account.
	for _, path := range []string{"/messages?account=" + sub.ID, "/inbox?account=" + sub.ID} {
		if _, body, _ := b.get(path); !strings.Contains(body, `<option value="`+sub.ID+`" selected>Sales</option>`) {
			t.Errorf("%s: no sub-account filter with Sales chosen\n%s", path, body)
		}
	}
	// A filter the API refuses is shown on the page, with the form.
	if st, body, _ := b.get("/messages?status=bogus"); st != http.StatusOK || !strings.Contains(body, "status:") || !strings.Contains(body, `id="f-status"`) {
		t.Errorf("a refused filter: %d\n%s", st, body)
	}
}

var secretRE = regexp.MustCompile(`<code id="new-secret">([^<]+)</code>`)

// TestKeysPage: a key's secret is shown once, on the answer that made it,
// and never again; revoking removes it.
func TestKeysPage(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("ann@example.com")
	b.get("/keys")
	st, body, _ := b.post("/keys/create", url.Values{"name": {"CRM"}, "role": {"advanced"}})
	m := secretRE.FindStringSubmatch(body)
	if st != http.StatusCreated || m == nil || !strings.HasPrefix(m[1], "sgk_") {
		t.Fatalf("create: %d\n%s", st, body)
	}
	key, err := e.st.Authenticate(t.Context(), m[1])
	if err != nil || key.Name != "CRM" || key.Role != accounts.RoleAdvanced {
		t.Fatalf("the secret shown authenticates as %+v, %v", key, err)
	}
	if _, body, _ := b.get("/keys"); strings.Contains(body, m[1]) || !strings.Contains(body, key.ID) {
		t.Fatalf("the keys page after creation shows the secret, or not the key")
	}
	if st, _, _ := b.post("/keys/revoke", url.Values{"key": {key.ID}}); st != http.StatusSeeOther {
		t.Fatalf("revoke: %d", st)
	}
	if _, err := e.st.Authenticate(t.Context(), m[1]); err == nil {
		t.Fatal("the revoked key still authenticates")
	}
}

// TestContactImport: a CSV import through the console's upload shows the
// rows refused with their errors, and imports the others.
func TestContactImport(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("ann@example.com")
	b.get("/contacts")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("csrf", b.csrf)
	fw, _ := mw.CreateFormFile("file", "staff.csv")
	_, _ = fw.Write([]byte("number,first_name,last_name\n0412345678,Bob,Smith\nnot-a-number,Eve,X\n0412000111,Carol,Jones\n"))
	_ = mw.Close()
	req, _ := http.NewRequest("POST", e.srv.URL+"/contacts/import", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	st, body, _ := b.read(resp)
	if st != http.StatusOK || !strings.Contains(body, "Imported 2 new contacts") || !strings.Contains(body, "not-a-number") || !strings.Contains(body, "1 rows refused") {
		t.Fatalf("import: %d\n%s", st, body)
	}
	if _, body, _ := b.get("/contacts?prefix=614"); !strings.Contains(body, "+61412345678") || !strings.Contains(body, "Carol") {
		t.Fatalf("the contacts after the import:\n%s", body)
	}
	// Contacts chosen on the list go to the Send page.
	if _, body, _ := b.get("/send?to=%2B61412345678&to=%2B61412000111"); !strings.Contains(body, ">&#43;61412345678, &#43;61412000111</textarea>") {
		t.Fatalf("the send page for chosen contacts:\n%s", body)
	}
	// A file past the upload bound is refused before it reaches the store.
	buf.Reset()
	mw = multipart.NewWriter(&buf)
	_ = mw.WriteField("csrf", b.csrf)
	fw, _ = mw.CreateFormFile("file", "big.csv")
	_, _ = fw.Write(bytes.Repeat([]byte("0412345678,Bob,Smith\n"), maxUpload/20))
	_ = mw.Close()
	req, _ = http.NewRequest("POST", e.srv.URL+"/contacts/import", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if resp, err = b.c.Do(req); err != nil {
		t.Fatal(err)
	}
	if st, body, _ := b.read(resp); st < 400 {
		t.Fatalf("an upload over %d bytes: %d\n%s", maxUpload, st, body)
	}
}

// TestRulePages: templates, opt-outs (with resubscribe) and webhooks (the
// signing secret shown once) through their forms.
func TestRulePages(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("ann@example.com")
	b.get("/templates")
	if st, _, _ := b.post("/templates/create", url.Values{"name": {"reminder"}, "body": {"Hi {{first_name}}, see you at {{body}}"}}); st != http.StatusSeeOther {
		t.Fatalf("create a template: %d", st)
	}
	if _, body, _ := b.get("/templates"); !strings.Contains(body, "reminder") || !strings.Contains(body, "Template reminder saved.") {
		t.Fatalf("templates:\n%s", body)
	}
	if st, _, _ := b.post("/optouts/add", url.Values{"number": {"0412 555 000"}, "reason": {"asked by phone"}}); st != http.StatusSeeOther {
		t.Fatalf("opt out: %d", st)
	}
	if _, body, _ := b.get("/optouts"); !strings.Contains(body, "+61412555000") || !strings.Contains(body, "asked by phone") {
		t.Fatalf("opt-outs:\n%s", body)
	}
	if st, _, _ := b.post("/optouts/resubscribe", url.Values{"number": {"61412555000"}}); st != http.StatusSeeOther {
		t.Fatalf("resubscribe: %d", st)
	}
	if _, body, _ := b.get("/optouts"); strings.Contains(body, "+61412555000") {
		t.Fatalf("resubscribed, still listed:\n%s", body)
	}
	st, body, _ := b.post("/webhooks/create", url.Values{"url": {"https://hooks.example.com/sms"}, "events": {"reply.received"}})
	if st != http.StatusCreated || secretRE.FindStringSubmatch(body) == nil || !strings.Contains(body, "https://hooks.example.com/sms") {
		t.Fatalf("create a webhook: %d\n%s", st, body)
	}
	// An internal address: the API's refusal, shown.
	if st, body, _ := b.post("/webhooks/create", url.Values{"url": {"https://127.0.0.1/x"}}); st < 400 || !strings.Contains(body, "url") {
		t.Fatalf("an internal webhook: %d\n%s", st, body)
	}
}

// TestAutomationPage: a keyword answer created, switched off, deleted.
func TestAutomationPage(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("ann@example.com")
	b.get("/automations")
	form := url.Values{"name": {"hours"}, "kind": {"auto_reply"}, "keyword": {"hours"}, "text": {"We are open 9 to 5."}}
	if st, body, _ := b.post("/automations/create", form); st != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", st, body)
	}
	rules, err := e.st.ListAutomations(t.Context(), e.root.ID)
	if err != nil || len(rules) != 1 || rules[0].Keyword != "HOURS" || !rules[0].Enabled {
		t.Fatalf("rules %+v, %v", rules, err)
	}
	if st, _, _ := b.post("/automations/disable", url.Values{"rule": {rules[0].ID}}); st != http.StatusSeeOther {
		t.Fatalf("disable: %d", st)
	}
	if rules, _ = e.st.ListAutomations(t.Context(), e.root.ID); rules[0].Enabled {
		t.Fatal("the rule is still on")
	}
	if st, body, _ := b.post("/automations/create", url.Values{"name": {"x"}, "kind": {"auto_reply"}}); st < 400 || !strings.Contains(body, "keyword") {
		t.Fatalf("a rule without its keyword: %d\n%s", st, body)
	}
	if st, _, _ := b.post("/automations/delete", url.Values{"rule": {rules[0].ID}}); st != http.StatusSeeOther {
		t.Fatalf("delete: %d", st)
	}
}

// TestSendPreviewGroups: the preview counts a group's members as
// recipients, beside the numbers typed.
func TestSendPreviewGroups(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	g, err := e.st.CreateGroup(ctx, e.root.ID, "Staff")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.AddGroupMembers(ctx, e.root.ID, g.ID, nil, []string{"0412000001", "0412000002", "0412000003"}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signIn("ann@example.com")
	if _, body, _ := b.get("/send"); !strings.Contains(body, `data-members="3"`) {
		t.Fatalf("the send page does not offer the group:\n%s", body)
	}
	form := url.Values{"to": {"0412345678"}, "group": {g.ID}, "text": {"Fire drill at 3"}, "action": {"preview"}}
	st, body, _ := b.post("/send", form)
	if st != http.StatusOK || !strings.Contains(body, "15 characters · GSM 7-bit · 1 part × 4 recipients") {
		t.Fatalf("preview: %d\n%s", st, body)
	}
}
