package router

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/smpp"
)

// QueueStore is what the dispatcher needs from the store: the consumer-group
// queue and the message records.
type QueueStore interface {
	EnsureGroups(ctx context.Context) error
	Read(ctx context.Context, consumer string, count int, block time.Duration) ([]accounts.Entry, error)
	ClaimStale(ctx context.Context, consumer string, minIdle time.Duration, count int) ([]accounts.Entry, error)
	LoadMessages(ctx context.Context, ids []string) ([]*accounts.Message, error)
	MarkSubmitted(ctx context.Context, batch []accounts.Submitted) error
	Ack(ctx context.Context, e accounts.Entry) error
	Retry(ctx context.Context, e accounts.Entry, at time.Time, reason string, partIDs []string) (int, error)
	Park(ctx context.Context, e accounts.Entry, reason string, partIDs []string) error
	ReleaseParked(ctx context.Context, before time.Time, max int) (int, error)
	PromoteDue(ctx context.Context, now time.Time, max int) (int, error)
	Fail(ctx context.Context, e accounts.Entry, reason string, refund, attempt bool) (*accounts.Message, error)
	QueueStats(ctx context.Context) (pending, retrying int64, oldest time.Duration, err error)
}

// consumerReaper is the part of a store that removes the consumers of
// instances gone (messages.Store).
type consumerReaper interface {
	RemoveDeadConsumers(ctx context.Context, self string, idle time.Duration) (int, error)
}

// deadConsumerIdle is how long a consumer with nothing pending must have
// been idle to count as dead: far above any read's block.
const deadConsumerIdle = time.Hour

// RetryPolicy is exponential backoff with jitter, bounded in attempts.
type RetryPolicy struct {
	Initial, Max time.Duration
	MaxAttempts  int
	Jitter       float64 // 0..1: the delay is scaled by a random factor in [1-Jitter, 1+Jitter]
}

// Delay returns the wait before the given attempt (1-based) is retried.
func (p RetryPolicy) Delay(attempt int) time.Duration {
	d := p.Initial
	for i := 1; i < attempt && d < p.Max; i++ {
		d *= 2
	}
	d = min(d, p.Max)
	if p.Jitter > 0 {
		d = time.Duration(float64(d) * (1 + p.Jitter*(2*rand.Float64()-1)))
	}
	return d
}

// DispatcherOptions configures a Dispatcher.
type DispatcherOptions struct {
	Store    QueueStore
	Routes   *Routes
	Consumer string        // this instance's name in the consumer group
	Workers  int           // messages in flight at once
	Batch    int           // entries per read
	Block    time.Duration // read block
	// BatchWait is how long the dispatcher lets the queue fill after a
	// read that was not a full batch: under light load it would otherwise
	// read, load and record each message apart (three Redis round trips a
	// message); a message waits at most this long more. Zero: no wait.
	BatchWait          time.Duration
	ClaimIdle          time.Duration // entries of a dead consumer idle this long are claimed
	Retry              RetryPolicy
	RegisteredDelivery bool
	RefundOnFailure    bool
	// ExpireAfter fails a message not sent within this long of being
	// accepted (like an SMS validity period); 0: never. Waiting for a link
	// uses no attempts, so a long outage ends in expiry, not in attempts.
	ExpireAfter time.Duration
	// ParkRecheck releases parked messages this long after they were parked
	// even when no link bound meanwhile (a route's link may be up while
	// another was down); default 1m.
	ParkRecheck  time.Duration
	DrainTimeout time.Duration // how long in-flight submits may finish after Run's ctx ends
	ErrorBackoff time.Duration // wait after a failed queue read or message load; default 1s
	Logger       *slog.Logger
	Metrics      *Metrics
	Events       Events // nil: no events
	StatusHooks  []StatusHook
	// Submitted is told of each batch of submits once it is recorded
	// (receipts that overtook their submit wait for it); it must not keep
	// the slice. May be nil.
	Submitted func(batch []accounts.Submitted)
	// OnPanic is told of a panic recovered in a worker (component
	// "dispatch"); it logs and counts it. The message's entry stays pending
	// and is claimed again after ClaimIdle. nil: the dispatcher logs it.
	OnPanic func(component string, v any)
}

