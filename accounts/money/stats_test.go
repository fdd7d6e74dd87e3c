package money_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

// statsTestAccount creates an account on a shard other than 0 of a 4-shard
// store, so that the scripts' key building is checked off the default tag.
func statsTestAccount(t *testing.T, s *redisstore.Store) *accounts.Account {
	t.Helper()
	for range 100 {
		a := storetest.AcceptTestAccount(t, s, 1000)
		if n, _ := s.ShardFromID(a.ID); n != 0 {
			return a
		}
	}
	t.Fatal("no account outside shard 0 in 100 tries")
	return nil
}

// statsTestSend accepts one message and returns its id.
func statsTestSend(t *testing.T, s *redisstore.Store, acct, sender, to string, parts int, price int64) string {
	t.Helper()
	res, err := s.Accept(t.Context(), accounts.AcceptRequest{AccountID: acct, Messages: []*accounts.Message{{
		To: to, Text: "hi", Parts: parts, Price: price, Sender: sender, Source: "61400000000",
	}}})
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	return res.IDs[0]
}

func TestStatsCounters(t *testing.T) {
	ctx := t.Context()
	clock := &storetest.StatsTestClock{}
	s := storetest.New(t, redisstore.Options{Shards: 4, Now: clock.Now})
	day0 := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	day1 := day0.AddDate(0, 0, 1)
	clock.Set(day0.Add(23*time.Hour + 59*time.Minute)) // late on day 0
	a := statsTestAccount(t, s)
	other := statsTestAccount(t, s)
	const jo, ann = "jo@acme.example", "ann@acme.example"

	// Day 0: jo sends three messages (1, 2 and 1 parts), ann one of 3 parts.
	m1 := statsTestSend(t, s, a.ID, jo, "61411111101", 1, 5)
	m2 := statsTestSend(t, s, a.ID, jo, "61411111102", 2, 10)
	m3 := statsTestSend(t, s, a.ID, jo, "61411111103", 1, 5)
	m4 := statsTestSend(t, s, a.ID, ann, "61411111104", 3, 15)
	// Day 1: one each.
	clock.Set(day1.Add(time.Hour))
	m5 := statsTestSend(t, s, a.ID, jo, "61411111105", 1, 5)
	m6 := statsTestSend(t, s, a.ID, ann, "61411111106", 1, 5)

	// The receipts arrive on day 2; they count on the creation days.
	clock.Set(day1.AddDate(0, 0, 1).Add(time.Hour))
	es := storetest.QueueTestRead(t, s, "w1", 6)
	entry := map[string]accounts.Entry{}
	for _, e := range es {
		entry[e.MessageID] = e
	}
	err := s.MarkSubmitted(ctx, []accounts.Submitted{
		{Entry: entry[m1], Link: "c", Source: "61400000000", SMSCIDs: []string{"1"}},
		{Entry: entry[m2], Link: "c", Source: "61400000000", SMSCIDs: []string{"2a", "2b"}},
		{Entry: entry[m3], Link: "c", Source: "61400000000", SMSCIDs: []string{"3"}},
		{Entry: entry[m5], Link: "c", Source: "61400000000", SMSCIDs: []string{"5"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	at := clock.Now()
	for _, r := range []struct{ id, status string }{
		{"1", "delivered"}, {"1", "delivered"}, // a duplicate receipt counts once
		{"2a", "delivered"}, {"2a", "delivered"}, {"2b", "delivered"},
		{"3", "expired"}, {"3", "delivered"}, // final stays final
		{"5", "rejected"}, {"5", "undeliverable"},
	} {
		if _, err := s.ApplyReceipt(ctx, "c", r.id, r.status, "", at); err != nil {
			t.Fatalf("receipt %s %s: %v", r.id, r.status, err)
		}
	}
	for range 2 { // the second call changes nothing
		if _, err := s.Fail(ctx, entry[m4], "bad number", true, false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Fail(ctx, entry[m6], "bad number", false, false); err != nil {
			t.Fatal(err)
		}
	}
	if got := storetest.AcceptTestBalance(t, s, a.ID); got != 1000-45+15 {
		t.Fatalf("balance %d, want %d", got, 1000-45+15)
	}

	row := func(day, sender string, m, p, c, dl, fl, un, ex, rj int64) accounts.StatsRow {
		return accounts.StatsRow{Day: day, Sender: sender, Messages: m, Parts: p, Cost: c, Delivered: dl,
			Failed: fl, Undeliverable: un, Expired: ex, Rejected: rj}
	}
	d0, d1 := "2026-03-14", "2026-03-15"
	tests := []struct {
		name     string
		from, to time.Time
		sender   string
		rows     []accounts.StatsRow
		days     []accounts.StatsRow
		senders  []accounts.StatsRow
		total    accounts.StatsRow
	}{
		{
			name: "both days", from: day0, to: day1,
			rows: []accounts.StatsRow{
				row(d0, ann, 1, 3, 0, 0, 1, 0, 0, 0), row(d0, jo, 3, 4, 20, 2, 0, 0, 1, 0),
				row(d1, ann, 1, 1, 5, 0, 1, 0, 0, 0), row(d1, jo, 1, 1, 5, 0, 0, 0, 0, 1),
			},
			days:    []accounts.StatsRow{row(d0, "", 4, 7, 20, 2, 1, 0, 1, 0), row(d1, "", 2, 2, 10, 0, 1, 0, 0, 1)},
			senders: []accounts.StatsRow{row("", ann, 2, 4, 5, 0, 2, 0, 0, 0), row("", jo, 4, 5, 25, 2, 0, 0, 1, 1)},
			total:   row("", "", 6, 9, 30, 2, 2, 0, 1, 1),
		},
		{
			name: "one sender, any case", from: day0, to: day1.Add(5 * time.Hour), sender: "JO@acme.example",
			rows:    []accounts.StatsRow{row(d0, jo, 3, 4, 20, 2, 0, 0, 1, 0), row(d1, jo, 1, 1, 5, 0, 0, 0, 0, 1)},
			days:    []accounts.StatsRow{row(d0, "", 3, 4, 20, 2, 0, 0, 1, 0), row(d1, "", 1, 1, 5, 0, 0, 0, 0, 1)},
			senders: []accounts.StatsRow{row("", jo, 4, 5, 25, 2, 0, 0, 1, 1)},
			total:   row("", "", 4, 5, 25, 2, 0, 0, 1, 1),
		},
		{
			name: "second day only", from: day1.Add(3 * time.Hour), to: day1,
			rows:    []accounts.StatsRow{row(d1, ann, 1, 1, 5, 0, 1, 0, 0, 0), row(d1, jo, 1, 1, 5, 0, 0, 0, 0, 1)},
			days:    []accounts.StatsRow{row(d1, "", 2, 2, 10, 0, 1, 0, 0, 1)},
			senders: []accounts.StatsRow{row("", ann, 1, 1, 5, 0, 1, 0, 0, 0), row("", jo, 1, 1, 5, 0, 0, 0, 0, 1)},
			total:   row("", "", 2, 2, 10, 0, 1, 0, 0, 1),
		},
		{
			name: "a year before", from: day0.AddDate(-1, 0, 0), to: day0.AddDate(0, 0, -1),
			rows: []accounts.StatsRow{}, days: []accounts.StatsRow{}, senders: []accounts.StatsRow{},
		},
		{
			name: "unknown sender", from: day0, to: day1, sender: "nobody@acme.example",
			rows: []accounts.StatsRow{}, days: []accounts.StatsRow{}, senders: []accounts.StatsRow{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := s.Stats(ctx, a.ID, tc.from, tc.to, tc.sender)
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got, want []accounts.StatsRow) {
				t.Helper()
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
				}
			}
			check("rows", st.Rows, tc.rows)
			check("days", st.Days, tc.days)
			check("senders", st.Senders, tc.senders)
			check("total", []accounts.StatsRow{st.Total}, []accounts.StatsRow{tc.total})
		})
	}

	t.Run("per account", func(t *testing.T) {
		rows, err := s.StatsAccounts(ctx, []string{a.ID, other.ID}, day0, day1)
		if err != nil {
			t.Fatal(err)
		}
		want := []accounts.StatsRow{row("", "", 6, 9, 30, 2, 2, 0, 1, 1), {}}
		want[0].AccountID, want[1].AccountID = a.ID, other.ID
		if fmt.Sprint(rows) != fmt.Sprint(want) {
			t.Fatalf("rows %+v, want %+v", rows, want)
		}
	})

	for _, tc := range []struct {
		name     string
		from, to time.Time
	}{
		{"to before from", day1, day0},
		{"longer than a leap year", day0, day0.AddDate(0, 0, accounts.StatsMaxDays)},
		{"no dates", time.Time{}, time.Time{}},
	} {
		t.Run("invalid "+tc.name, func(t *testing.T) {
			if _, err := s.Stats(ctx, a.ID, tc.from, tc.to, ""); !errors.Is(err, accounts.ErrInvalid) {
				t.Fatalf("Stats = %v, want ErrInvalid", err)
			}
			if _, err := s.StatsAccounts(ctx, []string{a.ID}, tc.from, tc.to); !errors.Is(err, accounts.ErrInvalid) {
				t.Fatalf("StatsAccounts = %v, want ErrInvalid", err)
			}
		})
	}
	t.Run("a full leap year is allowed", func(t *testing.T) {
		if _, err := s.Stats(ctx, a.ID, day0, day0.AddDate(0, 0, accounts.StatsMaxDays-1), ""); err != nil {
			t.Fatal(err)
		}
	})
}
