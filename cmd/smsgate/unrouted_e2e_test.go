package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestUnroutedInbox: a reply that matches no conversation lands in the
// unrouted inbox; the operator lists it, reads it and assigns it to the
// account whose it is, where it then is.
func TestUnroutedInbox(t *testing.T) {
	g := startGateway(t)
	ctx := context.Background()
	if err := g.sim.InjectMO(ctx, smsMO("61499990000", ourNumber, "Who is this?")); err != nil {
		t.Fatal(err)
	}
	g.waitFor("the unrouted reply", func() bool {
		rs, _ := g.store.ListInbox(ctx, "", 10)
		return len(rs) == 1
	})
	var out, errOut bytes.Buffer
	if code := adminUnroutedRun(ctx, g.store, "list", "", "", 10, &out, &errOut); code != 0 || !strings.Contains(out.String(), "61499990000") || !strings.Contains(out.String(), "Who is this?") {
		t.Fatalf("list: %d %s %s", code, out.String(), errOut.String())
	}
	id := strings.Fields(strings.Split(out.String(), "\n")[1])[0]
	out.Reset()
	if code := adminUnroutedRun(ctx, g.store, "show", "", id, 0, &out, &errOut); code != 0 || !strings.Contains(out.String(), "Who is this?") {
		t.Fatalf("show: %d %s %s", code, out.String(), errOut.String())
	}
	out.Reset()
	if code := adminUnroutedRun(ctx, g.store, "assign", g.sub.ID, id, 0, &out, &errOut); code != 0 || !strings.Contains(out.String(), "assigned to account "+g.sub.ID) {
		t.Fatalf("assign: %d %s %s", code, out.String(), errOut.String())
	}
	rs := mustInbox(t, g, g.sub.ID)
	if len(rs) != 1 || rs[0].ID != id || rs[0].AccountID != g.sub.ID {
		t.Fatalf("account inbox after assigning: %+v", rs)
	}
	if un, _ := g.store.ListInbox(ctx, "", 10); len(un) != 0 {
		t.Fatalf("still unrouted: %+v", un)
	}
	errOut.Reset()
	if code := adminUnroutedRun(ctx, g.store, "assign", g.sub.ID, id, 0, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "not unrouted") {
		t.Fatalf("assign twice: %d %s", code, errOut.String())
	}
}