// Dispatcher reads the queue and submits messages over carrier links.
type Dispatcher struct {
	o   DispatcherOptions
	log *slog.Logger
}

// NewDispatcher returns a Dispatcher; Run starts it.
func NewDispatcher(o DispatcherOptions) *Dispatcher {
	if o.Workers <= 0 {
		o.Workers = 64
	}
	if o.Batch <= 0 {
		o.Batch = 200
	}
	if o.Block <= 0 {
		o.Block = time.Second
	}
	if o.ClaimIdle <= 0 {
		o.ClaimIdle = time.Minute
	}
	if o.Retry.Initial <= 0 {
		o.Retry = RetryPolicy{Initial: time.Second, Max: 5 * time.Minute, MaxAttempts: 20, Jitter: 0.2}
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 30 * time.Second
	}
	if o.ErrorBackoff <= 0 {
		o.ErrorBackoff = time.Second
	}
	if o.ParkRecheck <= 0 {
		o.ParkRecheck = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{o: o, log: o.Logger}
}

// Run dispatches until ctx ends. Then it stops claiming work, lets in-flight
// submits finish within DrainTimeout, records their results and returns.
// Whatever was not acknowledged stays in the stream for another consumer.
func (d *Dispatcher) Run(ctx context.Context) error {
	// A Redis that refuses the group (OOM, LOADING, a lost connection)
	// delays the dispatcher, never stops it for good.
	for wait := d.o.ErrorBackoff; ; wait = min(wait*2, 10*d.o.ErrorBackoff) {
		err := d.o.Store.EnsureGroups(ctx)
		if err == nil {
			break
		}
		d.log.WarnContext(ctx, "dispatch: cannot create the queue group yet; retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
	// Consumers of instances that restarted under another name, with
	// nothing pending, idle for an hour: gone from the group.
	if r, ok := d.o.Store.(consumerReaper); ok {
		if n, err := r.RemoveDeadConsumers(ctx, d.o.Consumer, deadConsumerIdle); err != nil {
			d.log.WarnContext(ctx, "remove dead consumers", "err", err)
		} else if n > 0 {
			d.log.InfoContext(ctx, "removed dead consumers from the queue group", "count", n)
		}
	}
	// In-flight work outlives ctx by at most DrainTimeout.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()

	// Recording submits outlives ctx by DrainTimeout too: collect retries a
	// refused record until recordCtx ends.
	recordCtx, cancelRecord := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRecord()
	stopRecordTimer := context.AfterFunc(ctx, func() { time.AfterFunc(d.o.DrainTimeout, cancelRecord) })
	defer stopRecordTimer()
	results := make(chan submitted, d.o.Workers*2)
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		d.collect(recordCtx, results)
	}()
	var bg sync.WaitGroup
	bg.Go(func() { d.housekeep(ctx) })

	sem := make(chan struct{}, d.o.Workers)
	var inflight sync.WaitGroup
	lastClaim := time.Time{}
	var errLog onceLogger
	idle := false                 // no link up: the queue is left alone
	var unloaded []accounts.Entry // read, their load failed: tried again first
	perEntry := 1.0               // messages a stream entry in the last read (grouped entries hold several)
	fill := time.NewTimer(time.Hour)
	fill.Stop()
	for ctx.Err() == nil {
		// With no carrier link up at all, the queue waits in Redis, read by
		// no one: a backlog costs no work per message until a link binds
		// (rather than each message being read and parked), and nothing is
		// claimed either. A link up for some destinations only: messages
		// for the others are parked (send).
		if d.o.Routes.UpCount() == 0 {
			if !idle {
				idle = true
				d.log.InfoContext(ctx, "no carrier link is up: the queue waits until one binds")
			}
			select {
			case <-ctx.Done():
			case <-time.After(linkWait):
			}
			continue
		}
		if idle {
			idle = false
			d.log.InfoContext(ctx, "a carrier link is up: reading the queue")
		}
		var entries []accounts.Entry
		var err error
		fresh := false // delivered for the first time (Read)
		if len(unloaded) > 0 {
			// Entries this consumer read whose messages could not be
			// loaded: still pending for it, so it tries them again itself
			// rather than leave them to a claim after ClaimIdle.
			entries, unloaded = unloaded, nil
		} else if time.Since(lastClaim) > d.o.ClaimIdle/2 {
			lastClaim = time.Now()
			entries, err = d.o.Store.ClaimStale(ctx, d.o.Consumer, d.o.ClaimIdle, readCount(d.o.Batch, perEntry))
			if len(entries) > 0 {
				d.log.InfoContext(ctx, "claimed entries of a stale consumer", "count", len(entries))
			}
		}
		if err == nil && len(entries) == 0 {
			entries, err = d.o.Store.Read(ctx, d.o.Consumer, readCount(d.o.Batch, perEntry), d.o.Block)
			if n := streamEntries(entries); n > 0 {
				perEntry = float64(len(entries)) / float64(n)
			}
			fresh = true
		}
		if err == nil && len(entries) > 0 {
			if err = d.process(workCtx, entries, fresh, sem, &inflight, results); err != nil {
				unloaded = entries // nothing of them was sent: all are tried again
			}
			// Not a full batch: let the queue fill a while.
			if err == nil && len(entries) < d.o.Batch && d.o.BatchWait > 0 {
				fill.Reset(d.o.BatchWait)
				select {
				case <-ctx.Done():
				case <-fill.C:
				}
				fill.Stop()
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			// The entries of a failed load stay pending and are tried again
			// after the backoff (or, should this instance end first,
			// claimed by another after ClaimIdle).
			errLog.log(ctx, d.log, "queue read", err, "retry_in", d.o.ErrorBackoff)
			select {
			case <-ctx.Done():
			case <-time.After(d.o.ErrorBackoff):
			}
			continue
		}
		errLog.reset()
	}

	done := make(chan struct{})
	go func() { inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d.o.DrainTimeout):
		d.log.Warn("drain timeout: in-flight submits cancelled; their entries stay queued", "drain_timeout", d.o.DrainTimeout)
		cancelWork()
		<-done
	}
	close(results)
	<-collected
	bg.Wait()
	return nil
}

// freshLoader is a QueueStore that can hand over messages it accepted
// itself a moment ago instead of reading them back (messages.Store).
type freshLoader interface {
	LoadFresh(ctx context.Context, entries []accounts.Entry) ([]*accounts.Message, error)
}

// process loads the messages of entries and submits each in its own worker.
// When the load fails it returns the error and starts nothing: the entries
// stay pending and are claimed again after ClaimIdle. fresh: Read has just
// delivered them for the first time.
func (d *Dispatcher) process(ctx context.Context, entries []accounts.Entry, fresh bool, sem chan struct{}, inflight *sync.WaitGroup, results chan<- submitted) error {
	var msgs []*accounts.Message
	var err error
	if fl, ok := d.o.Store.(freshLoader); ok && fresh {
		msgs, err = fl.LoadFresh(ctx, entries)
	} else {
		ids := make([]string, len(entries))
		for i, e := range entries {
			ids[i] = e.MessageID
		}
		msgs, err = d.o.Store.LoadMessages(ctx, ids)
	}
	if err != nil {
		return fmt.Errorf("load %d messages: %w", len(entries), err)
	}
	groups := groupEntries(entries)
	for i, e := range entries {
		m, g := msgs[i], groups[i]
		if m == nil || m.Status != accounts.MsgQueued || (g != nil && m.Held) {
			// Missing, already submitted by a consumer that died before
			// acknowledging, or (a member of a grouped entry claimed from
			// such a consumer) gone on to a retry or a wait for a link:
			// acknowledged without sending again.
			if g != nil {
				d.settled(ctx, g, nil)
			} else if err := d.o.Store.Ack(ctx, e); err != nil {
				d.log.ErrorContext(ctx, "ack", "err", err, "message", e.MessageID)
			}
			continue
		}
		sem <- struct{}{}
		inflight.Add(1)
		d.start(ctx, e, g, m, sem, inflight, results)
	}
	return nil
}

// asyncLink is a Link that can take a submit without a goroutine waiting
// for its response (smpp.Link.SubmitAsync).
type asyncLink interface {
	SubmitAsync(ctx context.Context, r *smpp.SubmitRequest, done func(smscID string, err error)) bool
}

// start sends m, holding a worker slot (sem, inflight) until its outcome
// is handled. A single-part message whose link takes it at once goes
// without a goroutine of its own: the link's callback hands the outcome on
// (the common case under load, one goroutine and its wake-ups a message
// fewer); any other, or one the link cannot take now (window full, rate
// limit, throttled), goes in a worker goroutine that waits its turn (send).
func (d *Dispatcher) start(ctx context.Context, e accounts.Entry, g *entryGroup, m *accounts.Message, sem chan struct{}, inflight *sync.WaitGroup, results chan<- submitted) {
	release := func() { <-sem; inflight.Done() }
	worker := func(f func()) {
		go func() {
			defer release()
			defer d.recoverWorker(ctx, e)
			f()
		}()
	}
	var link Link
	var al asyncLink
	if len(m.PartIDs) == 0 && !d.expired(m) {
		link = d.o.Routes.Pick(m.To)
		al, _ = link.(asyncLink)
	}
	if al == nil { // parts sent before, expired, no link up, or one that waits
		worker(func() { d.send(ctx, e, g, m, results) })
		return
	}
	start := time.Now()
	coding, payload := smpp.Encode(m.Text)
	parts := smpp.Split(coding, payload)
	if len(parts) == 1 {
		req := &smpp.SubmitRequest{Source: m.Source, Dest: m.To, Coding: coding, Payload: parts[0],
			RegisteredDelivery: d.o.RegisteredDelivery}
		if al.SubmitAsync(ctx, req, func(id string, err error) {
			if err == nil { // on the link's reader: hand on, nothing more
				r := d.sentRecord(e, g, m, link.Name(), []string{id}, start)
				select {
				case results <- r:
					release()
				default:
					// The collector is behind (Redis slow or refusing the
					// records): wait for it on a goroutine, never on the
					// link's reader, which goes on reading responses,
					// receipts and enquire_links.
					go func() {
						results <- r
						release()
					}()
				}
				return
			}
			// A retry, park or failure writes to the store: not on the
			// link's goroutine.
			worker(func() {
				ids := make([]string, 1)
				if d.partSent(ctx, e, g, m, link.Name(), ids, 0, "", err) {
					d.sent(e, g, m, link.Name(), ids, start, results)
				}
			})
		}) {
			return
		}
	}
	worker(func() { d.sendParts(ctx, e, g, m, link, coding, parts, start, results) })
}

// recoverWorker keeps a panic in one message's worker from taking the
// process down; the entry is left pending.
func (d *Dispatcher) recoverWorker(ctx context.Context, e accounts.Entry) {
	v := recover()
	if v == nil {
		return
	}
	if d.o.OnPanic != nil {
		d.o.OnPanic("dispatch", v)
		return
	}
	d.log.ErrorContext(ctx, "panic in dispatch worker", "panic", fmt.Sprint(v), "message", e.MessageID)
}

// send submits the parts of m not yet accepted and reports the outcome.
//
// A submit's outcome is never guessed: a part whose response was lost on a
// live session is not sent again (its id is unknown, "?"); a part whose
// session ended unanswered is sent again once a link binds (the duplicate
// risk is counted); parts the SMSC accepted are kept across attempts, so a
// retry resubmits only the others, with the same concatenation reference.
// Waiting for a link (none up, link down, outcome unknown) parks the message
// without using an attempt; it expires by age (ExpireAfter). A message with
// an accepted part is never refunded.
func (d *Dispatcher) send(ctx context.Context, e accounts.Entry, g *entryGroup, m *accounts.Message, results chan<- submitted) {
	start := time.Now()
	if d.expired(m) {
		d.fail(ctx, e, g, m, noLink, fmt.Sprintf("expired: not sent within %s of being accepted", d.o.ExpireAfter),
			!accepted(m.PartIDs), false)
		return
	}
	link := d.o.Routes.Pick(m.To)
	if link == nil {
		d.park(ctx, e, g, m, noLink, "waiting for a carrier link: none is up for the destination", nil)
		return
	}
	coding, payload := smpp.Encode(m.Text)
	d.sendParts(ctx, e, g, m, link, coding, smpp.Split(coding, payload), start, results)
}

// expired reports whether m has waited past ExpireAfter.
func (d *Dispatcher) expired(m *accounts.Message) bool {
	return d.o.ExpireAfter > 0 && time.Since(m.CreatedAt) > d.o.ExpireAfter
}

// sendParts submits the parts of m (encoded as coding) not yet accepted
// over link, one after the other (send).
func (d *Dispatcher) sendParts(ctx context.Context, e accounts.Entry, g *entryGroup, m *accounts.Message, link Link, coding byte, parts [][]byte, start time.Time, results chan<- submitted) {
	ref := concatRef(m)
	ids := make([]string, len(parts))
	if len(m.PartIDs) == len(parts) {
		copy(ids, m.PartIDs)
	}
	for i, p := range parts {
		if ids[i] != "" {
			continue
		}
		req := &smpp.SubmitRequest{Source: m.Source, Dest: m.To, Coding: coding, Payload: p,
			RegisteredDelivery: d.o.RegisteredDelivery}
		if len(parts) > 1 {
			req.UDH = smpp.ConcatUDH(ref, len(parts), i+1)
		}
		id, err := link.Submit(ctx, req)
		if !d.partSent(ctx, e, g, m, link.Name(), ids, i, id, err) {
			return
		}
	}
	d.sent(e, g, m, link.Name(), ids, start, results)
}

// partSent takes the outcome of part i's submit (id or err) into ids. It
// returns false when that ended the message's attempt: failed, parked,
// retried, or (ctx ended: draining) left pending for another consumer.
func (d *Dispatcher) partSent(ctx context.Context, e accounts.Entry, g *entryGroup, m *accounts.Message, link string, ids []string, i int, id string, err error) bool {
	se, _ := errors.AsType[*smpp.StatusError](err) // errors.As would allocate se on every submit
	switch {
	case err == nil:
		ids[i] = id
	case errors.Is(err, smpp.ErrNoResponse):
		// Lost on a live session: the SMSC may well have it. Sending it
		// again there would risk a duplicate; it counts as sent.
		ids[i] = partLost
		if d.o.Metrics != nil {
			d.o.Metrics.lostResponse.WithLabelValues(link).Inc()
		}
		d.log.WarnContext(ctx, "submit response lost: the part is not sent again", "message", m.ID, "part", i+1, "link", link)
	case se != nil && !se.Temporary():
		d.fail(ctx, e, g, m, link, err.Error(), !accepted(ids), true)
		return false
	case ctx.Err() != nil:
		return false // draining: the entry stays pending for another consumer
	case errors.Is(err, smpp.ErrOutcomeUnknown):
		// The session ended unanswered: the part goes again once a link
		// binds, at the risk of a duplicate.
		if d.o.Metrics != nil {
			d.o.Metrics.duplicateRisk.WithLabelValues(link).Inc()
		}
		d.park(ctx, e, g, m, link, err.Error(), ids)
		return false
	case errors.Is(err, smpp.ErrLinkDown):
		d.park(ctx, e, g, m, link, err.Error(), ids)
		return false
	default: // a temporary status (throttled, queue full): an attempt
		d.retry(ctx, e, g, m, err.Error(), link, ids)
		return false
	}
	return true
}

// sent hands on m, every part of which the SMSC took (ids: their SMSC ids,
// partLost for a lost response), to be recorded.
func (d *Dispatcher) sent(e accounts.Entry, g *entryGroup, m *accounts.Message, link string, ids []string, start time.Time, results chan<- submitted) {
	results <- d.sentRecord(e, g, m, link, ids, start)
}

// sentRecord counts m as sent and returns its record for the collector.
func (d *Dispatcher) sentRecord(e accounts.Entry, g *entryGroup, m *accounts.Message, link string, ids []string, start time.Time) submitted {
	canon := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != partLost {
			canon = append(canon, smpp.CanonicalID(id))
		}
	}
	d.count(link, "ok")
	if d.o.Metrics != nil {
		d.o.Metrics.dispatchLatency.Observe(time.Since(m.CreatedAt).Seconds())
		d.o.Metrics.sendDuration.Observe(time.Since(start).Seconds())
	}
	return submitted{Submitted: accounts.Submitted{Entry: e, Link: link, Source: m.Source, To: m.To,
		SMSCIDs: canon, AccountID: m.AccountID, CreatedAt: m.CreatedAt}, group: g}
}

// partLost marks a part whose submit_sm_resp was lost: sent, id unknown.
const partLost = "?"

// accepted reports whether any part was accepted (or sent and its response
// lost): such a message is never refunded.
func accepted(ids []string) bool {
	for _, id := range ids {
		if id != "" {
			return true
		}
	}
	return false
}

// resumeState is what Retry and Park record of the parts: nil when none was
// accepted.
func resumeState(ids []string) []string {
	if !accepted(ids) {
		return nil
	}
	return ids
}

// concatRef is the concatenation reference of m's parts (3GPP TS 23.040
// §9.2.3.24.1): spread over messages like a random one, and the same on
// every attempt, since a retry resubmits only the parts not accepted: the
// phone joins them with those an earlier attempt delivered.
func concatRef(m *accounts.Message) uint8 {
	h := fnv.New32a()
	h.Write([]byte(m.ID))
	return uint8(h.Sum32())
}

// storeCtx bounds a store call that must happen even while draining.
func storeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
}

