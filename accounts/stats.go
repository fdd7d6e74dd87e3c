package accounts

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Statistics are counters kept per account and UTC day in one hash,
// P:{sN}:stats:<account>:<day> (day: whole days since the Unix epoch,
// floor(unix ms / 86400000)), always on the day the message was created:
//
//	m:<sender>, p:<sender>,  messages, parts and cost (minor units) accepted
//	c:<sender>               from one sender address
//	s:<status>:<sender>      that sender's messages that reached a final status
//
// The account's totals are the sums over its senders: the hot path keeps no
// separate total fields (they would cost three more calls per mail).
// accept.lua writes m, p and c; receipt.lua and fail.lua write s:<status>
// when a message reaches its final status (which happens once), and fail.lua
// takes a refunded price back out of c. A report therefore counts the fate
// of the messages created in its period, whenever their receipts arrived.

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
func (r *StatsRow) add(o *StatsRow) {
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
func (r *StatsRow) empty() bool {
	return r.Messages == 0 && r.Parts == 0 && r.Cost == 0 && r.Delivered == 0 && r.Failed == 0 &&
		r.Undeliverable == 0 && r.Expired == 0 && r.Rejected == 0
}

// set adds n to the counter a statistics field names (kind "m", "p", "c"
// or "s:<status>").
func (r *StatsRow) set(kind string, n int64) {
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

// statsDays returns the first and last statistics day of [from, to], both
// inclusive, or an ErrInvalid naming the parameter.
func statsDays(from, to time.Time) (first, last int64, err error) {
	if from.IsZero() || to.IsZero() {
		return 0, 0, acctInvalid("from, to: both dates are required")
	}
	first, last = StatsDay(from), StatsDay(to)
	if last < first {
		return 0, 0, acctInvalid("to: %s is before from %s", StatsDate(last), StatsDate(first))
	}
	if n := last - first + 1; n > StatsMaxDays {
		return 0, 0, acctInvalid("to: the period from %s to %s is %d days, more than %d",
			StatsDate(first), StatsDate(last), n, StatsMaxDays)
	}
	return first, last, nil
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

// statsKey is the counter hash of one account and day.
func (s *Store) statsKey(shard int, accountID string, day int64) string {
	return s.skey(shard, "stats", accountID, strconv.FormatInt(day, 10))
}

// statsFetch queues one HGETALL per account and day on pipe and returns the
// commands, per account, per day from first.
func (s *Store) statsFetch(ctx context.Context, pipe redis.Pipeliner, ids []string, first, last int64) ([][]*redis.MapStringStringCmd, error) {
	out := make([][]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		shard, err := s.shardFromID(id)
		if err != nil {
			return nil, fmt.Errorf("statistics: account %w", err)
		}
		out[i] = make([]*redis.MapStringStringCmd, 0, last-first+1)
		for d := first; d <= last; d++ {
			out[i] = append(out[i], pipe.HGetAll(ctx, s.statsKey(shard, id, d)))
		}
	}
	return out, nil
}

// statsParse splits one day's hash into its totals and per-sender rows.
// With sender set, only that sender's fields count and the totals are
// theirs.
func statsParse(h map[string]string, sender string) (total StatsRow, bySender map[string]*StatsRow) {
	bySender = map[string]*StatsRow{}
	for f, v := range h {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue
		}
		var kind, who string
		var per bool
		if rest, ok := strings.CutPrefix(f, "s:"); ok {
			// s:<status>[:<sender>]; statuses contain no colon, senders may
			// ("api:<key id>").
			st, w, has := strings.Cut(rest, ":")
			kind, who, per = "s:"+st, w, has
		} else if len(f) >= 2 && f[1] == ':' {
			kind, who, per = f[:1], f[2:], true
		} else {
			kind = f
		}
		// The account's totals are the sums of its senders' counters (the
		// scripts keep no separate totals); fields without a sender, from
		// before that, are ignored so nothing counts twice.
		if !per || (sender != "" && !strings.EqualFold(who, sender)) {
			continue
		}
		r := bySender[who]
		if r == nil {
			r = &StatsRow{Sender: who}
			bySender[who] = r
		}
		r.set(kind, n)
		total.set(kind, n)
	}
	return total, bySender
}

// Stats reports an account's counts over the UTC days from from to to
// (both inclusive, at most StatsMaxDays), per day and per sender, with
// totals. sender, if set, limits the report to that sender's messages (a
// basic user's own statistics). One pipelined HGETALL per day.
func (s *Store) Stats(ctx context.Context, accountID string, from, to time.Time, sender string) (*Stats, error) {
	first, last, err := statsDays(from, to)
	if err != nil {
		return nil, fmt.Errorf("statistics of %s: %w", accountID, err)
	}
	pipe := s.rdb.Pipeline()
	cmds, err := s.statsFetch(ctx, pipe, []string{accountID}, first, last)
	if err != nil {
		return nil, err
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("statistics of %s: %w", accountID, err)
	}
	st := &Stats{AccountID: accountID, From: StatsDate(first), To: StatsDate(last), Sender: sender,
		Rows: []StatsRow{}, Days: []StatsRow{}, Senders: []StatsRow{}}
	senders := map[string]*StatsRow{}
	for i, c := range cmds[0] {
		day := StatsDate(first + int64(i))
		total, bySender := statsParse(c.Val(), sender)
		names := make([]string, 0, len(bySender))
		for who := range bySender {
			names = append(names, who)
		}
		sort.Strings(names)
		for _, who := range names {
			r := bySender[who]
			if r.empty() {
				continue
			}
			row := *r
			row.Day = day
			st.Rows = append(st.Rows, row)
			sum := senders[who]
			if sum == nil {
				sum = &StatsRow{Sender: who}
				senders[who] = sum
			}
			sum.add(r)
		}
		if !total.empty() {
			total.Day = day
			st.Days = append(st.Days, total)
			st.Total.add(&total)
		}
	}
	for _, r := range senders {
		st.Senders = append(st.Senders, *r)
	}
	sort.Slice(st.Senders, func(i, j int) bool { return st.Senders[i].Sender < st.Senders[j].Sender })
	return st, nil
}

// StatsAccounts returns one row of totals per account over the UTC days
// from from to to (both inclusive), in the order of ids, with AccountID set:
// a parent's per-sub-account usage report. One pipeline for all of it.
func (s *Store) StatsAccounts(ctx context.Context, ids []string, from, to time.Time) ([]StatsRow, error) {
	first, last, err := statsDays(from, to)
	if err != nil {
		return nil, fmt.Errorf("statistics: %w", err)
	}
	rows := make([]StatsRow, len(ids))
	if len(ids) == 0 {
		return rows, nil
	}
	pipe := s.rdb.Pipeline()
	cmds, err := s.statsFetch(ctx, pipe, ids, first, last)
	if err != nil {
		return nil, err
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("statistics of %d accounts: %w", len(ids), err)
	}
	for i, days := range cmds {
		rows[i].AccountID = ids[i]
		for _, c := range days {
			total, _ := statsParse(c.Val(), "")
			rows[i].add(&total)
		}
	}
	return rows, nil
}
