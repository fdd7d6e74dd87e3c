package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/api"
)

// routes are the console's pages and actions.
func (c *Console) routes() []route {
	in := c.signedIn
	return []route{
		// Browsers ask for it on every site; there is none (and no redirect
		// to the sign-in page for it).
		{"GET /favicon.ico", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })},
		{"GET /signin", http.HandlerFunc(c.signIn)},
		{"POST /signin", http.HandlerFunc(c.signIn)},
		{"GET /invite", http.HandlerFunc(c.invite)},
		{"POST /invite", http.HandlerFunc(c.invite)},
		{"POST /signout", in(c.signOut)},
		{"GET /{$}", in(c.overview)},
		{"GET /messages", in(c.messages)},
		{"GET /messages.csv", in(c.messagesCSV)},
		{"GET /messages/{id}", in(c.message)},
		{"GET /send", in(c.sendPage)},
		{"POST /send", in(c.sendPage)},
		{"GET /inbox", in(c.inbox)},
		{"GET /inbox.csv", in(c.inboxCSV)},
		{"POST /inbox/{id}", in(c.replyState)},
		{"GET /team", in(c.team)},
		{"POST /team", in(c.createSub)},
		{"GET /team/{id}", in(c.subAccount)},
		{"POST /team/{id}/{op}", in(c.subAction)},
		{"GET /users", in(c.users)},
		{"POST /users/invite", in(c.inviteUser)},
		{"POST /users/invitations/{inv}/revoke", in(c.revokeInvitation)},
		{"POST /users/invitations/{inv}/resend", in(c.resendInvitation)},
		{"POST /users/members/{user}/{op}", in(c.memberAction)},
		{"GET /keys", in(c.keys)},
		{"POST /keys/{op}", in(c.keyAction)},
		{"GET /stats", in(c.stats)},
		{"GET /stats.csv", in(c.statsCSV)},
		{"GET /contacts", in(c.contacts)},
		{"GET /contacts.csv", in(c.contactsCSV)},
		{"POST /contacts/{op}", in(c.contactAction)},
		{"GET /groups/{g}", in(c.group)},
		{"POST /groups/{g}/{op}", in(c.groupAction)},
		{"GET /templates", in(c.templates)},
		{"POST /templates/{op}", in(c.templateAction)},
		{"GET /optouts", in(c.optOuts)},
		{"POST /optouts/{op}", in(c.optOutAction)},
		{"GET /webhooks", in(c.webhooks)},
		{"GET /webhooks/{wh}", in(c.webhookLog)},
		{"POST /webhooks/{op}", in(c.webhookAction)},
		{"GET /automations", in(c.automations)},
		{"POST /automations/{op}", in(c.automationAction)},
		{"GET /settings", in(c.settings)},
		{"POST /settings/{op}", in(c.settingsAction)},
		{"GET /email", in(c.email)},
		{"POST /email/{op}", in(c.emailAction)},
		{"GET /", in(func(http.ResponseWriter, *http.Request, *session) error {
			return &api.Problem{Status: http.StatusNotFound, Title: "Not found", Detail: "there is no such page"}
		})},
	}
}

// forbidden is the page of an action the user may not use (the API would
// refuse it too: the console does not even ask).
func forbidden(what string) error {
	return &api.Problem{Status: http.StatusForbidden, Title: "Forbidden", Detail: "your role or your account's permissions do not allow you to " + what}
}

// overviewData is the overview page's data.
type overviewData struct {
	Today, Month  accounts.StatsRow
	Stats         bool // the user may read statistics
	Failures      []*accounts.Message
	LowBalance    bool
	ShowsMoney    bool
	DeliveredRate string
}

