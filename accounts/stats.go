package accounts

import (
	"time"
)

// StatsMaxDays bounds the period of one statistics query.
const StatsMaxDays = 366

// statsDayMS is the length of a statistics day in milliseconds.
const statsDayMS = 86_400_000

// StatsRow is one line of a report: the counts of one day, one sender, one
// account, or a total. Day, Sender and AccountID say which.
type StatsRow struct {
	Day       string `json:"day,omitempty"`        // YYYY-MM-DD (UTC)
	Sender    string `json:"sender,omitempty"`     // the sending email address (or api:<key id>)
	AccountID string `json:"account_id,omitempty"` // per-account rows
	Name      string `json:"name,omitempty"`       // the account's name, per-account rows

	Messages      int64 `json:"messages"`
	Parts         int64 `json:"parts"`
	Cost          int64 `json:"cost"` // minor units, net of refunds
	Delivered     int64 `json:"delivered"`
	Failed        int64 `json:"failed"`
	Undeliverable int64 `json:"undeliverable"`
	Expired       int64 `json:"expired"`
	Rejected      int64 `json:"rejected"`
}

// add adds o's counts to r.
func (r *StatsRow) Add(o *StatsRow) {
	r.Messages += o.Messages
	r.Parts += o.Parts
	r.Cost += o.Cost
	r.Delivered += o.Delivered
	r.Failed += o.Failed
	r.Undeliverable += o.Undeliverable
	r.Expired += o.Expired
	r.Rejected += o.Rejected
}

// empty reports whether every count is zero.
func (r *StatsRow) Empty() bool {
	return r.Messages == 0 && r.Parts == 0 && r.Cost == 0 && r.Delivered == 0 && r.Failed == 0 &&
		r.Undeliverable == 0 && r.Expired == 0 && r.Rejected == 0
}

// set adds n to the counter a statistics field names (kind "m", "p", "c"
// or "s:<status>").
func (r *StatsRow) Set(kind string, n int64) {
	switch kind {
	case "m":
		r.Messages += n
	case "p":
		r.Parts += n
	case "c":
		r.Cost += n
	case "s:" + string(MsgDelivered):
		r.Delivered += n
	case "s:" + string(MsgFailed):
		r.Failed += n
	case "s:" + string(MsgUndeliverable):
		r.Undeliverable += n
	case "s:" + string(MsgExpired):
		r.Expired += n
	case "s:" + string(MsgRejected):
		r.Rejected += n
	}
}

// Stats is an account's report over a period of whole UTC days.
type Stats struct {
	AccountID string `json:"account_id"`
	From      string `json:"from"`             // first day, YYYY-MM-DD
	To        string `json:"to"`               // last day, inclusive
	Sender    string `json:"sender,omitempty"` // set when the report is one sender's
	// Rows has one row per day and sender with any count, by day then
	// sender.
	Rows []StatsRow `json:"rows"`
	// Days has one row per day with any count (Sender empty).
	Days []StatsRow `json:"days"`
	// Senders has one row per sender over the whole period (Day empty).
	Senders []StatsRow `json:"senders"`
	Total   StatsRow   `json:"total"`
}

// StatsDay returns the statistics day of t: whole UTC days since the Unix
// epoch.
func StatsDay(t time.Time) int64 {
	ms := t.UnixMilli()
	d := ms / statsDayMS
	if ms < 0 && ms%statsDayMS != 0 {
		d-- // floor, not truncation
	}
	return d
}

// StatsDate formats a statistics day as YYYY-MM-DD.
func StatsDate(day int64) string {
	return time.UnixMilli(day * statsDayMS).UTC().Format(time.DateOnly)
}
