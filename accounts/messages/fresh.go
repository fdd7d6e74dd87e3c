package messages

import (
	"context"
	"sync"

	"github.com/smsgate/smsgate/accounts"
)

// acceptedCache keeps the last messages this process accepted, as
// accepted, so that its dispatcher, reading their queue entry a moment
// later, need not read each back from Redis (LoadFresh). It is bounded: the
// oldest give way to new ones (a message not found is loaded as ever).
type acceptedCache struct {
	mu   sync.Mutex
	by   map[string]*accounts.Message
	ring []string // the ids in the order kept, for eviction
	next int
}

func newAcceptedCache(size int) *acceptedCache {
	return &acceptedCache{by: make(map[string]*accounts.Message, size), ring: make([]string, 0, size)}
}

// put keeps what the dispatcher reads of msgs (an accept's, queued: all but
// the blocked ones), copied: the caller keeps its messages.
func (c *acceptedCache) put(msgs []*accounts.Message, blocked map[int]bool) {
	if c == nil {
		return
	}
	copies := make([]accounts.Message, 0, len(msgs))
	for i, m := range msgs {
		if !blocked[i] {
			copies = append(copies, accounts.Message{ID: m.ID, AccountID: m.AccountID, Sender: m.Sender,
				MailID: m.MailID, Source: m.Source, To: m.To, Text: m.Text, Coding: m.Coding, Parts: m.Parts,
				Price: m.Price, Status: accounts.MsgQueued, CreatedAt: m.CreatedAt})
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range copies {
		m := &copies[i]
		if len(c.ring) < cap(c.ring) {
			c.ring = append(c.ring, m.ID)
		} else {
			delete(c.by, c.ring[c.next])
			c.ring[c.next] = m.ID
			c.next = (c.next + 1) % len(c.ring)
		}
		c.by[m.ID] = m
	}
}

// take returns the kept message id and forgets it (nil: not kept).
func (c *acceptedCache) take(id string) *accounts.Message {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.by[id]
	if m != nil {
		delete(c.by, id) // its ring slot stays until overwritten
	}
	return m
}

// LoadFresh returns the messages of entries that Read has just delivered
// for the first time (never claimed ones): a member of a grouped entry that
// this process accepted is handed over as it was accepted, without a read
// (only an accept writes grouped entries, so such a member has not been
// sent, retried or parked since: retries and released messages come back
// as entries of their own); the others are loaded as LoadMessages does. A
// message is handed over once.
func (s *Store) LoadFresh(ctx context.Context, entries []accounts.Entry) ([]*accounts.Message, error) {
	out := make([]*accounts.Message, len(entries))
	ids := make([]string, 0, len(entries))
	var idx []int
	for i, e := range entries {
		if e.Grouped() {
			if m := s.accepted.take(e.MessageID); m != nil {
				out[i] = m
				continue
			}
		}
		ids = append(ids, e.MessageID)
		idx = append(idx, i)
	}
	if len(ids) == 0 {
		return out, nil
	}
	msgs, err := s.LoadMessages(ctx, ids)
	if err != nil {
		return nil, err
	}
	for j, i := range idx {
		out[i] = msgs[j]
	}
	return out, nil
}