// overview: balance, today's and this month's messages and spend, the
// delivery rate, recent failures, a low-balance warning.
func (c *Console) overview(w http.ResponseWriter, r *http.Request, s *session) error {
	a := s.me.Account
	d := overviewData{ShowsMoney: !a.HidesPricing()}
	d.LowBalance = d.ShowsMoney && (a.Balance <= 0 && a.Billing != accounts.BillingPostpaid || a.LowBalance > 0 && a.Balance < a.LowBalance)
	now := c.now().UTC()
	if s.may("stats") {
		d.Stats = true
		monthStart := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		var st struct {
			Rows  []accounts.StatsRow `json:"rows"`
			Total accounts.StatsRow   `json:"total"`
		}
		q := url.Values{"from": {monthStart.Format(time.DateOnly)}, "to": {now.Format(time.DateOnly)}}
		if err := c.api.call(r, s.secret, "GET", "/v1/accounts/"+esc(a.ID)+"/stats", q, nil, &st); err != nil {
			return err
		}
		d.Month = st.Total
		for _, row := range st.Rows {
			if row.Day == now.Format(time.DateOnly) {
				d.Today = row
			}
		}
		d.DeliveredRate = pct(d.Month.Delivered, d.Month.Delivered+d.Month.Failed+d.Month.Undeliverable+d.Month.Expired+d.Month.Rejected)
	}
	if s.may("messages") {
		var list struct {
			Messages []*accounts.Message `json:"messages"`
		}
		q := url.Values{"status": {"failed,undeliverable,rejected,expired"}, "limit": {"5"}}
		if err := c.api.call(r, s.secret, "GET", "/v1/messages", q, nil, &list); err != nil {
			return err
		}
		d.Failures = list.Messages
	}
	v := c.view(w, r, s, "Overview", "overview")
	v.Data = d
	c.render(w, http.StatusOK, "overview", v)
	return nil
}

// logFilter is the message log's (and the inbox's) filter form.
type logFilter struct {
	Account, Status, State, Sender, Number, From, To, Cursor string
}

// query is the filter as the API's query parameters.
func (f logFilter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"account": f.Account, "status": f.Status, "state": f.State, "sender": f.Sender,
		"number": f.Number, "from": f.From, "to": f.To, "cursor": f.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// filterOf reads the filter form of r.
func filterOf(r *http.Request) logFilter {
	v := r.URL.Query()
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	return logFilter{Account: get("account"), Status: get("status"), State: get("state"), Sender: get("sender"),
		Number: get("number"), From: get("from"), To: get("to"), Cursor: get("cursor")}
}

// messagesData is the message log's data.
type messagesData struct {
	Filter   logFilter
	Messages []*accounts.Message
	NextURL  string
	Accounts []accounts.Account // the sub-accounts a parent may filter on
	CSVURL   string
	Statuses []string
}

// subAccounts lists the accounts the user sees beside their own (a
// parent_admin's sub-accounts), for filters.
func (c *Console) subAccounts(r *http.Request, s *session) ([]accounts.Account, error) {
	if len(s.me.MayOnSubs) == 0 {
		return nil, nil
	}
	var list struct {
		Accounts []accounts.Account `json:"accounts"`
	}
	if err := c.api.call(r, s.secret, "GET", "/v1/accounts", nil, nil, &list); err != nil {
		return nil, err
	}
	return list.Accounts, nil
}

// messages is the message log with filters and paging.
func (c *Console) messages(w http.ResponseWriter, r *http.Request, s *session) error {
	if !s.may("messages") {
		return forbidden("read the message log")
	}
	f := filterOf(r)
	d := messagesData{Filter: f, Statuses: []string{"queued", "submitted", "delivered", "undeliverable", "expired", "rejected", "failed"}}
	var list struct {
		Messages []*accounts.Message `json:"messages"`
		Next     string              `json:"next"`
	}
	v := c.view(w, r, s, "Messages", "messages")
	err := c.api.call(r, s.secret, "GET", "/v1/messages", f.query(), nil, &list)
	if err := v.showRefusal(err); err != nil {
		return err
	}
	d.Messages = list.Messages
	if list.Next != "" {
		nf := f
		nf.Cursor = list.Next
		d.NextURL = "/messages?" + nf.query().Encode()
	}
	if d.Accounts, err = c.subAccounts(r, s); err != nil {
		return err
	}
	if s.may("messages_export") || len(s.me.MayOnSubs) > 0 && f.Account != "" && f.Account != s.me.Account.ID && s.maySub("messages_export") {
		ef := f
		ef.Cursor = ""
		d.CSVURL = "/messages.csv?" + ef.query().Encode()
	}
	v.Data = d
	c.render(w, http.StatusOK, "messages", v)
	return nil
}

// messagesCSV passes the API's CSV export through.
func (c *Console) messagesCSV(w http.ResponseWriter, r *http.Request, s *session) error {
	f := filterOf(r)
	f.Cursor = ""
	return c.api.download(w, r, s.secret, "/v1/messages.csv", f.query())
}

// message is one message with its delivery history.
func (c *Console) message(w http.ResponseWriter, r *http.Request, s *session) error {
	var m accounts.Message
	if err := c.api.call(r, s.secret, "GET", "/v1/messages/"+esc(r.PathValue("id")), nil, nil, &m); err != nil {
		return err
	}
	v := c.view(w, r, s, "Message "+m.ID, "messages")
	v.Data = &m
	c.render(w, http.StatusOK, "message", v)
	return nil
}
