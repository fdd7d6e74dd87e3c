package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/smpp"
)

// The dispatcher against a fake queue and a fake link, each with an error
// knob per stage (maddy's internal/testutils target style), so that every
// failure branch is reachable without Redis or an SMSC. Every wait is
// bounded; nothing sleeps where a condition can be awaited.

// unitWait bounds every wait of these tests.
const unitWait = 10 * time.Second

// knob makes one stage fail: err for the first times calls (0: every call).
type knob struct {
	err   error
	times int
	calls int
}

// take returns the error for this call, counting it.
func (k *knob) take() error {
	if k == nil || k.err == nil {
		return nil
	}
	k.calls++
	if k.times > 0 && k.calls > k.times {
		return nil
	}
	return k.err
}

// qcall is one call into the fake queue, for ordering and timing checks.
type qcall struct {
	stage    string
	start    time.Time
	end      time.Time
	err      error
	nEntries int
}

// retryRec is one Retry the dispatcher asked for.
type retryRec struct {
	id, reason string
	at         time.Time
}

// failRec is one Fail the dispatcher asked for.
type failRec struct {
	id, reason string
	refund     bool
}

// fakeQueue is an in-memory QueueStore. Read hands out entries that stay
// pending until MarkSubmitted, Ack, Retry or Fail settles them; ClaimStale
// hands out pending entries idle for minIdle again (as XAUTOCLAIM does);
// PromoteDue turns due retries into new entries. Each stage has a knob.
type fakeQueue struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change

	msgs    map[string]*accounts.Message
	ready   []accounts.Entry
	pending map[string]time.Time // stream id -> last delivery to a consumer
	byID    map[string]accounts.Entry
	due     []retryRec
	parked  []retryRec // messages waiting for a link (Park), in order
	nextID  int

	calls     []qcall
	submitted []accounts.Submitted
	acks      []accounts.Entry
	retries   []retryRec
	fails     []failRec
	doubles   []string // stream ids settled when not pending: lost or double-acked
	claimed   int

	EnsureErr, ReadErr, ClaimErr, LoadErr, MarkErr, AckErr, RetryErr, FailErr knob
}

func newFakeQueue() *fakeQueue {
	return &fakeQueue{changed: make(chan struct{}), msgs: map[string]*accounts.Message{},
		pending: map[string]time.Time{}, byID: map[string]accounts.Entry{}}
}

// broadcast wakes waiters; q.mu must be held.
func (q *fakeQueue) broadcast() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// waitFor waits, bounded by unitWait, until cond (called with q.mu held) holds.
func (q *fakeQueue) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), unitWait)
	defer cancel()
	for {
		q.mu.Lock()
		ok, ch := cond(), q.changed
		q.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			q.mu.Lock()
			defer q.mu.Unlock()
			t.Fatalf("waiting for %s: %v; calls %v, submitted %d, retries %v, fails %v",
				what, ctx.Err(), q.stages(), len(q.submitted), q.retries, q.fails)
		}
	}
}

// stages lists the stages called so far; q.mu must be held.
func (q *fakeQueue) stages() []string {
	var s []string
	for _, c := range q.calls {
		s = append(s, c.stage)
	}
	return s
}

// enqueue adds a queued message and its entry.
func (q *fakeQueue) enqueue(m accounts.Message) {
	q.mu.Lock()
	defer q.mu.Unlock()
	m.Status = accounts.MsgQueued
	q.msgs[m.ID] = &m
	q.push(m.ID)
}

// push adds an entry for message id; q.mu must be held.
func (q *fakeQueue) push(id string) {
	q.nextID++
	e := accounts.Entry{StreamID: fmt.Sprintf("%d-0", q.nextID), MessageID: id}
	q.byID[e.StreamID] = e
	q.ready = append(q.ready, e)
	q.broadcast()
}

// record notes a finished call; q.mu must be held.
func (q *fakeQueue) record(stage string, start time.Time, err error, n int) {
	q.calls = append(q.calls, qcall{stage: stage, start: start, end: time.Now(), err: err, nEntries: n})
	q.broadcast()
}

// settle takes e off the pending list, noting it when it was not pending.
func (q *fakeQueue) settle(e accounts.Entry) {
	if _, ok := q.pending[e.StreamID]; !ok {
		q.doubles = append(q.doubles, e.StreamID)
	}
	delete(q.pending, e.StreamID)
}

func (q *fakeQueue) EnsureGroups(context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.EnsureErr.take()
}

func (q *fakeQueue) Read(ctx context.Context, _ string, count int, block time.Duration) ([]accounts.Entry, error) {
	start := time.Now()
	timer := time.NewTimer(block)
	defer timer.Stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.ReadErr.take(); err != nil {
		q.record("read", start, err, 0)
		return nil, err
	}
	for len(q.ready) == 0 {
		ch := q.changed
		q.mu.Unlock()
		select {
		case <-ch:
			q.mu.Lock()
		case <-timer.C:
			q.mu.Lock()
			q.record("read", start, nil, 0)
			return nil, nil
		case <-ctx.Done():
			q.mu.Lock()
			q.record("read", start, ctx.Err(), 0)
			return nil, ctx.Err()
		}
	}
	n := min(count, len(q.ready))
	out := append([]accounts.Entry(nil), q.ready[:n]...)
	q.ready = q.ready[n:]
	for _, e := range out {
		q.pending[e.StreamID] = time.Now()
	}
	q.record("read", start, nil, n)
	return out, nil
}