// linkWait is how often a dispatcher with no link up looks again.
const linkWait = 50 * time.Millisecond

// noLink is the link name retry and fail are given when no link serving
// the destination was up: nothing was submitted, so the outcome is counted
// in no_route_total rather than under a link.
const noLink = ""

// count records a send outcome (ok, temporary, permanent) on link, or as a
// missing route when link is noLink.
func (d *Dispatcher) count(link, result string) {
	switch m := d.o.Metrics; {
	case m == nil:
	case link == noLink:
		m.noRoute.WithLabelValues(result).Inc()
	default:
		m.submitsBy.Get(link, result).Inc()
	}
}

// park keeps m waiting for a carrier link (no link up, link down, or the
// outcome of a submit unknown after its session ended), recording the parts
// accepted so far; it uses no attempt. A link binding releases it.
func (d *Dispatcher) park(ctx context.Context, e accounts.Entry, g *entryGroup, m *accounts.Message, link, reason string, ids []string) {
	d.count(link, "temporary")
	sctx, cancel := storeCtx(ctx)
	defer cancel()
	if err := d.settled(ctx, g, func() error { return d.o.Store.Park(sctx, e, reason, resumeState(ids)) }); err != nil {
		d.log.ErrorContext(ctx, "park message", "err", err, "message", m.ID)
		return
	}
	if d.o.Metrics != nil {
		d.o.Metrics.parked.Inc()
	}
	d.log.DebugContext(ctx, "message waits for a link", "message", m.ID, "reason", reason)
}

