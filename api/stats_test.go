package api

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
)

// statsResp decodes a statistics answer.
func (f *fixture) statsResp(key, path string) statsResponse {
	f.t.Helper()
	var r statsResponse
	f.expect(key, "GET", path, nil, http.StatusOK, &r)
	return r
}

func TestStatsAPI(t *testing.T) {
	f := newFixture(t)
	const jo, ann = "jo@example.com", "ann@example.com"
	f.logTestSeed(f.subA, []string{jo, ann}, 3) // 6 messages, 1 part, 5 each
	f.logTestSeed(f.subB, []string{"bo@example.com"}, 2)
	f.logTestGrant(f.subA)
	joKey := f.logTestUserKey(f.subA, jo, accounts.RoleBasic)
	today := time.Now().UTC().Format(time.DateOnly)
	path := "/v1/accounts/" + f.subA.ID + "/stats"

	for _, tc := range []struct {
		name, key, query string
		by               string
		rows             int
		messages, cost   int64
		sender           string // of every row, if set
	}{
		{"by day, default period", f.subAKey, "", "day", 1, 6, 30, ""},
		{"by sender", f.subAKey, "?by=sender", "sender", 2, 6, 30, ""},
		{"by day and sender", f.subAKey, "?by=day_sender&from=" + today + "&to=" + today, "day_sender", 2, 6, 30, ""},
		{"one sender", f.subAKey, "?by=sender&sender=" + ann, "sender", 1, 3, 15, ann},
		{"parent admin on the sub-account", f.rootKey, "", "day", 1, 6, 30, ""},
		{"basic user: their own", joKey, "?by=sender", "sender", 1, 3, 15, jo},
		{"an empty period", f.subAKey, "?from=2020-01-01&to=2020-12-31", "day", 0, 0, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.statsResp(tc.key, path+tc.query)
			if r.By != tc.by || len(r.Rows) != tc.rows || r.Total.Messages != tc.messages || r.Total.Cost != tc.cost || r.AccountID != f.subA.ID {
				t.Fatalf("stats %+v", r)
			}
			for _, row := range r.Rows {
				if tc.sender != "" && row.Sender != tc.sender {
					t.Errorf("row of %s", row.Sender)
				}
			}
		})
	}
	t.Run("per sub-account", func(t *testing.T) {
		r := f.statsResp(f.rootKey, "/v1/accounts/"+f.root.ID+"/stats?subaccounts=true")
		if r.By != "account" || len(r.Rows) != 2 || r.Total.Messages != 8 {
			t.Fatalf("stats %+v", r)
		}
		got := map[string]accounts.StatsRow{}
		for _, row := range r.Rows {
			got[row.AccountID] = row
		}
		if got[f.subA.ID].Messages != 6 || got[f.subA.ID].Name != "Sales" || got[f.subB.ID].Messages != 2 || got[f.subB.ID].Cost != 10 {
			t.Fatalf("rows %+v", r.Rows)
		}
	})
	t.Run("csv", func(t *testing.T) {
		code, body, hdr := f.do(f.subAKey, "GET", path+".csv?by=sender", nil)
		if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") {
			t.Fatalf("status %d: %s", code, body)
		}
		recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil || len(recs) != 4 || recs[0][4] != "messages" || recs[3][0] != "total" || recs[3][4] != "6" {
			t.Fatalf("csv %v, %v", recs, err)
		}
	})
	for _, tc := range []struct {
		name, key, path string
		status          int
		detail          string
	}{
		{"other tenant", f.subBKey, path, http.StatusNotFound, "not found"},
		{"basic user asking for another sender", joKey, path + "?sender=" + ann, http.StatusForbidden, "sender:"},
		{"basic user cannot export", joKey, path + ".csv", http.StatusForbidden, "export"},
		{"sub-account asking for sub-accounts", f.subAKey, path + "?subaccounts=true", http.StatusForbidden, "subaccounts:"},
		{"bad from", f.subAKey, path + "?from=yesterday", http.StatusBadRequest, "from:"},
		{"to before from", f.subAKey, path + "?from=2026-02-01&to=2026-01-01", http.StatusBadRequest, "to:"},
		{"period too long", f.subAKey, path + "?from=2024-01-01&to=2025-12-31", http.StatusBadRequest, "366"},
		{"bad by", f.subAKey, path + "?by=week", http.StatusBadRequest, "by:"},
		{"bad subaccounts", f.rootKey, "/v1/accounts/" + f.root.ID + "/stats?subaccounts=maybe", http.StatusBadRequest, "subaccounts:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := f.problem(tc.key, "GET", tc.path, nil, tc.status)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("detail %q lacks %q", p.Detail, tc.detail)
			}
		})
	}
}
