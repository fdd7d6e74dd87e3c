package messages

import "context"

// HoldGroupCommit makes shard's group commit act as if a call were in
// flight, so that accepts queue instead of running; queued reports how
// many wait, and run sends them as one call of accept.lua, in the order
// they queued, and lets the group commit go.
func (s *Store) HoldGroupCommit(shard int) (queued func() int, run func(context.Context)) {
	cm := s.commit.get(shard)
	cm.mu.Lock()
	cm.running = true
	cm.mu.Unlock()
	queued = func() int {
		cm.mu.Lock()
		defer cm.mu.Unlock()
		return len(cm.waiting)
	}
	run = func(ctx context.Context) {
		cm.mu.Lock()
		group := cm.take()
		cm.mu.Unlock()
		s.runGroup(ctx, group)
		cm.mu.Lock()
		cm.running = false
		cm.mu.Unlock()
	}
	return queued, run
}
