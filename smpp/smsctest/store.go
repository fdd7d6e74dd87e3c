package smsctest

import (
	"context"
	"time"

	"sync"

	"github.com/smsgate/smsgate/smpp"
)

// part is one accepted submit_sm.
type part struct {
	systemID, src, dst string
	coding, esm        uint8
	sm                 []byte
	id, stat           string
	at                 time.Time
}

// partsKey identifies the parts of one concatenated message.
type partsKey struct {
	systemID, src, dst string
	ref                uint16
}

// partial is a concatenated message still missing parts.
type partial struct {
	parts []*part // by seq-1
	have  int
	first time.Time
}

// store reassembles parts and keeps completed messages, both bounded.
type store struct {
	mu      sync.Mutex
	keep    int
	msgs    []Message // msgs[0] is completed message number base
	base    int
	total   int // completed since start
	changed chan struct{}
	open    map[partsKey]*partial
}

func (st *store) init(keep int) {
	st.keep = keep
	st.changed = make(chan struct{})
	st.open = make(map[partsKey]*partial)
}

// Add records one part; a single part or the last missing one completes a
// message.
func (st *store) add(p part) {
	_, _, ref, total, seq, ok := smpp.ParseUDH(p.sm)
	if p.esm&0x40 == 0 || !ok || total < 2 || seq < 1 || seq > total {
		st.complete([]*part{&p})
		return
	}
	k := partsKey{p.systemID, p.src, p.dst, ref}
	st.mu.Lock()
	m := st.open[k]
	if m == nil || len(m.parts) != total {
		if len(st.open) >= st.keep { // bound: drop the oldest incomplete message
			var oldest partsKey
			var at time.Time
			for ko, om := range st.open {
				if at.IsZero() || om.first.Before(at) {
					oldest, at = ko, om.first
				}
			}
			delete(st.open, oldest)
		}
		m = &partial{parts: make([]*part, total), first: p.at}
		st.open[k] = m
	}
	if m.parts[seq-1] == nil {
		m.have++
	}
	m.parts[seq-1] = &p
	if m.have < total {
		st.mu.Unlock()
		return
	}
	delete(st.open, k)
	st.mu.Unlock()
	st.complete(m.parts)
}

// complete decodes the concatenated bodies and stores the message.
func (st *store) complete(parts []*part) {
	var body []byte
	ids := make([]string, len(parts))
	for i, p := range parts {
		b := p.sm
		if p.esm&0x40 != 0 {
			if _, rest, _, _, _, ok := smpp.ParseUDH(p.sm); ok {
				b = rest
			}
		}
		body = append(body, b...)
		ids[i] = p.id
	}
	first := parts[0]
	text, err := smpp.Decode(first.coding, body)
	if err != nil {
		text = string(body)
	}
	m := Message{
		ID: ids[0], SystemID: first.systemID, Source: first.src, Dest: first.dst, Text: text,
		Coding: first.coding, Parts: len(parts), PartIDs: ids, Receipt: first.stat, ReceivedAt: first.at,
	}
	st.mu.Lock()
	st.msgs = append(st.msgs, m)
	st.total++
	if len(st.msgs) > st.keep { // drop the oldest half at once: amortised O(1)
		drop := len(st.msgs) - st.keep/2
		st.msgs = append([]Message(nil), st.msgs[drop:]...)
		st.base += drop
	}
	close(st.changed)
	st.changed = make(chan struct{})
	st.mu.Unlock()
}

// since returns a copy of the kept messages numbered n and later.
func (st *store) since(n int) []Message {
	st.mu.Lock()
	defer st.mu.Unlock()
	i := max(n-st.base, 0)
	if i >= len(st.msgs) {
		return []Message{}
	}
	return append([]Message(nil), st.msgs[i:]...)
}

// wait blocks until n messages have completed or ctx ends.
func (st *store) wait(ctx context.Context, n int) ([]Message, error) {
	for {
		st.mu.Lock()
		total, ch := st.total, st.changed
		st.mu.Unlock()
		if total >= n {
			return st.since(0), nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