// retry schedules m's next attempt after a temporary failure on link (or
// noLink), or fails it once MaxAttempts are used up.
func (d *Dispatcher) retry(ctx context.Context, e accounts.Entry, g *entryGroup, m *accounts.Message, reason, link string, ids []string) {
	d.count(link, "temporary")
	if m.Attempts+1 >= d.o.Retry.MaxAttempts {
		d.fail(ctx, e, g, m, link, "gave up after "+fmt.Sprint(m.Attempts+1)+" attempts: "+reason, !accepted(ids), true)
		return
	}
	sctx, cancel := storeCtx(ctx)
	defer cancel()
	wait := d.o.Retry.Delay(m.Attempts + 1)
	err := d.settled(ctx, g, func() error {
		_, err := d.o.Store.Retry(sctx, e, time.Now().Add(wait), reason, resumeState(ids))
		return err
	})
	if err != nil {
		d.log.ErrorContext(ctx, "schedule retry", "err", err, "message", m.ID)
		return
	}
	d.log.DebugContext(ctx, "message retry scheduled", "message", m.ID, "attempt", m.Attempts+1, "retry_in", wait, "reason", reason)
}

// fail ends m as failed after a permanent error on link (or noLink),
// refunding it when RefundOnFailure is set and refundable (no part of it was
// accepted); attempt counts the failed submit in its attempts.
func (d *Dispatcher) fail(ctx context.Context, e accounts.Entry, g *entryGroup, m *accounts.Message, link, reason string, refundable, attempt bool) {
	d.count(link, "permanent")
	sctx, cancel := storeCtx(ctx)
	defer cancel()
	var failed *accounts.Message
	err := d.settled(ctx, g, func() (err error) {
		failed, err = d.o.Store.Fail(sctx, e, reason, d.o.RefundOnFailure && refundable, attempt)
		return err
	})
	if err != nil {
		d.log.ErrorContext(ctx, "fail message", "err", err, "message", m.ID)
		return
	}
	if failed != nil {
		for _, h := range d.o.StatusHooks {
			h.OnStatus(sctx, failed)
		}
	}
	if d.o.Events != nil && failed != nil {
		if err := d.o.Events.MessageStatus(sctx, failed); err != nil {
			d.log.ErrorContext(ctx, "message status event", "err", err, "message", m.ID)
		}
	}
	d.log.WarnContext(ctx, "message failed", "message", m.ID, "account", m.AccountID, "reason", reason)
}