func (q *fakeQueue) ClaimStale(_ context.Context, _ string, minIdle time.Duration, count int) ([]accounts.Entry, error) {
	start := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.ClaimErr.take(); err != nil {
		q.record("claim", start, err, 0)
		return nil, err
	}
	var out []accounts.Entry
	for id, at := range q.pending {
		if len(out) < count && start.Sub(at) >= minIdle {
			q.pending[id] = start
			out = append(out, q.byID[id])
		}
	}
	q.claimed += len(out)
	q.record("claim", start, nil, len(out))
	return out, nil
}

func (q *fakeQueue) LoadMessages(_ context.Context, ids []string) ([]*accounts.Message, error) {
	start := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.LoadErr.take(); err != nil {
		q.record("load", start, err, len(ids))
		return nil, err
	}
	out := make([]*accounts.Message, len(ids))
	for i, id := range ids {
		if m, ok := q.msgs[id]; ok {
			c := *m
			out[i] = &c
		}
	}
	q.record("load", start, nil, len(ids))
	return out, nil
}

func (q *fakeQueue) MarkSubmitted(_ context.Context, batch []accounts.Submitted) error {
	start := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.MarkErr.take(); err != nil {
		q.record("mark", start, err, len(batch))
		return err
	}
	for _, s := range batch {
		q.settle(s.Entry)
		m := q.msgs[s.Entry.MessageID]
		m.Status, m.Link, m.Attempts = accounts.MsgSubmitted, s.Link, m.Attempts+1
		q.submitted = append(q.submitted, s)
	}
	q.record("mark", start, nil, len(batch))
	return nil
}

func (q *fakeQueue) Ack(_ context.Context, e accounts.Entry) error {
	start := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.AckErr.take(); err != nil {
		q.record("ack", start, err, 1)
		return err
	}
	q.settle(e)
	q.acks = append(q.acks, e)
	q.record("ack", start, nil, 1)
	return nil
}

func (q *fakeQueue) Retry(_ context.Context, e accounts.Entry, at time.Time, reason string, partIDs []string) (int, error) {
	start := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.RetryErr.take(); err != nil {
		q.record("retry", start, err, 1)
		return 0, err
	}
	q.settle(e)
	m := q.msgs[e.MessageID]
	m.Attempts++
	m.Error = reason
	if partIDs != nil {
		m.PartIDs = append([]string(nil), partIDs...)
	}
	r := retryRec{id: e.MessageID, reason: reason, at: at}
	q.retries = append(q.retries, r)
	q.due = append(q.due, r)
	q.record("retry", start, nil, 1)
	return m.Attempts, nil
}

func (q *fakeQueue) Park(_ context.Context, e accounts.Entry, reason string, partIDs []string) error {
	start := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.settle(e)
	m := q.msgs[e.MessageID]
	m.Error = reason
	if partIDs != nil {
		m.PartIDs = append([]string(nil), partIDs...)
	}
	q.parked = append(q.parked, retryRec{id: e.MessageID, reason: reason, at: start})
	q.record("park", start, nil, 1)
	return nil
}

func (q *fakeQueue) ReleaseParked(_ context.Context, before time.Time, limit int) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	keep := q.parked[:0]
	for _, r := range q.parked {
		if n < limit && !r.at.After(before) {
			q.push(r.id)
			n++
			continue
		}
		keep = append(keep, r)
	}
	q.parked = keep
	return n, nil
}

func (q *fakeQueue) PromoteDue(_ context.Context, now time.Time, limit int) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	keep := q.due[:0]
	for _, r := range q.due {
		if n < limit && !r.at.After(now) {
			q.push(r.id)
			n++
			continue
		}
		keep = append(keep, r)
	}
	q.due = keep
	return n, nil
}

func (q *fakeQueue) Fail(_ context.Context, e accounts.Entry, reason string, refund, attempt bool) (*accounts.Message, error) {
	start := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.FailErr.take(); err != nil {
		q.record("fail", start, err, 1)
		return nil, err
	}
	q.settle(e)
	m := q.msgs[e.MessageID]
	m.Status, m.Error = accounts.MsgFailed, reason
	if attempt {
		m.Attempts++
	}
	q.fails = append(q.fails, failRec{id: e.MessageID, reason: reason, refund: refund})
	q.record("fail", start, nil, 1)
	c := *m
	return &c, nil
}

func (q *fakeQueue) QueueStats(context.Context) (int64, int64, time.Duration, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return int64(len(q.pending)), int64(len(q.due)), 0, nil
}

// partSubmit is one Submit the fake link saw.
type partSubmit struct {
	dest             string
	ref, total, part int
	err              error
}

// stageLink is a Link whose Submit fails per part number (1-based; 1 for a
// single-part message) as its knobs say, and which can hold every Submit
// until gate is closed.
type stageLink struct {
	name string

	mu       sync.Mutex
	changed  chan struct{}
	down     bool
	partErr  map[int]*knob
	gate     chan struct{} // non-nil: Submit waits for it to close, or for ctx
	inGate   int           // Submits waiting at the gate
	seen     []partSubmit
	nextID   int
	async    int // submits taken by asyncStage.SubmitAsync
	returned int // their done calls that have returned
}

