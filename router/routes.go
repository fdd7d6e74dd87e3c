package router

import (
	"context"
	"sort"
	"strings"

	"github.com/smsgate/smsgate/smpp"
)

// Link is a carrier link as the dispatcher uses it. *smpp.Link implements it.
type Link interface {
	Name() string
	Up() bool
	Submit(ctx context.Context, r *smpp.SubmitRequest) (smscID string, err error)
}

// Route says which destinations a link serves.
type Route struct {
	Link     Link
	Prefixes []string // destination prefixes (E.164 digits); empty: default route
	Priority int      // failover order among links serving a prefix: lower first
}

// Routes chooses links by destination prefix, with failover.
type Routes struct {
	routes []Route
}

// NewRoutes returns the routing table.
func NewRoutes(routes []Route) *Routes {
	return &Routes{routes: routes}
}

// UpCount is how many distinct links are up (the dispatcher releases the
// messages waiting for a link when it grows).
func (r *Routes) UpCount() int {
	seen := map[Link]bool{}
	n := 0
	for _, rt := range r.routes {
		if !seen[rt.Link] {
			seen[rt.Link] = true
			if rt.Link.Up() {
				n++
			}
		}
	}
	return n
}

// Has reports whether some link (up or not) serves the destination.
func (r *Routes) Has(dest string) bool {
	for _, rt := range r.routes {
		if matchLen(rt.Prefixes, dest) >= 0 {
			return true
		}
	}
	return false
}

// Candidates returns the links that serve dest, best first: the longest
// matching prefix, then priority; default routes last.
func (r *Routes) Candidates(dest string) []Link {
	type cand struct {
		link      Link
		match, pr int
	}
	var cs []cand
	for _, rt := range r.routes {
		if m := matchLen(rt.Prefixes, dest); m >= 0 {
			cs = append(cs, cand{rt.Link, m, rt.Priority})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].match != cs[j].match {
			return cs[i].match > cs[j].match
		}
		return cs[i].pr < cs[j].pr
	})
	out := make([]Link, len(cs))
	for i, c := range cs {
		out[i] = c.link
	}
	return out
}

// Pick returns the first candidate link that is up (in Candidates' order),
// or nil. It runs per message, so it scans the table once without
// allocating or sorting: the best up link by longest prefix, then priority,
// then table order.
func (r *Routes) Pick(dest string) Link {
	var best Link
	bestMatch, bestPr := -1, 0
	for _, rt := range r.routes {
		m := matchLen(rt.Prefixes, dest)
		if m < 0 || (best != nil && (m < bestMatch || m == bestMatch && rt.Priority >= bestPr)) {
			continue
		}
		if rt.Link.Up() {
			best, bestMatch, bestPr = rt.Link, m, rt.Priority
		}
	}
	return best
}

// matchLen is the length of the longest prefix of dest in prefixes, 0 for a
// default route (no prefixes), -1 when the route does not serve dest.
func matchLen(prefixes []string, dest string) int {
	if len(prefixes) == 0 {
		return 0
	}
	best := -1
	for _, p := range prefixes {
		if strings.HasPrefix(dest, p) && len(p) > best {
			best = len(p)
		}
	}
	return best
}
