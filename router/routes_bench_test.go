package router

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/smsgate/smsgate/smpp"
)

// BenchmarkRoutesPick is route choice for one message (issue 11: it
// allocates and sorts per message): a table of a default and three
// prefixed links, the first choice down so that failover is exercised.
//
//	go test ./router -run '^$' -bench RoutesPick -benchmem
func BenchmarkRoutesPick(b *testing.B) {
	r := NewRoutes([]Route{
		{Link: &fakeLink{"default", true}},
		{Link: &fakeLink{"au2", true}, Prefixes: []string{"61"}, Priority: 2},
		{Link: &fakeLink{"au1", true}, Prefixes: []string{"61"}, Priority: 1},
		{Link: &fakeLink{"au-mobile", false}, Prefixes: []string{"614"}},
	})
	b.ReportAllocs()
	for b.Loop() {
		if l := r.Pick("61412345678"); l == nil || l.Name() != "au1" {
			b.Fatalf("picked %v", l)
		}
	}
}

// BenchmarkEncode is the text codec of a submit (GSM 7-bit and UCS-2).
//
//	go test ./router -run '^$' -bench Encode -benchmem
func BenchmarkEncode(b *testing.B) {
	for _, tc := range []struct{ name, text string }{
		{"gsm7", "Hi Bob, the meeting moved to 3pm. Bring the Q3 report."},
		{"ucs2", "Привет, встреча перенесена на 15:00 🙂"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, p := smpp.Encode(tc.text); len(p) == 0 {
					b.Fatal("empty payload")
				}
			}
		})
	}
}

// TestPickIsFirstUpCandidate: Pick (one scan, no allocation) chooses
// exactly the first up link of Candidates' order, over random tables.
func TestPickIsFirstUpCandidate(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	prefixes := []string{"6", "61", "614", "64", "1"}
	dests := []string{"61412345678", "61298765432", "6421000000", "14155550100", "447700900123"}
	for range 2000 {
		var routes []Route
		for i := range 1 + r.IntN(6) {
			var ps []string
			for range r.IntN(3) {
				ps = append(ps, prefixes[r.IntN(len(prefixes))])
			}
			routes = append(routes, Route{Link: &fakeLink{fmt.Sprintf("l%d", i), r.IntN(3) > 0}, Prefixes: ps, Priority: r.IntN(3)})
		}
		rt := NewRoutes(routes)
		for _, d := range dests {
			var want Link
			for _, l := range rt.Candidates(d) {
				if l.Up() {
					want = l
					break
				}
			}
			if got := rt.Pick(d); got != want {
				t.Fatalf("table %+v, dest %s: Pick %v, first up candidate %v", routes, d, got, want)
			}
		}
	}
}