func newStageLink(name string) *stageLink {
	return &stageLink{name: name, changed: make(chan struct{}), partErr: map[int]*knob{}}
}

func (l *stageLink) Name() string { return l.name }

// setDown takes the link down or brings it up.
func (l *stageLink) setDown(down bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = down
}

func (l *stageLink) Up() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.down
}

func (l *stageLink) broadcast() {
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *stageLink) Submit(ctx context.Context, r *smpp.SubmitRequest) (string, error) {
	ref, total, part := 0, 1, 1
	if len(r.UDH) == 6 {
		ref, total, part = int(r.UDH[3]), int(r.UDH[4]), int(r.UDH[5])
	}
	l.mu.Lock()
	gate := l.gate
	if gate != nil {
		l.inGate++
		l.broadcast()
	}
	l.mu.Unlock()
	var ctxErr error
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			ctxErr = ctx.Err()
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if gate != nil {
		l.inGate--
	}
	err := ctxErr
	if err == nil {
		err = l.partErr[part].take()
	}
	l.seen = append(l.seen, partSubmit{dest: r.Dest, ref: ref, total: total, part: part, err: err})
	l.broadcast()
	if err != nil {
		return "", err
	}
	l.nextID++
	return fmt.Sprintf("%X", l.nextID), nil
}

// asyncStage is a stageLink that also takes submits as smpp.Link's
// SubmitAsync does: done is called later, from another goroutine, with what
// Submit returns; decline makes it take none (a full window).
type asyncStage struct {
	*stageLink
	decline bool
}

func (l *asyncStage) SubmitAsync(ctx context.Context, r *smpp.SubmitRequest, done func(string, error)) bool {
	if l.decline {
		return false
	}
	l.mu.Lock()
	l.async++
	l.mu.Unlock()
	go func() {
		done(l.Submit(ctx, r))
		l.mu.Lock()
		l.returned++
		l.broadcast()
		l.mu.Unlock()
	}()
	return true
}

// asyncTaken is how many submits went through SubmitAsync.
func (l *stageLink) asyncTaken() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.async
}

// waitFor waits, bounded by unitWait, until cond (called with l.mu held) holds.
func (l *stageLink) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), unitWait)
	defer cancel()
	for {
		l.mu.Lock()
		ok, ch := cond(), l.changed
		l.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		}
	}
}

// submits returns a copy of what the link saw.
func (l *stageLink) submits() []partSubmit {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]partSubmit(nil), l.seen...)
}

// unitDispatcher is a dispatcher over q and link with fast test timings.
func unitDispatcher(q *fakeQueue, link Link, m *Metrics, edit func(*DispatcherOptions)) *Dispatcher {
	o := DispatcherOptions{
		Store: q, Routes: NewRoutes([]Route{{Link: link}}), Consumer: "unit",
		Workers: 4, Batch: 10, Block: 20 * time.Millisecond,
		Retry:           RetryPolicy{Initial: time.Millisecond, Max: time.Millisecond, MaxAttempts: 5},
		RefundOnFailure: true, ErrorBackoff: 50 * time.Millisecond, Metrics: m,
		ParkRecheck: 20 * time.Millisecond, // parked messages come back soon in unit tests
	}
	if edit != nil {
		edit(&o)
	}
	return NewDispatcher(o)
}

