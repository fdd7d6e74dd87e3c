package money

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
)

// statsDays returns the first and last statistics day of [from, to], both
// inclusive, or an ErrInvalid naming the parameter.
func statsDays(from, to time.Time) (first, last int64, err error) {
	if from.IsZero() || to.IsZero() {
		return 0, 0, accounts.Invalidf("from, to: both dates are required")
	}
	first, last = accounts.StatsDay(from), accounts.StatsDay(to)
	if last < first {
		return 0, 0, accounts.Invalidf("to: %s is before from %s", accounts.StatsDate(last), accounts.StatsDate(first))
	}
	if n := last - first + 1; n > accounts.StatsMaxDays {
		return 0, 0, accounts.Invalidf("to: the period from %s to %s is %d days, more than %d",
			accounts.StatsDate(first), accounts.StatsDate(last), n, accounts.StatsMaxDays)
	}
	return first, last, nil
}

// statsFetch queues one HGETALL per account and day on pipe and returns the
// commands, per account, per day from first.
func (s *Store) statsFetch(ctx context.Context, pipe redis.Pipeliner, ids []string, first, last int64) ([][]*redis.MapStringStringCmd, error) {
	out := make([][]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		shard, err := s.ShardFromID(id)
		if err != nil {
			return nil, fmt.Errorf("statistics: account %w", err)
		}
		out[i] = make([]*redis.MapStringStringCmd, 0, last-first+1)
		for d := first; d <= last; d++ {
			out[i] = append(out[i], pipe.HGetAll(ctx, s.Keys.Stats(shard, id, d)))
		}
	}
	return out, nil
}

// statsParse splits one day's hash into its totals and per-sender rows.
// With sender set, only that sender's fields count and the totals are
// theirs.
func statsParse(h map[string]string, sender string) (total accounts.StatsRow, bySender map[string]*accounts.StatsRow) {
	bySender = map[string]*accounts.StatsRow{}
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
			r = &accounts.StatsRow{Sender: who}
			bySender[who] = r
		}
		r.Set(kind, n)
		total.Set(kind, n)
	}
	return total, bySender
}

// Stats reports an account's counts over the UTC days from from to to
// (both inclusive, at most StatsMaxDays), per day and per sender, with
// totals. sender, if set, limits the report to that sender's messages (a
// basic user's own statistics). One pipelined HGETALL per day.
func (s *Store) Stats(ctx context.Context, accountID string, from, to time.Time, sender string) (*accounts.Stats, error) {
	first, last, err := statsDays(from, to)
	if err != nil {
		return nil, fmt.Errorf("statistics of %s: %w", accountID, err)
	}
	pipe := s.RDB.Pipeline()
	cmds, err := s.statsFetch(ctx, pipe, []string{accountID}, first, last)
	if err != nil {
		return nil, err
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("statistics of %s: %w", accountID, err)
	}
	st := &accounts.Stats{AccountID: accountID, From: accounts.StatsDate(first), To: accounts.StatsDate(last), Sender: sender,
		Rows: []accounts.StatsRow{}, Days: []accounts.StatsRow{}, Senders: []accounts.StatsRow{}}
	senders := map[string]*accounts.StatsRow{}
	for i, c := range cmds[0] {
		day := accounts.StatsDate(first + int64(i))
		total, bySender := statsParse(c.Val(), sender)
		names := make([]string, 0, len(bySender))
		for who := range bySender {
			names = append(names, who)
		}
		sort.Strings(names)
		for _, who := range names {
			r := bySender[who]
			if r.Empty() {
				continue
			}
			row := *r
			row.Day = day
			st.Rows = append(st.Rows, row)
			sum := senders[who]
			if sum == nil {
				sum = &accounts.StatsRow{Sender: who}
				senders[who] = sum
			}
			sum.Add(r)
		}
		if !total.Empty() {
			total.Day = day
			st.Days = append(st.Days, total)
			st.Total.Add(&total)
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
// A parent's per-sub-account usage report. One pipeline for all of it.
func (s *Store) StatsAccounts(ctx context.Context, ids []string, from, to time.Time) ([]accounts.StatsRow, error) {
	first, last, err := statsDays(from, to)
	if err != nil {
		return nil, fmt.Errorf("statistics: %w", err)
	}
	rows := make([]accounts.StatsRow, len(ids))
	if len(ids) == 0 {
		return rows, nil
	}
	pipe := s.RDB.Pipeline()
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
			rows[i].Add(&total)
		}
	}
	return rows, nil
}
