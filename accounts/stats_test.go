package accounts

import (
	"testing"
	"time"
)

func TestStatsDay(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		day  int64
		date string
	}{
		{time.UnixMilli(0), 0, "1970-01-01"},
		{time.UnixMilli(86_399_999), 0, "1970-01-01"},
		{time.UnixMilli(86_400_000), 1, "1970-01-02"},
		{time.UnixMilli(-1), -1, "1969-12-31"},
		{time.Date(2026, 3, 14, 23, 59, 0, 0, time.FixedZone("AEST", 10*3600)), 20526, "2026-03-14"},
	} {
		t.Run(tc.date, func(t *testing.T) {
			if d := StatsDay(tc.t); d != tc.day || StatsDate(d) != tc.date {
				t.Fatalf("StatsDay(%v) = %d (%s), want %d (%s)", tc.t, d, StatsDate(d), tc.day, tc.date)
			}
		})
	}
}