// runDispatcher starts d.Run; the returned stop cancels it and waits,
// bounded, for Run to return.
func runDispatcher(t *testing.T, d *Dispatcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stopped := false
	stop = func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(unitWait):
			t.Fatal("Run did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

// runUntilSettled runs d until q records a failure (fail) or a submit,
// then stops it.
func runUntilSettled(t *testing.T, q *fakeQueue, d *Dispatcher, fail bool) {
	t.Helper()
	stop := runDispatcher(t, d)
	if fail {
		q.waitFor(t, "the message to fail", func() bool { return len(q.fails) > 0 })
	} else {
		q.waitFor(t, "the message to be recorded as submitted", func() bool { return len(q.submitted) > 0 })
	}
	stop()
}

// threeParts is a GSM text that travels as three concatenated parts.
var threeParts = strings.Repeat("0123456789", 40)

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestDispatchPartialMultipart: part 1 of a three-part message is accepted
// by the SMSC, part 2 fails.
//
//   - Permanently: the message fails at once and is not refunded (part 1
//     reached the SMSC and is charged); part 3 is never sent.
//   - Temporarily (throttled): an attempt; the retry resubmits only parts 2
//     and 3, under the same concatenation reference so the phone joins them
//     with part 1; it is recorded as submitted once, with the ids of all
//     three parts.
//   - Link down, or its session ended unanswered (outcome unknown): the
//     message waits for a link without using an attempt, then resubmits
//     parts 2 and 3; the outcome unknown counts a duplicate risk.
//   - Its response lost on a live session: part 2 is not sent again (it
//     counts as sent, id unknown), part 3 follows, one submit record.
//   - Temporarily, with no attempts left: it fails as "gave up", not
//     refunded, its attempts agreeing with the reason.
func TestDispatchPartialMultipart(t *testing.T) {
	for _, tc := range []struct {
		name        string
		err         error
		maxAttempts int
		wantFail    string // substring of the fail reason; "" when the message must not fail
		wantParts   []int  // the parts the link saw, in order
		attempts    int    // the message's attempts at the end
	}{
		{"part 2 permanent", &smpp.StatusError{Status: 0x0B}, 5, "ESME_RINVDSTADR", []int{1, 2}, 1},
		{"part 2 throttled", &smpp.StatusError{Status: 0x58}, 5, "", []int{1, 2, 2, 3}, 2},
		{"part 2 link down", smpp.ErrLinkDown, 5, "", []int{1, 2, 2, 3}, 1},
		{"part 2 outcome unknown", smpp.ErrOutcomeUnknown, 5, "", []int{1, 2, 2, 3}, 1},
		{"part 2 response lost", smpp.ErrNoResponse, 5, "", []int{1, 2, 3}, 1},
		{"part 2 throttled, no attempts left", &smpp.StatusError{Status: 0x58}, 1, "gave up after 1 attempts", []int{1, 2}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newFakeQueue()
			link := newStageLink("l1")
			link.partErr[2] = &knob{err: tc.err, times: 1}
			m := NewMetrics(prometheus.NewRegistry())
			d := unitDispatcher(q, link, m, func(o *DispatcherOptions) { o.Retry.MaxAttempts = tc.maxAttempts })
			q.enqueue(accounts.Message{ID: "m1", AccountID: "a1", To: "61412345678", Text: threeParts, CreatedAt: time.Now()})
			runUntilSettled(t, q, d, tc.wantFail != "")
			q.mu.Lock()
			defer q.mu.Unlock()
			parts := link.submits()
			if len(parts) != len(tc.wantParts) {
				t.Fatalf("link saw %+v, want parts %v", parts, tc.wantParts)
			}
			for i, p := range parts {
				if p.part != tc.wantParts[i] || p.total != 3 || p.ref != parts[0].ref {
					t.Fatalf("submit %d is part %d/%d ref %d, want %d/3 ref %d (%+v)", i, p.part, p.total, p.ref, tc.wantParts[i], parts[0].ref, parts)
				}
			}
			if got := q.msgs["m1"].Attempts; got != tc.attempts {
				t.Errorf("attempts %d, want %d", got, tc.attempts)
			}
			if len(q.doubles) != 0 || len(q.pending) != 0 {
				t.Fatalf("entries settled twice %v, still pending %v", q.doubles, q.pending)
			}
			if tc.wantFail != "" {
				f := q.fails[0]
				if len(q.fails) != 1 || f.id != "m1" || f.refund || !strings.Contains(f.reason, tc.wantFail) {
					t.Fatalf("fails %+v, want one fail of m1 naming %q, not refunded (part 1 was accepted)", q.fails, tc.wantFail)
				}
				if len(q.submitted) != 0 {
					t.Fatalf("submitted %v, want none", q.submitted)
				}
				return
			}
			if len(q.fails) != 0 {
				t.Fatalf("fails %+v: the message must not fail", q.fails)
			}
			if len(q.submitted) != 1 || q.msgs["m1"].Status != accounts.MsgSubmitted {
				t.Fatalf("submitted %+v, status %s: want m1 submitted once", q.submitted, q.msgs["m1"].Status)
			}
			// The ids of every accepted part, part 1's from the first attempt.
			ids := q.submitted[0].SMSCIDs
			if len(ids) == 0 || ids[0] != smpp.IDVariants("1")[0] {
				t.Fatalf("SMSC ids %v, want part 1's first", ids)
			}
			dup := counterValue(t, m.duplicateRisk.WithLabelValues("l1"))
			lost := counterValue(t, m.lostResponse.WithLabelValues("l1"))
			switch {
			case errors.Is(tc.err, smpp.ErrNoResponse):
				if lost != 1 || dup != 0 {
					t.Fatalf("lost %v dup %v, want 1 lost response", lost, dup)
				}
			case errors.Is(tc.err, smpp.ErrOutcomeUnknown):
				if dup != 1 || lost != 0 {
					t.Fatalf("dup %v lost %v, want 1 duplicate risk", dup, lost)
				}
			default:
				if dup != 0 || lost != 0 {
					t.Fatalf("dup %v lost %v, want none", dup, lost)
				}
			}
		})
	}
}

// TestDispatchAsyncOutcomes: a single-part message the link takes without
// a worker goroutine (SubmitAsync) ends as one sent by a worker does, for
// every outcome of its submit: recorded with its id; failed and refunded on
// a permanent status; retried as an attempt when throttled; parked without
// an attempt when the link is down or the outcome unknown (a duplicate risk
// counted); counted as sent when its response was lost. A link that
// declines (a full window) gets the message through Submit.
func TestDispatchAsyncOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		decline  bool
		fail     string // substring of the fail reason; "" when it must be submitted
		submits  int    // what the link saw
		attempts int
		ids      int // SMSC ids recorded
		dup      float64
		lost     float64
	}{
		{"answered", nil, false, "", 1, 1, 1, 0, 0},
		{"declined: a worker sends it", nil, true, "", 1, 1, 1, 0, 0},
		{"permanent", &smpp.StatusError{Status: 0x0B}, false, "ESME_RINVDSTADR", 1, 1, 0, 0, 0},
		{"throttled", &smpp.StatusError{Status: 0x58}, false, "", 2, 2, 1, 0, 0},
		{"link down", smpp.ErrLinkDown, false, "", 2, 1, 1, 0, 0},
		{"outcome unknown", smpp.ErrOutcomeUnknown, false, "", 2, 1, 1, 1, 0},
		{"response lost", smpp.ErrNoResponse, false, "", 1, 1, 0, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newFakeQueue()
			stage := newStageLink("l1")
			stage.partErr[1] = &knob{err: tc.err, times: 1}
			link := &asyncStage{stageLink: stage, decline: tc.decline}
			m := NewMetrics(prometheus.NewRegistry())
			d := unitDispatcher(q, link, m, nil)
			q.enqueue(accounts.Message{ID: "m1", AccountID: "a1", To: "61412345678", Text: "hello", CreatedAt: time.Now()})
			runUntilSettled(t, q, d, tc.fail != "")
			q.mu.Lock()
			defer q.mu.Unlock()
			if got := len(stage.submits()); got != tc.submits {
				t.Fatalf("link saw %d submits, want %d", got, tc.submits)
			}
			if want := tc.submits; tc.decline {
				if stage.asyncTaken() != 0 {
					t.Fatalf("%d submits went asynchronously through a link that declines", stage.asyncTaken())
				}
			} else if stage.asyncTaken() != want {
				t.Fatalf("%d of %d submits went asynchronously", stage.asyncTaken(), want)
			}
			if got := q.msgs["m1"].Attempts; got != tc.attempts {
				t.Errorf("attempts %d, want %d", got, tc.attempts)
			}
			if len(q.doubles) != 0 || len(q.pending) != 0 {
				t.Fatalf("entries settled twice %v, still pending %v", q.doubles, q.pending)
			}
			if tc.fail != "" {
				if len(q.fails) != 1 || !q.fails[0].refund || !strings.Contains(q.fails[0].reason, tc.fail) || len(q.submitted) != 0 {
					t.Fatalf("fails %+v submitted %v, want one refunded fail naming %q", q.fails, q.submitted, tc.fail)
				}
				return
			}
			if len(q.fails) != 0 || len(q.submitted) != 1 || len(q.submitted[0].SMSCIDs) != tc.ids {
				t.Fatalf("fails %+v submitted %+v, want m1 submitted once with %d ids", q.fails, q.submitted, tc.ids)
			}
			if dup, lost := counterValue(t, m.duplicateRisk.WithLabelValues("l1")), counterValue(t, m.lostResponse.WithLabelValues("l1")); dup != tc.dup || lost != tc.lost {
				t.Fatalf("duplicate risks %v, lost responses %v; want %v, %v", dup, lost, tc.dup, tc.lost)
			}
		})
	}
}

