package api

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

// mAt is a request builder for "<prefix>{id}<suffix>" with no body.
func mAt(format string) func(*testing.T, *mWorld, *accounts.Account) (string, any) {
	return func(_ *testing.T, _ *mWorld, a *accounts.Account) (string, any) {
		return fmt.Sprintf(format, a.ID), nil
	}
}

// mWith is mAt with a body.
func mWith(format string, body any) func(*testing.T, *mWorld, *accounts.Account) (string, any) {
	return func(_ *testing.T, _ *mWorld, a *accounts.Account) (string, any) {
		return fmt.Sprintf(format, a.ID), body
	}
}

// mFixed is a request that names no account.
func mFixed(path string, body any) func(*testing.T, *mWorld, *accounts.Account) (string, any) {
	return func(*testing.T, *mWorld, *accounts.Account) (string, any) { return path, body }
}

const (
	mSubAdmin = accounts.RoleSubAdmin
	mAdvanced = accounts.RoleAdvanced
	mBasic    = accounts.RoleBasic
)

// matrixRows are the rules, one per route.
func matrixRows() []mRow {
	anyMember := func(pattern string, ok int, req func(*testing.T, *mWorld, *accounts.Account) (string, any)) mRow {
		return mRow{pattern: pattern, root: true, child: true, sub: mBasic, ok: ok, req: req}
	}
	admin := func(pattern string, ok int, req func(*testing.T, *mWorld, *accounts.Account) (string, any)) mRow {
		return mRow{pattern: pattern, root: true, child: true, sub: mSubAdmin, ok: ok, req: req}
	}
	parentOnly := func(pattern string, ok int, req func(*testing.T, *mWorld, *accounts.Account) (string, any)) mRow {
		return mRow{pattern: pattern, child: true, ok: ok, req: req}
	}
	flagged := func(r mRow, flag string) mRow { r.flag = flag; return r }
	withSibling := func(r mRow) mRow { r.sibling = true; return r }
	hide := func(r mRow) mRow { r.hidden = true; return r }
	own := func(r mRow) mRow { r.own = true; return r }
	money := func(r mRow) mRow { r.money = true; return r }
	moneyOnly := func(r mRow) mRow { r.moneyOnly = true; return r }
	ok, created, noContent := http.StatusOK, http.StatusCreated, http.StatusNoContent
	rows := []mRow{
		{pattern: "GET /healthz", public: ok, req: mFixed("/healthz", nil)},
		{pattern: "GET /readyz", public: ok, req: mFixed("/readyz", nil)},
		{pattern: "GET /healthz/links", public: ok, req: mFixed("/healthz/links", nil)},
		// The operator's routes: not open to tenants' keys (operator_test.go);
		// the matrix server has no operator keys.
		{pattern: "GET /v1/operator/unrouted", public: http.StatusServiceUnavailable, req: mFixed("/v1/operator/unrouted", nil)},
		{pattern: "GET /v1/operator/unrouted/{reply}", public: http.StatusServiceUnavailable, req: mFixed("/v1/operator/unrouted/r0-x", nil)},
		{pattern: "POST /v1/operator/unrouted/{reply}/assign", public: http.StatusServiceUnavailable, req: mFixed("/v1/operator/unrouted/r0-x/assign", map[string]any{"account_id": "a0-x"})},
		{pattern: "GET /metrics", public: ok, req: mFixed("/metrics", nil)},
		{pattern: "GET /v1/openapi.json", public: ok, req: mFixed("/v1/openapi.json", nil)},

		{pattern: "GET /v1/me", self: true, root: true, sub: mBasic, ok: ok, req: mFixed("/v1/me", nil), money: true},
		{pattern: "GET /v1/accounts", self: true, root: true, sub: mBasic, ok: ok, req: mFixed("/v1/accounts", nil), money: true},
		{pattern: "POST /v1/accounts", self: true, root: true, ok: created, req: mFixed("/v1/accounts", map[string]any{"name": "New"})},
		money(anyMember("GET /v1/accounts/{id}", ok, mAt("/v1/accounts/%s"))),
		flagged(admin("PATCH /v1/accounts/{id}", ok, mWith("/v1/accounts/%s", map[string]any{"name": "Renamed"})), accounts.FlagProfileEdit),
		parentOnly("POST /v1/accounts/{id}/activate", ok, mAt("/v1/accounts/%s/activate")),
		parentOnly("POST /v1/accounts/{id}/deactivate", ok, mAt("/v1/accounts/%s/deactivate")),

		anyMember("GET /v1/accounts/{id}/domains", ok, mAt("/v1/accounts/%s/domains")),
		admin("POST /v1/accounts/{id}/domains", created, func(_ *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			return "/v1/accounts/" + a.ID + "/domains", map[string]any{"domain": fmt.Sprintf("d%d.example.com", w.n)}
		}),
		admin("DELETE /v1/accounts/{id}/domains/{domain}", noContent, func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			d := fmt.Sprintf("d%d.example.com", w.n)
			if err := w.st.AddDomain(t.Context(), a.ID, d); err != nil {
				t.Fatal(err)
			}
			return "/v1/accounts/" + a.ID + "/domains/" + d, nil
		}),
		anyMember("GET /v1/accounts/{id}/addresses", ok, mAt("/v1/accounts/%s/addresses")),
		admin("POST /v1/accounts/{id}/addresses", created, func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			d := fmt.Sprintf("own%d.example.com", w.n) // inside its verified domain: registered at once
			if err := w.st.AddDomain(t.Context(), a.ID, d); err != nil {
				t.Fatal(err)
			}
			return "/v1/accounts/" + a.ID + "/addresses", map[string]any{"address": "jo@" + d}
		}),
		admin("POST /v1/accounts/{id}/domains/{domain}/verify", ok, func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			d := fmt.Sprintf("v%d.example.com", w.n)
			if _, err := w.st.RequestDomain(t.Context(), a.ID, d); err != nil {
				t.Fatal(err)
			}
			return "/v1/accounts/" + a.ID + "/domains/" + d + "/verify", nil
		}),
		admin("DELETE /v1/accounts/{id}/addresses/{address}", noContent, func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			addr := fmt.Sprintf("jo%d@example.com", w.n)
			if err := w.st.AddAddress(t.Context(), a.ID, addr); err != nil {
				t.Fatal(err)
			}
			return "/v1/accounts/" + a.ID + "/addresses/" + addr, nil
		}),

		parentOnly("POST /v1/accounts/{id}/credit", ok, mWith("/v1/accounts/%s/credit", map[string]any{"amount": 1, "ref": "m"})),
		parentOnly("POST /v1/accounts/{id}/debit", ok, func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			w.fund(t, a)
			return "/v1/accounts/" + a.ID + "/debit", map[string]any{"amount": 1, "ref": "m"}
		}),
		moneyOnly(flagged(admin("GET /v1/accounts/{id}/ledger", ok, mAt("/v1/accounts/%s/ledger")), accounts.FlagFinance)),

		admin("GET /v1/accounts/{id}/keys", ok, mAt("/v1/accounts/%s/keys")),
		admin("POST /v1/accounts/{id}/keys", created, mWith("/v1/accounts/%s/keys", map[string]any{"role": "advanced", "name": "m"})),
		admin("DELETE /v1/accounts/{id}/keys/{key}", noContent, func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			_, k, err := w.st.CreateKey(t.Context(), a.ID, accounts.RoleAdvanced, "victim")
			if err != nil {
				t.Fatal(err)
			}
			return "/v1/accounts/" + a.ID + "/keys/" + k.ID, nil
		}),
		admin("POST /v1/accounts/{id}/keys/{key}/rotate", ok, func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			_, k, err := w.st.CreateKey(t.Context(), a.ID, accounts.RoleAdvanced, "rotated")
			if err != nil {
				t.Fatal(err)
			}
			return "/v1/accounts/" + a.ID + "/keys/" + k.ID + "/rotate", nil
		}),

		// The message log and the inbox: a basic user's own only (own).
		money(own(withSibling(anyMember("GET /v1/messages", ok, func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			w.objects = []string{w.message(t, a)}
			return "/v1/messages?account=" + a.ID, nil
		})))),
		money(own(hide(withSibling(anyMember("GET /v1/messages/{id}", ok, func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			w.objects = []string{w.message(t, a)}
			return "/v1/messages/" + w.objects[0], nil
		}))))),
		own(flagged(anyMember("GET /v1/inbox", ok, func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			w.objects = []string{w.reply(t, a)}
			return "/v1/inbox?account=" + a.ID, nil
		}), accounts.FlagIncomingSMS)),
		own(hide(flagged(anyMember("GET /v1/inbox/{id}", ok, func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			w.objects = []string{w.reply(t, a)}
			return "/v1/inbox/" + w.objects[0], nil
		}), accounts.FlagIncomingSMS))),
		// Inbox state and reply rules.
		own(hide(flagged(anyMember("PATCH /v1/inbox/{id}", ok, func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			w.objects = []string{w.reply(t, a)}
			return "/v1/inbox/" + w.objects[0], map[string]any{"read": true}
		}), accounts.FlagIncomingSMS))),
		flagged(admin("GET /v1/accounts/{id}/reply-rules", ok, mAt("/v1/accounts/%s/reply-rules")), accounts.FlagSettings),
		flagged(admin("PUT /v1/accounts/{id}/reply-rules", ok, mWith("/v1/accounts/%s/reply-rules",
			map[string]any{"forward_to": []string{"ops@example.com"}})), accounts.FlagSettings),

		anyMember("GET /v1/accounts/{id}/permissions", ok, mAt("/v1/accounts/%s/permissions")),
		{pattern: "PUT /v1/accounts/{id}/permissions", child: true, sub: mSubAdmin, flag: accounts.FlagModifyUsers, ok: ok,
			req: mWith("/v1/accounts/%s/permissions", map[string]any{"enabled": []string{accounts.FlagAccessSMS, accounts.FlagModifyUsers}}),
			override: func(c mCaller, tg mTarget) int {
				if c == cRootAdmin && tg == tOwn {
					return http.StatusUnprocessableEntity // a root has every flag: nothing to set
				}
				return 0
			}},
	}
	rows = append(rows, matrixContactRows()...)    // api/contacts_test.go
	rows = append(rows, matrixAutomationRows()...) // api/automation_test.go
	rows = append(rows, matrixOptOutRows()...)     // optout_test.go
	rows = append(rows, matrixTemplateRows()...)   // api/templates_test.go
	rows = append(rows, matrixSenderRows()...)     // api/senders_test.go
	rows = append(rows, matrixLimitsRows()...)     // api/limits_test.go
	rows = append(rows, matrixPolicyRows()...)     // api/policy_test.go
	return append(rows, matrixAreaRows()...)
}

