package api

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/router"
)

// matrixOptOutRows are the authorisation matrix rows of the opt-out, Stop
// rule and blocked routes (resubscribe is a sub-account administrator's;
// flags blocked_sms and blocked_sms_export gate blocked SMS and its export).
func matrixOptOutRows() []mRow {
	ok, created, noContent := http.StatusOK, http.StatusCreated, http.StatusNoContent
	row := func(pattern string, sub accounts.Role, flag string, status int,
		req func(*testing.T, *mWorld, *accounts.Account) (string, any)) mRow {
		return mRow{pattern: pattern, root: true, child: true, sub: sub, flag: flag, ok: status, req: req}
	}
	return []mRow{
		row("GET /v1/accounts/{id}/optouts", mAdvanced, accounts.FlagBlockedSMS, ok, mAt("/v1/accounts/%s/optouts")),
		row("POST /v1/accounts/{id}/optouts", mSubAdmin, accounts.FlagSettings, created,
			func(_ *testing.T, w *mWorld, a *accounts.Account) (string, any) {
				return "/v1/accounts/" + a.ID + "/optouts", map[string]any{"number": "+" + w.number()}
			}),
		row("DELETE /v1/accounts/{id}/optouts/{number}", mSubAdmin, "", noContent,
			func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
				if _, err := w.st.AddOptOut(t.Context(), a.ID, accounts.OptOut{Number: w.number()}); err != nil {
					t.Fatalf("opt out: %v", err)
				}
				return "/v1/accounts/" + a.ID + "/optouts/" + w.number(), nil
			}),
		row("GET /v1/accounts/{id}/stop-rule", mSubAdmin, accounts.FlagSettings, ok, mAt("/v1/accounts/%s/stop-rule")),
		row("PUT /v1/accounts/{id}/stop-rule", mSubAdmin, accounts.FlagSettings, ok,
			mWith("/v1/accounts/%s/stop-rule", map[string]any{"keywords": []string{"STOP"}})),
		row("GET /v1/accounts/{id}/blocked", mAdvanced, accounts.FlagBlockedSMS, ok, mAt("/v1/accounts/%s/blocked")),
		row("GET /v1/accounts/{id}/blocked.csv", mAdvanced, accounts.FlagBlockedSMSExport, ok, mAt("/v1/accounts/%s/blocked.csv")),
	}
}

func TestOptOutRoutes(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	pathA := "/v1/accounts/" + f.subA.ID + "/optouts"

	// Added by hand by the sub-account's administrator.
	var added optOutAdded
	f.expect(f.subAKey, "POST", pathA, map[string]any{"number": "0412 345 678", "reason": "asked by phone"}, http.StatusCreated, &added)
	if !added.Added || added.ListOwner != f.subA.ID || added.OptOut.Number != "61412345678" ||
		!strings.HasPrefix(added.OptOut.Via, "api key ") || added.OptOut.Reason != "asked by phone" {
		t.Fatalf("POST optouts = %+v", added)
	}
	f.expect(f.subAKey, "POST", pathA, map[string]any{"number": "+61412345678"}, http.StatusOK, &added)
	if added.Added {
		t.Errorf("second POST added it again: %+v", added)
	}
	for _, tc := range []struct {
		name string
		body any
		code int
		want string
	}{
		{"bad number", map[string]any{"number": "12"}, http.StatusUnprocessableEntity, `number: "12" is not a valid number`},
		{"no number", map[string]any{"reason": "x"}, http.StatusUnprocessableEntity, "number: is required"},
		{"unknown field", map[string]any{"number": "0412345678", "why": "x"}, http.StatusBadRequest, "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if p := f.problem(f.subAKey, "POST", pathA, tc.body, tc.code); !strings.Contains(p.Detail, tc.want) {
				t.Errorf("detail %q lacks %q", p.Detail, tc.want)
			}
		})
	}
	var list optOutList
	f.expect(f.subAKey, "GET", pathA, nil, http.StatusOK, &list)
	if list.Shared || list.ListOwner != f.subA.ID || len(list.OptOuts) != 1 || list.OptOuts[0].Number != "61412345678" {
		t.Fatalf("GET optouts = %+v", list)
	}

	// A send to it is blocked, uncharged, and in the blocked log.
	_, err := f.store.Accept(ctx, accounts.AcceptRequest{AccountID: f.subA.ID, Messages: []*accounts.Message{{
		Sender: "jo@example.com", To: "61412345678", Text: "hi", Parts: 1}}})
	if !strings.Contains(err.Error(), "all recipients have opted out") {
		t.Fatalf("accept: %v", err)
	}
	var blocked blockedList
	f.expect(f.subAKey, "GET", "/v1/accounts/"+f.subA.ID+"/blocked", nil, http.StatusOK, &blocked)
	if len(blocked.Messages) != 1 || blocked.Messages[0].Status != accounts.MsgBlocked || blocked.Messages[0].Price != 0 {
		t.Fatalf("GET blocked = %+v", blocked)
	}
	// The export needs blocked_sms_export, which sub-accounts lack by default.
	f.problem(f.subAKey, "GET", "/v1/accounts/"+f.subA.ID+"/blocked.csv", nil, http.StatusForbidden)
	code, csv, hdr := f.do(f.rootKey, "GET", "/v1/accounts/"+f.subA.ID+"/blocked.csv", nil)
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") ||
		!strings.Contains(string(csv), "61412345678") || !strings.HasPrefix(string(csv), "id,created_at,sender,to") {
		t.Errorf("blocked.csv: %d %s", code, csv)
	}

	// Resubscribe: the sub-account's administrator; a number not on the
	// list is 404.
	f.expect(f.subAKey, "DELETE", pathA+"/+61412345678", nil, http.StatusNoContent, nil)
	if p := f.problem(f.subAKey, "DELETE", pathA+"/61412345678", nil, http.StatusNotFound); !strings.Contains(p.Detail, "+61412345678") {
		t.Errorf("404 detail %q does not name the number", p.Detail)
	}
	f.problem(f.subAKey, "DELETE", pathA+"/12", nil, http.StatusUnprocessableEntity)
}