// TestDispatchNoLink: with no link up at all the queue is not read (a
// backlog waits in Redis untouched, no attempt used); once a link binds,
// the message is sent.
func TestDispatchNoLink(t *testing.T) {
	q := newFakeQueue()
	link := newStageLink("l1")
	link.down = true
	m := NewMetrics(prometheus.NewRegistry())
	d := unitDispatcher(q, link, m, nil)
	q.enqueue(accounts.Message{ID: "m1", To: "61412345678", Text: "hi"})
	stop := runDispatcher(t, d)
	defer stop()
	// Several of the dispatcher's looks at the links go by.
	deadline := time.Now().Add(5 * linkWait)
	for time.Now().Before(deadline) {
		q.mu.Lock()
		calls := q.stages()
		q.mu.Unlock()
		for _, c := range calls {
			if c == "read" || c == "claim" || c == "load" {
				t.Fatalf("the queue was used with no link up: %v", calls)
			}
		}
		time.Sleep(linkWait / 2)
	}
	link.setDown(false)
	q.waitFor(t, "the message sent once the link is up", func() bool { return len(q.submitted) == 1 })
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.parked) != 0 || len(q.retries) != 0 || q.msgs["m1"].Attempts != 1 {
		t.Fatalf("parked %+v retries %+v attempts %d: want sent on its first attempt", q.parked, q.retries, q.msgs["m1"].Attempts)
	}
}

// TestDispatchNoLinkForDestination: a link is up but none serves the
// destination: the message waits for one (parked) without using an
// attempt, counted under no_route_total (not under a made-up link name);
// when its link binds it is sent at once.
func TestDispatchNoLinkForDestination(t *testing.T) {
	q := newFakeQueue()
	uk := newStageLink("uk")
	au := newStageLink("au")
	au.down = true
	m := NewMetrics(prometheus.NewRegistry())
	d := unitDispatcher(q, uk, m, func(o *DispatcherOptions) {
		o.Routes = NewRoutes([]Route{{Link: uk, Prefixes: []string{"44"}}, {Link: au, Prefixes: []string{"61"}}})
		o.Retry.Initial, o.Retry.Max = time.Hour, time.Hour
		o.ParkRecheck = time.Hour // only the bind brings it back
	})
	q.enqueue(accounts.Message{ID: "m1", To: "61412345678", Text: "hi"})
	stop := runDispatcher(t, d)
	defer stop()
	q.waitFor(t, "the message to wait for a link", func() bool { return len(q.parked) > 0 })
	if v := counterValue(t, m.noRoute.WithLabelValues("temporary")); v != 1 {
		t.Fatalf("no_route_total{result=temporary} = %v, want 1", v)
	}
	q.mu.Lock()
	if len(uk.submits())+len(au.submits()) != 0 || len(q.retries) != 0 || q.msgs["m1"].Attempts != 0 {
		t.Fatalf("submits %+v retries %+v attempts %d: waiting for a link must use no attempt", au.submits(), q.retries, q.msgs["m1"].Attempts)
	}
	q.mu.Unlock()
	au.setDown(false)
	q.waitFor(t, "the message sent once its link is up", func() bool { return len(q.submitted) == 1 })
}