// matrixAreaRows are the matrix rows of the routes the other areas added
// (users, messages and statistics, webhooks, money and prices).
func matrixAreaRows() []mRow {
	ok, created, accepted, noContent := http.StatusOK, http.StatusCreated, http.StatusAccepted, http.StatusNoContent
	row := func(pattern string, root, child bool, sub accounts.Role, flag string, status int,
		req func(*testing.T, *mWorld, *accounts.Account) (string, any)) mRow {
		return mRow{pattern: pattern, root: root, child: child, sub: sub, flag: flag, ok: status, req: req}
	}
	member := func(t *testing.T, w *mWorld, a *accounts.Account) string {
		t.Helper()
		if _, err := w.st.AddMember(t.Context(), a.ID, w.userID, accounts.RoleBasic); err != nil {
			t.Fatalf("add member: %v", err)
		}
		return w.userID
	}
	hook := func(t *testing.T, w *mWorld, a *accounts.Account) string {
		t.Helper()
		h, _, err := w.hooks.Create(t.Context(), a.ID, "https://hooks.example.com/in", nil)
		if err != nil {
			t.Fatalf("create webhook: %v", err)
		}
		return h.ID
	}
	onHook := func(method, suffix string, status int) mRow {
		return row(method+" /v1/accounts/{id}/webhooks/{wh}"+suffix, true, true, mSubAdmin, "", status,
			func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
				return "/v1/accounts/" + a.ID + "/webhooks/" + hook(t, w, a) + suffix, nil
			})
	}
	stats := row("GET /v1/accounts/{id}/stats", true, true, mBasic, accounts.FlagAnalytics, ok, func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
		w.message(t, a)
		w.objects = []string{w.sender} // a row of the sender's
		return "/v1/accounts/" + a.ID + "/stats?by=sender", nil
	})
	stats.sibling, stats.own, stats.money = true, true, true
	// A root has no parent to pull from: its own admin gets 422, not 403.
	withMoney := func(r mRow) mRow { r.money = true; return r }
	onlyMoney := func(r mRow) mRow { r.moneyOnly = true; return r }
	topup := row("POST /v1/accounts/{id}/topup", true, true, mSubAdmin, accounts.FlagTopUp, ok, mWith("/v1/accounts/%s/topup", map[string]any{"amount": 1, "ref": "m"}))
	topup.money = true
	topup.override = func(c mCaller, tg mTarget) int {
		if c == cRootAdmin && tg == tOwn {
			return http.StatusUnprocessableEntity
		}
		return 0
	}
	return []mRow{
		// Users and invitations (advanced users view users; admins invite).
		row("GET /v1/accounts/{id}/members", true, true, mAdvanced, "", ok, mAt("/v1/accounts/%s/members")),
		row("PATCH /v1/accounts/{id}/members/{user}", true, true, mSubAdmin, "", ok, func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			return "/v1/accounts/" + a.ID + "/members/" + member(t, w, a), map[string]any{"role": "advanced"}
		}),
		row("DELETE /v1/accounts/{id}/members/{user}", true, true, mSubAdmin, "", noContent, func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			return "/v1/accounts/" + a.ID + "/members/" + member(t, w, a), nil
		}),
		row("GET /v1/accounts/{id}/invitations", true, true, mSubAdmin, "", ok, mAt("/v1/accounts/%s/invitations")),
		row("POST /v1/accounts/{id}/invitations", true, true, mSubAdmin, "", created, func(_ *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			return "/v1/accounts/" + a.ID + "/invitations", map[string]any{"email": fmt.Sprintf("inv%d@example.com", w.n), "role": "basic"}
		}),
		row("DELETE /v1/accounts/{id}/invitations/{inv}", true, true, mSubAdmin, "", noContent, func(t *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			_, inv, err := w.st.CreateInvitation(t.Context(), accounts.InvitationRequest{AccountID: a.ID,
				Email: fmt.Sprintf("inv%d@example.com", w.n), Role: accounts.RoleBasic, CreatedBy: "test"})
			if err != nil {
				t.Fatalf("create invitation: %v", err)
			}
			return "/v1/accounts/" + a.ID + "/invitations/" + inv.ID, nil
		}),
		{pattern: "POST /v1/invitations/accept", public: http.StatusNotFound,
			req: mFixed("/v1/invitations/accept", map[string]any{"token": "no-such-token", "name": "Jo", "password": "long enough password"})},
		{pattern: "POST /v1/address-confirmations", public: http.StatusNotFound,
			req: mFixed("/v1/address-confirmations", map[string]any{"token": "no-such-token"})},
		{pattern: "POST /v1/auth/login", public: http.StatusUnauthorized,
			req: mFixed("/v1/auth/login", map[string]any{"email": "nobody@example.com", "password": "not the password", "account_id": "a0-nope"})},
		// Every key of the matrix is long-lived, none a login session: each
		// is refused (TestLogout ends a real session).
		{pattern: "POST /v1/auth/logout", self: true, root: true, sub: mBasic, ok: http.StatusBadRequest, req: mFixed("/v1/auth/logout", nil)},
		// Personal keys belong to users: only the basic caller is one.
		{pattern: "POST /v1/me/keys", self: true, sub: mBasic, ok: created, req: mFixed("/v1/me/keys", map[string]any{"name": "mine"}),
			override: func(c mCaller, _ mTarget) int {
				if c != cBasic {
					return http.StatusForbidden
				}
				return 0
			}},

		// Messages: sending (the parent's admins send as the parent, not as a
		// child) and exports (never mBasic).
		row("POST /v1/messages", true, false, mBasic, accounts.FlagAccessSMS, created, func(_ *testing.T, w *mWorld, a *accounts.Account) (string, any) {
			return "/v1/messages", map[string]any{"account": a.ID, "to": []string{"+" + w.number()}, "text": "hello"}
		}),
		withMoney(row("GET /v1/messages.csv", true, true, mAdvanced, accounts.FlagAnalyticsExport, ok, mAt("/v1/messages.csv?account=%s"))),
		row("GET /v1/inbox.csv", true, true, mAdvanced, accounts.FlagIncomingSMSExport, ok, mAt("/v1/inbox.csv?account=%s")),

		// Statistics (basic users their own; reporting_all: siblings).
		stats,
		withMoney(row("GET /v1/accounts/{id}/stats.csv", true, true, mAdvanced, accounts.FlagAnalyticsExport, ok, mAt("/v1/accounts/%s/stats.csv"))),

		// Webhooks: sub-account administrators.
		row("GET /v1/accounts/{id}/webhooks", true, true, mSubAdmin, "", ok, mAt("/v1/accounts/%s/webhooks")),
		row("POST /v1/accounts/{id}/webhooks", true, true, mSubAdmin, "", created,
			mWith("/v1/accounts/%s/webhooks", map[string]any{"url": "https://hooks.example.com/in", "events": []string{"message.status"}})),
		onHook("GET", "", ok),
		onHook("DELETE", "", noContent),
		onHook("POST", "/enable", ok),
		onHook("POST", "/rotate-secret", ok),
		onHook("POST", "/test", accepted),
		onHook("GET", "/deliveries", ok),

		// Money and hierarchy (billing data and top-ups; flags top_up,
		// prices and finance).
		row("DELETE /v1/accounts/{id}", false, true, "", "", ok, mAt("/v1/accounts/%s")),
		onlyMoney(row("GET /v1/accounts/{id}/prices", true, true, mBasic, accounts.FlagPrices, ok, mAt("/v1/accounts/%s/prices"))),
		// A root's prices are the operator's (smsgate admin billing).
		row("PUT /v1/accounts/{id}/prices", false, true, "", "", ok, mWith("/v1/accounts/%s/prices", map[string]any{"prefixes": map[string]int64{"61": 5}})),
		topup,
		onlyMoney(row("GET /v1/accounts/{id}/ledger.csv", true, true, mSubAdmin, accounts.FlagFinance, ok, mAt("/v1/accounts/%s/ledger.csv"))),
	}
}
