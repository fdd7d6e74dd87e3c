package smpp

import (
	"context"
	"errors"
	"sync"
	"time"
)

// pacer slows a whole link when the SMSC says it is overloaded
// (ESME_RTHROTTLED 0x58, ESME_RMSGQFUL 0x14): each such answer doubles the
// gap between submits on the link (from 20ms, at most MaxThrottleGap); each
// second without one halves it (below 10ms it ends), so the rate recovers
// gradually. Without throttling the gap is 0 and costs nothing.
type pacer struct {
	mu       sync.Mutex
	gap      time.Duration
	next     time.Time // earliest time of the next submit
	adjusted time.Time // last change of gap
}

// Pacer bounds.
const (
	minThrottleGap = 20 * time.Millisecond
	MaxThrottleGap = 2 * time.Second
)

// decay halves the gap for each second since its last change; p.mu must
// be held.
func (p *pacer) decay(now time.Time) {
	for p.gap > 0 && now.Sub(p.adjusted) >= time.Second {
		p.gap /= 2
		p.adjusted = p.adjusted.Add(time.Second)
		if p.gap < minThrottleGap/2 {
			p.gap = 0
		}
	}
}

// free reports whether a submit may go now without waiting its turn: the
// link is not being slowed.
func (p *pacer) free() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gap == 0 {
		return true
	}
	p.decay(time.Now())
	return p.gap == 0
}

// wait holds a submit until its turn under the current gap.
func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	now := time.Now()
	p.decay(now)
	if p.gap == 0 {
		p.mu.Unlock()
		return nil
	}
	at := p.next
	if at.Before(now) {
		at = now
	}
	p.next = at.Add(p.gap)
	p.mu.Unlock()
	if d := time.Until(at); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// throttled widens the gap after an overload answer.
func (p *pacer) throttled() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gap = min(max(2*p.gap, minThrottleGap), MaxThrottleGap)
	p.adjusted = time.Now()
	return p.gap
}

// current is the gap now.
func (p *pacer) current() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gap
}

// isOverload reports the SMSC's "slow down" answers.
func isOverload(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && (se.Status == 0x58 || se.Status == 0x14)
}