// TestDispatchExpiry: a message older than ExpireAfter fails as expired,
// refunded, without a submit or an attempt.
func TestDispatchExpiry(t *testing.T) {
	q := newFakeQueue()
	link := newStageLink("l1")
	d := unitDispatcher(q, link, nil, func(o *DispatcherOptions) { o.ExpireAfter = time.Hour })
	q.enqueue(accounts.Message{ID: "m1", To: "61412345678", Text: "hi", CreatedAt: time.Now().Add(-2 * time.Hour)})
	stop := runDispatcher(t, d)
	q.waitFor(t, "the message to expire", func() bool { return len(q.fails) > 0 })
	stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	if f := q.fails[0]; !strings.Contains(f.reason, "expired: not sent within 1h0m0s") || !f.refund || q.msgs["m1"].Attempts != 0 || len(link.submits()) != 0 {
		t.Fatalf("fails %+v attempts %d submits %d", q.fails, q.msgs["m1"].Attempts, len(link.submits()))
	}
}

// TestDispatchDrain: Run, cancelled while submits are in flight, waits for
// them, records each exactly once and returns; with a drain timeout too
// short, it cancels them and leaves their entries pending, neither
// acknowledged nor retried nor failed.
func TestDispatchDrain(t *testing.T) {
	for _, tc := range []struct {
		name    string
		release bool // open the gate after cancelling Run
		async   bool // the link takes submits without a worker goroutine
	}{
		{"in-flight submits finish", true, false},
		{"drain timeout", false, false},
		{"in-flight submits finish, asynchronous", true, true},
		{"drain timeout, asynchronous", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newFakeQueue()
			stage := newStageLink("l1")
			stage.gate = make(chan struct{})
			var link Link = stage
			if tc.async {
				link = &asyncStage{stageLink: stage}
			}
			d := unitDispatcher(q, link, nil, func(o *DispatcherOptions) {
				if !tc.release {
					o.DrainTimeout = 50 * time.Millisecond
				}
			})
			const n = 3
			for i := range n {
				q.enqueue(accounts.Message{ID: fmt.Sprintf("m%d", i), To: "61412345678", Text: "hi"})
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()
			stage.waitFor(t, "every submit in flight", func() bool { return stage.inGate == n })
			// Every submit is held at the gate, so all n are in flight when
			// ctx ends; whatever Run records after that, it records draining.
			cancel()
			if tc.release {
				close(stage.gate)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(unitWait):
				t.Fatal("Run did not return")
			}
			// Run has returned: what it recorded is final.
			q.mu.Lock()
			defer q.mu.Unlock()
			if len(q.doubles) != 0 || len(q.acks) != 0 || len(q.retries) != 0 || len(q.fails) != 0 {
				t.Fatalf("doubles %v acks %v retries %v fails %v, want none", q.doubles, q.acks, q.retries, q.fails)
			}
			if tc.async && stage.asyncTaken() != n {
				t.Fatalf("%d of %d submits went asynchronously", stage.asyncTaken(), n)
			}
			if tc.release {
				if len(q.submitted) != n || len(q.pending) != 0 {
					t.Fatalf("%d recorded, %d pending: want all %d in-flight submits recorded once", len(q.submitted), len(q.pending), n)
				}
				return
			}
			if len(q.submitted) != 0 || len(q.pending) != n {
				t.Fatalf("%d recorded, %d pending: want the %d cancelled submits left pending for another consumer", len(q.submitted), len(q.pending), n)
			}
		})
	}
}