// TestOptOutSharedList: a sub-account with share_contacts uses its
// parent's list; only the parent's administrators resubscribe on it.
func TestOptOutSharedList(t *testing.T) {
	f := newFixture(t)
	f.billingFlags(f.subB.ID, accounts.FlagShareContacts)
	pathB := "/v1/accounts/" + f.subB.ID + "/optouts"
	var added optOutAdded
	f.expect(f.subBKey, "POST", pathB, map[string]any{"number": "+61412345678"}, http.StatusCreated, &added)
	if added.ListOwner != f.root.ID {
		t.Fatalf("added to %s, want the parent's list %s", added.ListOwner, f.root.ID)
	}
	var list optOutList
	f.expect(f.subBKey, "GET", pathB, nil, http.StatusOK, &list)
	if !list.Shared || list.ListOwner != f.root.ID || len(list.OptOuts) != 1 {
		t.Fatalf("GET shared list = %+v", list)
	}
	f.expect(f.rootKey, "GET", "/v1/accounts/"+f.root.ID+"/optouts", nil, http.StatusOK, &list)
	if list.Shared || len(list.OptOuts) != 1 {
		t.Fatalf("the parent's own list = %+v", list)
	}
	// subA does not share: its list is its own and empty.
	f.expect(f.subAKey, "GET", "/v1/accounts/"+f.subA.ID+"/optouts", nil, http.StatusOK, &list)
	if len(list.OptOuts) != 0 {
		t.Errorf("subA sees the shared list: %+v", list)
	}
	p := f.problem(f.subBKey, "DELETE", pathB+"/61412345678", nil, http.StatusForbidden)
	if !strings.Contains(p.Detail, "shared opt-out list of parent account "+f.root.ID) {
		t.Errorf("403 detail %q", p.Detail)
	}
	f.expect(f.rootKey, "DELETE", pathB+"/61412345678", nil, http.StatusNoContent, nil)
}

func TestStopRuleRoutes(t *testing.T) {
	f := newFixture(t)
	path := "/v1/accounts/" + f.subA.ID + "/stop-rule"
	var rule accounts.StopRule
	f.expect(f.subAKey, "GET", path, nil, http.StatusOK, &rule)
	if !slices.Equal(rule.Keywords, accounts.DefaultStopRule().Keywords) || rule.AllowStart ||
		rule.Confirmation != accounts.DefaultStopConfirmation {
		t.Fatalf("default rule %+v", rule)
	}
	f.expect(f.subAKey, "PUT", path, map[string]any{"keywords": []string{"halt", "Stop"}, "allow_start": true, "confirmation": ""},
		http.StatusOK, &rule)
	f.expect(f.subAKey, "GET", path, nil, http.StatusOK, &rule)
	if !slices.Equal(rule.Keywords, []string{"HALT", "STOP"}) || !rule.AllowStart || rule.Confirmation != "" ||
		rule.StartConfirmation != accounts.DefaultStartConfirmation ||
		!slices.Equal(rule.StartKeywords, accounts.DefaultStopRule().StartKeywords) {
		t.Fatalf("stored rule %+v", rule)
	}
	for _, tc := range []struct {
		name string
		body any
		code int
		want string
	}{
		{"no keywords", map[string]any{"keywords": []string{}}, http.StatusUnprocessableEntity, "keywords: at least one stop keyword is required"},
		{"keyword in both", map[string]any{"keywords": []string{"STOP"}, "start_keywords": []string{"stop"}},
			http.StatusUnprocessableEntity, `start_keywords: "STOP" is also a stop keyword`},
		{"unknown field", map[string]any{"keyword": "STOP"}, http.StatusBadRequest, "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if p := f.problem(f.subAKey, "PUT", path, tc.body, tc.code); !strings.Contains(p.Detail, tc.want) {
				t.Errorf("detail %q lacks %q", p.Detail, tc.want)
			}
		})
	}
}

// TestSendOptedOut: POST /v1/messages to numbers that have all opted out
// answers 422 opted-out naming them masked; nothing is charged.
func TestSendOptedOut(t *testing.T) {
	base := newFixture(t)
	f := base.withSender(router.NewPipeline(router.PipelineOptions{Store: base.store, DefaultSource: "61400000000"}))
	ctx := t.Context()
	if _, err := f.store.AddOptOut(ctx, f.root.ID, accounts.OptOut{Number: "61412345678"}); err != nil {
		t.Fatal(err)
	}
	before := f.account(f.root.ID).Balance
	p := f.problem(f.rootKey, "POST", "/v1/messages", map[string]any{"to": []string{"+61412345678"}, "text": "hi"},
		http.StatusUnprocessableEntity)
	if p.Type != problemBase+"opted-out" || p.Detail != "to: all recipients have opted out: *******5678" {
		t.Errorf("problem %+v", p)
	}
	if after := f.account(f.root.ID).Balance; after != before {
		t.Errorf("balance %d, was %d", after, before)
	}
}
