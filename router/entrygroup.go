package router

import (
	"context"
	"sync"

	"github.com/smsgate/smsgate/accounts"
)

// entryGroup follows the members of one grouped queue entry (the messages
// an accept call queued together, accounts.Entry) through one delivery of
// it: the entry is acknowledged once every member is settled (its outcome
// written: submitted, retried, parked, failed, or found needing nothing),
// by whoever writes the last settlement, with it when it can. A settlement
// that could not be written leaves the entry pending for good (spoiled):
// it is claimed after ClaimIdle, and the claimer sends only the members
// still queued and not held.
type entryGroup struct {
	entry   accounts.Entry // one of its members: names the stream entry
	mu      sync.Mutex
	left    int  // members whose settlement has not begun
	busy    int  // settlements being written
	spoiled bool // a settlement was not written
	acked   bool // the acknowledgement is someone's (done or under way)
}

// groupEntries returns each entry's group (nil for an entry of its own),
// one per stream entry among entries.
func groupEntries(entries []accounts.Entry) []*entryGroup {
	gs := make([]*entryGroup, len(entries))
	var cur *entryGroup
	for i, e := range entries {
		if !e.Grouped() {
			continue
		}
		if cur == nil || !e.SameStreamEntry(cur.entry) {
			cur = &entryGroup{entry: e}
		}
		cur.left++
		gs[i] = cur
	}
	return gs
}

// begin marks k members' settlements as being written.
func (g *entryGroup) begin(k int) {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.left -= k
	g.busy += k
	g.mu.Unlock()
}

// takeAck reports whether a write of k settlements begun (begin) settles
// the entry, nothing else being left or in writing: the write then carries
// the acknowledgement, which is no one else's.
func (g *entryGroup) takeAck(k int) bool {
	if g == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.left == 0 && g.busy == k && !g.spoiled && !g.acked {
		g.acked = true
		return true
	}
	return false
}

// end marks k settlements written (ok) or not, and reports whether the
// caller must now acknowledge the entry: every member is settled and no
// one else acknowledges it.
func (g *entryGroup) end(k int, ok bool) bool {
	if g == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.busy -= k
	if !ok {
		g.spoiled = true
	}
	if g.left == 0 && g.busy == 0 && !g.spoiled && !g.acked {
		g.acked = true
		return true
	}
	return false
}

// settled runs write, a member's settlement (nil: nothing to write), and
// acknowledges the member's grouped entry when that settles it; for an
// entry of its own it only runs write. It returns write's error.
func (d *Dispatcher) settled(ctx context.Context, g *entryGroup, write func() error) error {
	g.begin(1)
	var err error
	if write != nil {
		err = write()
	}
	if g.end(1, err == nil) {
		d.ackEntry(ctx, g.entry)
	}
	return err
}

// ackEntry acknowledges a grouped entry whose every member is settled. When
// it fails the entry stays pending and is claimed after ClaimIdle, its
// members all settled: acknowledged then, nothing sent again.
func (d *Dispatcher) ackEntry(ctx context.Context, e accounts.Entry) {
	sctx, cancel := storeCtx(ctx)
	defer cancel()
	if err := d.o.Store.Ack(sctx, e); err != nil {
		d.log.ErrorContext(ctx, "acknowledge grouped entry", "err", err, "entry", e.StreamID)
	}
}