// TestDispatchQueueErrors: when reading the queue or loading the messages
// fails, the dispatcher waits ErrorBackoff before it calls the queue again,
// and drops, acknowledges or retries nothing: an entry whose load failed
// stays pending and the dispatcher loads it again itself after the backoff
// (not after ClaimIdle, when another would claim it), and sends it once.
func TestDispatchQueueErrors(t *testing.T) {
	errRedis := errors.New("redis: connection refused")
	for _, tc := range []struct {
		name  string
		set   func(q *fakeQueue)
		stage string
	}{
		{"read", func(q *fakeQueue) { q.ReadErr = knob{err: errRedis, times: 2} }, "read"},
		{"claim", func(q *fakeQueue) { q.ClaimErr = knob{err: errRedis, times: 1} }, "claim"},
		{"load", func(q *fakeQueue) { q.LoadErr = knob{err: errRedis, times: 1} }, "load"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newFakeQueue()
			tc.set(q)
			link := newStageLink("l1")
			backoff := 50 * time.Millisecond
			d := unitDispatcher(q, link, nil, func(o *DispatcherOptions) {
				o.ErrorBackoff = backoff
				o.ClaimIdle = 100 * time.Millisecond // pending entries come back quickly
				if tc.stage == "load" {
					o.ClaimIdle = time.Hour // no claim: the dispatcher tries its own entry again
				}
			})
			q.enqueue(accounts.Message{ID: "m1", To: "61412345678", Text: "hi"})
			stop := runDispatcher(t, d)
			q.waitFor(t, "m1 recorded as submitted", func() bool { return len(q.submitted) > 0 })
			stop()

			q.mu.Lock()
			defer q.mu.Unlock()
			failed := 0
			for i, c := range q.calls {
				if c.err == nil || errors.Is(c.err, context.Canceled) {
					continue
				}
				failed++
				if c.stage != tc.stage {
					t.Fatalf("call %d (%s) failed: %v", i, c.stage, c.err)
				}
				// The next call into the queue's consumer side waits out the backoff.
				for _, next := range q.calls[i+1:] {
					if next.stage == "mark" {
						continue
					}
					if gap := next.start.Sub(c.end); gap < backoff {
						t.Fatalf("%s %v after the failed %s; want a backoff of at least %v (calls %v)", next.stage, gap, c.stage, backoff, q.stages())
					}
					break
				}
			}
			if failed == 0 {
				t.Fatalf("no %s call failed (calls %v)", tc.stage, q.stages())
			}
			if len(q.submitted) != 1 || len(q.acks) != 0 || len(q.retries) != 0 || len(q.fails) != 0 || len(q.doubles) != 0 {
				t.Fatalf("submitted %d acks %v retries %v fails %v doubles %v: want m1 sent once, nothing else",
					len(q.submitted), q.acks, q.retries, q.fails, q.doubles)
			}
			if got := link.submits(); len(got) != 1 {
				t.Fatalf("link saw %+v, want one submit", got)
			}
			if tc.stage == "load" && q.claimed != 0 {
				t.Fatalf("the entry whose load failed was claimed (%d): it should have been loaded again", q.claimed)
			}
		})
	}
}

// TestDispatchGroupRetried (issue 12): a Redis refusing the consumer group
// at start (OOM, LOADING) delays the dispatcher; it never stops for good.
func TestDispatchGroupRetried(t *testing.T) {
	q := newFakeQueue()
	q.EnsureErr = knob{err: errors.New("OOM command not allowed when used memory > 'maxmemory'"), times: 3}
	link := newStageLink("l1")
	d := unitDispatcher(q, link, NewMetrics(prometheus.NewRegistry()), func(o *DispatcherOptions) {
		o.ErrorBackoff = time.Millisecond
	})
	q.enqueue(accounts.Message{ID: "m1", To: "61412345678", Text: "hi"})
	stop := runDispatcher(t, d)
	defer stop()
	q.waitFor(t, "the message sent once the group exists", func() bool { return len(q.submitted) == 1 })
	q.mu.Lock()
	calls := q.EnsureErr.calls
	q.mu.Unlock()
	if calls < 4 {
		t.Fatalf("EnsureGroups called %d times, want the 3 refusals and a success", calls)
	}
}

// TestDispatchRecordRetried (issue 12): a refused record of a submit (OOM,
// a failover) is tried again until it lands; the entry is never left for
// another consumer to claim and send a second time (unless the refusal
// outlasts ClaimIdle).
func TestDispatchRecordRetried(t *testing.T) {
	q := newFakeQueue()
	q.MarkErr = knob{err: errors.New("OOM command not allowed when used memory > 'maxmemory'"), times: 3}
	link := newStageLink("l1")
	d := unitDispatcher(q, link, nil, func(o *DispatcherOptions) {
		o.ErrorBackoff = 5 * time.Millisecond
	})
	q.enqueue(accounts.Message{ID: "m1", To: "61412345678", Text: "hi"})
	stop := runDispatcher(t, d)
	q.waitFor(t, "m1 recorded as submitted", func() bool { return len(q.submitted) == 1 })
	stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.MarkErr.calls < 4 {
		t.Fatalf("MarkSubmitted called %d times, want the 3 refusals and a success", q.MarkErr.calls)
	}
	if got := link.submits(); len(got) != 1 || q.claimed != 0 || len(q.doubles) != 0 {
		t.Fatalf("link saw %d submits, %d claimed, doubles %v: want one submit, nothing claimed", len(got), q.claimed, q.doubles)
	}
}

// TestDispatchBatchWait: after a read that was not a full batch the
// dispatcher lets the queue fill for BatchWait before it reads again (so
// that under light load messages are read, loaded and recorded together);
// after a full batch it reads again at once.
func TestDispatchBatchWait(t *testing.T) {
	const wait = time.Second
	q := newFakeQueue()
	link := newStageLink("l1")
	d := unitDispatcher(q, link, nil, func(o *DispatcherOptions) { o.BatchWait = wait })
	for i := range 25 {
		q.enqueue(accounts.Message{ID: fmt.Sprintf("m%d", i), To: "61412345678", Text: "hi"})
	}
	stop := runDispatcher(t, d)
	defer stop()
	reads := func() []qcall {
		var out []qcall
		for _, c := range q.calls {
			if c.stage == "read" && c.nEntries > 0 {
				out = append(out, c)
			}
		}
		return out
	}
	q.waitFor(t, "three reads", func() bool { return len(reads()) == 3 })
	q.enqueue(accounts.Message{ID: "late", To: "61412345678", Text: "hi"})
	q.waitFor(t, "the late message read", func() bool { return len(reads()) == 4 })
	q.waitFor(t, "every message sent", func() bool { return len(q.submitted) == 26 })
	q.mu.Lock()
	r := reads()
	q.mu.Unlock()
	if r[0].nEntries != 10 || r[1].nEntries != 10 || r[2].nEntries != 5 || r[3].nEntries != 1 {
		t.Fatalf("reads of %d, %d, %d, %d entries; want 10, 10, 5, 1", r[0].nEntries, r[1].nEntries, r[2].nEntries, r[3].nEntries)
	}
	for i := 1; i <= 2; i++ {
		if gap := r[i].start.Sub(r[i-1].end); gap >= wait/2 {
			t.Errorf("read %d came %v after a full batch, want at once", i+1, gap)
		}
	}
	// The clock of the wait and of the fake's record differ by the time
	// process takes to start the batch's workers, never more.
	if gap := r[3].start.Sub(r[2].end); gap < wait-50*time.Millisecond {
		t.Errorf("read 4 came %v after a batch of 5, want BatchWait (%v)", gap, wait)
	}
}

