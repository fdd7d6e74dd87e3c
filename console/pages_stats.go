package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/smsgate/smsgate/accounts"
)

// statsData is the statistics page's data.
type statsData struct {
	AccountID, From, To, By, Sender string
	Accounts                        []accounts.Account
	Rows                            []accounts.StatsRow
	Total                           accounts.StatsRow
	Chart                           *barChart
	CSVURL                          string
	ShowsMoney                      bool
	Subs                            bool // the user may report per sub-account
}

// barChart is a server-rendered SVG bar chart: one bar per row.
type barChart struct {
	Width, Height int
	Bars          []bar
	Max           int64
}

// bar is one bar of a chart, in the SVG's coordinates.
type bar struct {
	X, Y, W, H int
	Label      string
	Value      int64
	Tick       bool // label it under the axis
}

const chartW, chartH, chartPad = 720, 200, 20

// chartOf draws one bar per row: messages per day (or per sender or
// account), scaled to the largest.
func chartOf(rows []accounts.StatsRow, label func(accounts.StatsRow) string) *barChart {
	if len(rows) == 0 {
		return nil
	}
	ch := &barChart{Width: chartW, Height: chartH + chartPad}
	for _, r := range rows {
		ch.Max = max(ch.Max, r.Messages)
	}
	step := chartW / len(rows)
	every := max(1, len(rows)/8) // at most ~8 labels
	for i, r := range rows {
		h := 0
		if ch.Max > 0 {
			h = int(r.Messages * chartH / ch.Max)
		}
		ch.Bars = append(ch.Bars, bar{X: i*step + step/8, Y: chartH - h, W: max(1, step*3/4), H: h,
			Label: label(r), Value: r.Messages, Tick: i%every == 0})
	}
	return ch
}

// stats shows statistics per day, per sender or per sub-account, with a
// chart and the CSV export.
func (c *Console) stats(w http.ResponseWriter, r *http.Request, s *session) error {
	id := usersAccount(r, s)
	if err := s.scope(id, "stats", "read this account's statistics"); err != nil {
		return err
	}
	q := r.URL.Query()
	d := statsData{AccountID: id, From: q.Get("from"), To: q.Get("to"), By: q.Get("by"), Sender: strings.TrimSpace(q.Get("sender")),
		ShowsMoney: !s.me.Account.HidesPricing(), Subs: id == s.me.Account.ID && len(s.me.MayOnSubs) > 0}
	now := c.now().UTC()
	if d.To == "" {
		d.To = now.Format(time.DateOnly)
	}
	if d.From == "" {
		d.From = now.AddDate(0, 0, -29).Format(time.DateOnly)
	}
	aq := url.Values{"from": {d.From}, "to": {d.To}}
	switch d.By {
	case "account":
		aq.Set("subaccounts", "true")
	case "sender", "day":
		aq.Set("by", d.By)
	default:
		d.By = "day"
	}
	if d.Sender != "" {
		aq.Set("sender", d.Sender)
	}
	var st struct {
		Rows  []accounts.StatsRow `json:"rows"`
		Total accounts.StatsRow   `json:"total"`
	}
	v := c.view(w, r, s, "Statistics", "stats")
	err := c.api.call(r, s.secret, "GET", "/v1/accounts/"+esc(id)+"/stats", aq, nil, &st)
	if err := v.showRefusal(err); err != nil {
		return err
	}
	d.Rows, d.Total = st.Rows, st.Total
	label := func(r accounts.StatsRow) string { return r.Day }
	switch d.By {
	case "sender":
		label = func(r accounts.StatsRow) string { return r.Sender }
	case "account":
		label = func(r accounts.StatsRow) string { return r.Name }
	}
	chartRows := d.Rows
	if d.By == "day" {
		chartRows = everyDay(d.Rows, d.From, d.To)
	}
	d.Chart = chartOf(chartRows, label)
	if s.mayOn(id, "stats_export") {
		d.CSVURL = "/stats.csv?" + url.Values{"account": {id}, "from": {d.From}, "to": {d.To}, "by": {d.By}}.Encode()
	}
	if d.Accounts, err = c.subAccounts(r, s); err != nil {
		return err
	}
	v.Data = d
	c.render(w, http.StatusOK, "stats", v)
	return nil
}

// statsCSV passes the API's statistics export through.
func (c *Console) statsCSV(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	id := usersAccount(r, s)
	aq := url.Values{"from": {q.Get("from")}, "to": {q.Get("to")}}
	switch by := q.Get("by"); by {
	case "account":
		aq.Set("subaccounts", "true")
	case "sender", "day":
		aq.Set("by", by)
	}
	return c.api.download(w, r, s.secret, "/v1/accounts/"+esc(id)+"/stats.csv", aq)
}

// everyDay is rows with a row (of zeros) for each day of from..to that has
// none, so that a chart of days shows the quiet ones too.
func everyDay(rows []accounts.StatsRow, from, to string) []accounts.StatsRow {
	f, err1 := time.Parse(time.DateOnly, from)
	t, err2 := time.Parse(time.DateOnly, to)
	if err1 != nil || err2 != nil || t.Before(f) || t.Sub(f) > 400*24*time.Hour {
		return rows
	}
	byDay := make(map[string]accounts.StatsRow, len(rows))
	for _, r := range rows {
		byDay[r.Day] = r
	}
	var out []accounts.StatsRow
	for d := f; !d.After(t); d = d.AddDate(0, 0, 1) {
		day := d.Format(time.DateOnly)
		r, ok := byDay[day]
		if !ok {
			r = accounts.StatsRow{Day: day}
		}
		out = append(out, r)
	}
	return out
}
