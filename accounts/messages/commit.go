package messages

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Group commit of accepts: the accepts of one shard that arrive while a
// call of accept.lua is in flight wait for it and then go together in the
// next call, so that concurrent SMTP sessions share one round trip, one
// script invocation and one write of their counters. No timer: a lone
// accept goes at once, and under load a call carries whatever arrived
// during the one before it (bounded by maxGroupMessages).
//
// The caller that finds no call in flight leads: it runs one call (its own
// request first, with whatever else is waiting) and then hands the lead to
// the first caller still waiting, so that no caller serves others for long.

// maxGroupMessages bounds the messages of one call (a request larger than
// that goes alone).
const maxGroupMessages = 512

// acceptCtx is the keys a request shares with the other requests of its
// account in a call (accept.lua: a context): sent once a call.
type acceptCtx [13]string

// acceptCall is one request waiting for, or in, a group call.
type acceptCall struct {
	cx   *acceptCtx // shared with other calls: never changed
	keys []string   // the request's own KEYS
	args []any      // the request's own ARGV (accept.lua), now first
	n    int        // its messages

	res  []any
	err  error
	lead bool          // woken to lead, not with a result
	wake chan struct{} // one signal: a result, or the lead (buffered: the leader's own is never read)
}

// committer is the group commit of one shard.
type committer struct {
	mu      sync.Mutex
	waiting []*acceptCall
	running bool
}

// committers holds one committer per shard, created on first use.
type committers struct {
	mu sync.Mutex
	by map[int]*committer
}

func (c *committers) get(shard int) *committer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.by == nil {
		c.by = map[int]*committer{}
	}
	cm := c.by[shard]
	if cm == nil {
		cm = &committer{}
		c.by[shard] = cm
	}
	return cm
}

// acceptRun runs one request of accept.lua on shard, grouped with those
// that arrive meanwhile, and returns its reply. Once queued a request is
// not withdrawn: ctx ending while it waits does not stop it from being
// written (as a script call already sent is not), so the caller waits for
// the outcome, which the Redis client's timeouts bound.
func (s *Store) acceptRun(ctx context.Context, shard int, cx *acceptCtx, keys []string, args []any) ([]any, error) {
	call := &acceptCall{cx: cx, keys: keys, args: args, n: max(len(args)-7, 0) / 9, wake: make(chan struct{}, 1)}
	cm := s.commit.get(shard)
	cm.mu.Lock()
	cm.waiting = append(cm.waiting, call)
	if cm.running {
		cm.mu.Unlock()
		<-call.wake
		if !call.lead {
			return call.res, call.err
		}
		cm.mu.Lock()
	}
	// Leading: the first waiting request is this one (a caller that finds
	// no call in flight finds no one waiting; the lead goes to the first
	// waiting), so one call settles it.
	cm.running = true
	group := cm.take()
	cm.mu.Unlock()
	s.runGroup(context.WithoutCancel(ctx), group)
	cm.mu.Lock()
	if len(cm.waiting) == 0 {
		cm.running = false
		cm.mu.Unlock()
	} else {
		next := cm.waiting[0]
		cm.mu.Unlock()
		next.lead = true
		next.wake <- struct{}{}
	}
	return call.res, call.err
}

// take removes from the waiting list the requests of the next call: the
// first always, then others while the call stays within maxGroupMessages.
// cm.mu must be held.
func (cm *committer) take() []*acceptCall {
	n, i := cm.waiting[0].n, 1
	for ; i < len(cm.waiting) && n+cm.waiting[i].n <= maxGroupMessages; i++ {
		n += cm.waiting[i].n
	}
	group := cm.waiting[:i:i]
	cm.waiting = append([]*acceptCall(nil), cm.waiting[i:]...)
	return group
}

// runGroup runs one call of accept.lua for group and gives each request its
// reply.
func (s *Store) runGroup(ctx context.Context, group []*acceptCall) {
	// Each distinct context once, in order of first use; each request
	// names its own by ordinal.
	var cxs []*acceptCtx
	ord := make([]int, len(group))
	nk, na := 0, 2
	for i, c := range group {
		ord[i] = slices.IndexFunc(cxs, func(x *acceptCtx) bool { return x == c.cx || *x == *c.cx }) + 1
		if ord[i] == 0 {
			cxs = append(cxs, c.cx)
			ord[i] = len(cxs)
		}
		nk, na = nk+len(c.keys), na+1+len(c.args)
	}
	keys, args := make([]string, 0, nk+len(cxs)*len(acceptCtx{})), make([]any, 3, na+1)
	args[0], args[1], args[2] = len(group), len(cxs), "1"
	if s.EntryPerMessage {
		args[2] = "0"
	}
	for _, cx := range cxs {
		keys = append(keys, cx[:]...)
	}
	for i, c := range group {
		keys = append(keys, c.keys...)
		args = append(args, ord[i])
		args = append(args, c.args...)
	}
	// With redis.min_replicas_ack the call also waits for the replicas: an
	// accept (or the replay of one) they did not confirm in time is not
	// confirmed to its sender (replErr), though the master has it; a
	// refusal stays a refusal.
	cmd, replErr := s.RunReplicated(ctx, acceptScript, keys, args...)
	res, err := cmd.Slice()
	if err == nil && len(res) != len(group) {
		err = fmt.Errorf("accept: %d replies for %d requests", len(res), len(group))
	}
	for i, c := range group {
		if err != nil {
			c.err = err
		} else if r, ok := res[i].([]any); ok {
			c.res = r
			if k, _ := r[0].(string); replErr != nil && (k == "ok" || k == "dup") {
				c.res, c.err = nil, fmt.Errorf("accept: %w", replErr)
			}
		} else {
			c.err = fmt.Errorf("accept: unexpected reply %v", res[i])
		}
		c.wake <- struct{}{}
	}
}