// freshQueue is a fakeQueue that can hand over fresh messages
// (messages.Store.LoadFresh); it records the ids each way was asked for.
type freshQueue struct {
	*fakeQueue
	fresh, loaded []string
}

func (q *freshQueue) LoadFresh(ctx context.Context, entries []accounts.Entry) ([]*accounts.Message, error) {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.MessageID
	}
	q.mu.Lock()
	q.fresh = append(q.fresh, ids...)
	q.mu.Unlock()
	return q.fakeQueue.LoadMessages(ctx, ids)
}

func (q *freshQueue) LoadMessages(ctx context.Context, ids []string) ([]*accounts.Message, error) {
	q.mu.Lock()
	q.loaded = append(q.loaded, ids...)
	q.mu.Unlock()
	return q.fakeQueue.LoadMessages(ctx, ids)
}

// TestDispatchLoadsFresh: entries Read delivers for the first time are
// loaded through LoadFresh (which may hand over what this process accepted);
// entries claimed from another consumer, and entries whose load failed
// (tried again), are read back from the store.
func TestDispatchLoadsFresh(t *testing.T) {
	q := &freshQueue{fakeQueue: newFakeQueue()}
	q.LoadErr = knob{err: errors.New("redis: connection refused"), times: 1}
	link := newStageLink("l1")
	d := unitDispatcher(q.fakeQueue, link, nil, func(o *DispatcherOptions) {
		o.Store = q
		o.ClaimIdle = 300 * time.Millisecond // past ErrorBackoff: m1 is not claimed back while its load waits
	})
	// m0 read by a consumer that then died: claimed after ClaimIdle.
	q.enqueue(accounts.Message{ID: "m0", To: "61412345670", Text: "hi"})
	if es, err := q.Read(t.Context(), "dead", 1, time.Millisecond); err != nil || len(es) != 1 {
		t.Fatalf("dead consumer's read: %v %v", es, err)
	}
	q.enqueue(accounts.Message{ID: "m1", To: "61412345671", Text: "hi"}) // its first load fails
	runDispatcher(t, d)
	q.waitFor(t, "m0 and m1 submitted", func() bool { return len(q.submitted) == 2 })
	q.enqueue(accounts.Message{ID: "m2", To: "61412345672", Text: "hi"})
	q.waitFor(t, "m2 submitted", func() bool { return len(q.submitted) == 3 })
	q.mu.Lock()
	defer q.mu.Unlock()
	if !slices.Equal(q.fresh, []string{"m1", "m2"}) || !slices.Contains(q.loaded, "m0") || !slices.Contains(q.loaded, "m1") || slices.Contains(q.loaded, "m2") {
		t.Fatalf("fresh loads %v, loads %v: want m1 and m2 fresh, m0 (claimed) and m1 (tried again) loaded", q.fresh, q.loaded)
	}
}

// TestDispatchAsyncCollectorBehind: while the collector cannot record (Redis
// refusing), the outcomes of asynchronous submits do not wait on the
// link's goroutine that reports them (in smpp.Link, its reader): every done
// returns, the records wait on goroutines of their own, and the worker
// slots still bound what is in flight.
func TestDispatchAsyncCollectorBehind(t *testing.T) {
	q := newFakeQueue()
	q.MarkErr = knob{err: errors.New("OOM command not allowed when used memory > 'maxmemory'"), times: 1000000}
	stage := newStageLink("l1")
	d := unitDispatcher(q, &asyncStage{stageLink: stage}, nil, func(o *DispatcherOptions) {
		o.Workers = 1 // the results channel holds 2
		o.ErrorBackoff = 5 * time.Millisecond
		o.DrainTimeout = 50 * time.Millisecond
	})
	q.enqueue(accounts.Message{ID: "m0", To: "61412345678", Text: "hi"})
	runDispatcher(t, d)
	q.waitFor(t, "the collector stuck on m0's record", func() bool { return q.MarkErr.calls > 0 })
	for i := range 9 {
		q.enqueue(accounts.Message{ID: fmt.Sprintf("m%d", i+1), To: "61412345678", Text: "hi"})
	}
	// m1 and m2 fill the channel; m3's outcome finds it full. Its done
	// returns all the same (the record waits on a goroutine that holds the
	// worker slot, so m4 waits for it): four submits, four returns.
	stage.waitFor(t, "m3's done returned with the channel full", func() bool {
		return len(stage.seen) == 4 && stage.returned == 4
	})
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.submitted) != 0 {
		t.Fatalf("%d recorded while every record is refused", len(q.submitted))
	}
}