// collect records submitted messages in batches: one pipeline per batch.
func (d *Dispatcher) collect(ctx context.Context, results <-chan submitted) {
	const max = 256
	ready := make([]submitted, 0, max)
	batch := make([]accounts.Submitted, 0, max)
	var groups []*entryGroup // the batch's grouped entries, each once
	counts := map[*entryGroup]int{}
	flush := func() {
		if len(ready) == 0 {
			return
		}
		// The members of grouped entries settle with this write: the one
		// that settles the last of an entry acknowledges it too.
		batch, groups = batch[:0], groups[:0]
		for _, r := range ready {
			if r.group != nil {
				if counts[r.group] == 0 {
					groups = append(groups, r.group)
				}
				counts[r.group]++
			}
			batch = append(batch, r.Submitted)
		}
		for _, g := range groups {
			g.begin(counts[g])
		}
		for i, r := range ready {
			if r.group != nil && r.group.takeAck(counts[r.group]) {
				batch[i].AckEntry = true
			}
		}
		// Recording is idempotent (an entry recorded once is skipped), so a
		// refused write (OOM, a failover, a lost connection) is tried again
		// with backoff rather than left to a consumer that would claim the
		// entries and send them a second time. Only a dispatcher draining
		// past its deadline gives up: the entries stay pending and are sent
		// again (at least once).
		var err error
		for wait := d.o.ErrorBackoff; ; wait = min(wait*2, 10*d.o.ErrorBackoff) {
			sctx, cancel := storeCtx(ctx)
			err = d.o.Store.MarkSubmitted(sctx, batch)
			cancel()
			if err == nil {
				break
			}
			d.log.ErrorContext(ctx, "record submitted; retrying", "err", err, "count", len(batch), "in", wait)
			if d.o.Metrics != nil {
				d.o.Metrics.recordRetries.Inc()
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
				continue
			case <-ctx.Done():
			}
			t.Stop()
			break
		}
		for _, g := range groups {
			// Settled by another write meanwhile: acknowledged apart.
			if g.end(counts[g], err == nil) {
				d.ackEntry(ctx, g.entry)
			}
			delete(counts, g)
		}
		if err == nil && d.o.Submitted != nil {
			d.o.Submitted(batch)
		}
		ready = ready[:0]
	}
	for r := range results {
		// Take whatever else is ready (workers woken by one read of submit
		// responses report one by one), then write it all at once.
		ready = drainReady(results, append(ready, r), max)
		flush()
	}
	flush()
}

// submitted is a successful submit on its way to be recorded, with the
// grouped entry its message belongs to (nil: an entry of its own).
type submitted struct {
	accounts.Submitted
	group *entryGroup
}

// housekeep moves due retries back to the queue and samples queue gauges.
func (d *Dispatcher) housekeep(ctx context.Context) {
	promote := time.NewTicker(250 * time.Millisecond)
	defer promote.Stop()
	stats := time.NewTicker(2 * time.Second)
	defer stats.Stop()
	var errLog onceLogger
	// Zero at start: the first tick with a link up releases every message
	// parked before (by this process or one that ended).
	linksUp := 0
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-promote.C:
			if _, err := d.o.Store.PromoteDue(ctx, now, 1000); err != nil && ctx.Err() == nil {
				errLog.log(ctx, d.log, "promote retries", err)
			}
			// A link that bound releases every parked message at once; the
			// others come back ParkRecheck after they were parked.
			up := d.o.Routes.UpCount()
			before := now.Add(-d.o.ParkRecheck)
			if up > linksUp {
				before = now
			}
			n, err := d.o.Store.ReleaseParked(ctx, before, 10000)
			if err != nil {
				if ctx.Err() == nil {
					errLog.log(ctx, d.log, "release parked messages", err)
				}
				continue // a bind not yet acted on is seen again next tick
			}
			if up > linksUp && n > 0 {
				d.log.InfoContext(ctx, "a link bound: messages waiting for it released", "count", n)
			}
			linksUp = up
		case <-stats.C:
			pending, retrying, oldest, err := d.o.Store.QueueStats(ctx)
			if err != nil {
				continue
			}
			if m := d.o.Metrics; m != nil {
				m.queuePending.Set(float64(pending))
				m.queueRetrying.Set(float64(retrying))
				m.queueOldest.Set(oldest.Seconds())
			}
		}
	}
}

// onceLogger logs an error that repeats identically only once.
type onceLogger struct{ last string }

// log logs err with msg and attrs unless it is the error logged last.
func (o *onceLogger) log(ctx context.Context, l *slog.Logger, msg string, err error, attrs ...any) {
	if s := err.Error(); s != o.last {
		o.last = s
		l.ErrorContext(ctx, msg, append([]any{"err", err}, attrs...)...)
	}
}

func (o *onceLogger) reset() { o.last = "" }

// readCount is how many stream entries a read asks for so that it brings
// about batch messages, perEntry being the last read's messages a stream
// entry.
func readCount(batch int, perEntry float64) int {
	return max(1, int(float64(batch)/perEntry))
}

// streamEntries counts the stream entries of a read's entries (the members
// of a grouped one are delivered one after another).
func streamEntries(entries []accounts.Entry) int {
	n := 0
	for i, e := range entries {
		if i == 0 || !e.SameStreamEntry(entries[i-1]) {
			n++
		}
	}
	return n
}
