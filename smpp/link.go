// Package smpp is smsgate's side of carrier links: an SMPP 3.4 client
// (Link) that binds as a transceiver, keeps the bind alive and reconnects,
// submits one SMS part at a time within a window and a rate, and hands
// delivery receipts and replies (deliver_sm) to a callback; plus the text
// encoding, segmentation and receipt formats that go with it.
//
// Contract of a Link: Submit returns the SMSC message id, a *StatusError for
// A non-zero command_status, ErrLinkDown (temporary, also wrapped by
// ErrTimeout) when the link is not bound or the connection dropped before the
// response, or the context's error. A deliver_sm is answered only after
// OnDeliver has returned: ESME_ROK, or ESME_RX_T_APPN (temporary) when it
// failed, so the SMSC delivers it again.
//
// PDUs are encoded and decoded with fiorix/go-smpp's pdu packages, but the
// session loop is ours: fiorix's client matches responses by sequence number
// alone, so a deliver_sm that carries the sequence number of an outstanding
// submit_sm would be taken for its response. Here responses are matched by
// (command id, sequence number), sequence numbers are per link, and requests
// from the SMSC are always handled as requests.
package smpp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
)

// ErrLinkDown is returned by Submit when the link is not bound or the
// connection dropped before the response arrived. It is temporary: the part
// may be submitted again, on this link or another.
var ErrLinkDown = errors.New("smpp link down")

// ErrTimeout is returned for a request other than submit_sm (enquire_link,
// unbind) when no response arrived within LinkOptions.ResponseTimeout. It
// matches ErrLinkDown.
var ErrTimeout = fmt.Errorf("%w: response timeout", ErrLinkDown)

// ErrOutcomeUnknown is returned by Submit when the submit_sm was sent and
// no response says what became of it: the SMSC may have accepted the part.
// A submit_sm unanswered after ResponseTimeout is not given up while its
// session lives (a late response is still matched and returned); the
// outcome is unknown when the session then ends (the link found it silent
// for TimeoutsBeforeRebind x ResponseTimeout, or it dropped):
// the part may be submitted again on the new session, at the risk of a
// duplicate. It does not match ErrLinkDown.
var ErrOutcomeUnknown = errors.New("submit outcome unknown: the SMSC may have accepted it")

// ErrNoResponse is returned by Submit when one submit_sm stayed unanswered
// for OutcomeWait while its session kept answering others: its response
// was lost. It matches ErrOutcomeUnknown; submitting it again on the same
// live session would risk a duplicate, so callers should not.
var ErrNoResponse = fmt.Errorf("%w: no response on a live session", ErrOutcomeUnknown)

// errUnresponsive ends a session whose SMSC answered nothing for
// TimeoutsBeforeRebind x ResponseTimeout while submits waited.
var errUnresponsive = errors.New("smsc unresponsive: nothing answered while submits waited; rebinding")

// LinkOptions configures a Link. Zero values take the documented defaults.
type LinkOptions struct {
	Name, Addr, SystemID, Password, SystemType string

	Window          int           // outstanding submit_sm without response; default 10
	Rate            float64       // submit_sm per second; 0 = unlimited (token bucket, burst = Window)
	EnquireLink     time.Duration // default 30s
	ResponseTimeout time.Duration // default 10s
	// TimeoutsBeforeRebind: when submits wait past ResponseTimeout and
	// nothing at all has come from the SMSC for this many ResponseTimeouts,
	// the session is closed (the link rebinds); default 3. An SMSC slower
	// than ResponseTimeout but faster than that keeps its session.
	TimeoutsBeforeRebind int
	// OutcomeWait bounds how long one submit waits for a late response on
	// a session that answers others; default 6 x ResponseTimeout.
	OutcomeWait time.Duration

	ReconnectMin, ReconnectMax time.Duration // default 500ms, 30s (exponential backoff with jitter)

	// OnDeliver is called for each deliver_sm; its resp is sent after this
	// returns: ESME_ROK, or 0x00000064 (ESME_RX_T_APPN, temporary) if it
	// returned an error, so the SMSC redelivers. It is called from the reader
	// path and may be called concurrently.
	OnDeliver func(ctx context.Context, d *Deliver) error
	// OnDeliverAsync, when set, takes every deliver_sm instead of
	// OnDeliver, without a goroutine of its own: it is called on the
	// session's reader, in the order the PDUs came, and must not block; it
	// answers by calling done, once, from any goroutine, with what
	// OnDeliver would have returned. At most 256 of a session's calls
	// await their done at a time; the reader waits beyond that. The
	// session does not wait for done when it ends: a resp after that is
	// dropped, and the SMSC delivers the PDU again.
	OnDeliverAsync func(ctx context.Context, d *Deliver, done func(error))
	// OnSubmitResponse, when set, is told of each submit_sm_resp with
	// status ESME_ROK and the message id the SMSC gave, from the session's
	// reader before it reads on: a receipt that follows on the same session
	// reaches OnDeliver after this has returned. It must not block.
	OnSubmitResponse func(link, messageID string)
	// Pair binds the link as a transmitter (submits) and a separate
	// receiver (receipts, replies), as some carriers require, instead of
	// one transceiver. The link is up while its transmitter is.
	Pair bool
	// Country (ISO 3166-1 alpha-2) is where the carrier's national numbers
	// belong: a TON 2 address, or one with a trunk 0, is read in it.
	Country string

	// Logger receives the link's log lines as is: the caller adds the
	// component and link attributes, as cmd/smsgate does with
	// logger.With("component", "smpp", "link", name), so that each key
	// appears once in a line. Nil discards.
	Logger  *slog.Logger
	Metrics *LinkMetrics // may be nil
}

// SubmitRequest is one SMS part to submit.
type SubmitRequest struct {
	Source, Dest string // Source alphanumeric -> TON 5/NPI 0; digits -> TON 1/NPI 1. Dest TON 1/NPI 1.
	Coding       uint8
	UDH          []byte // non-nil: esm_class 0x40 and short_message = UDH + Payload
	Payload      []byte

	RegisteredDelivery bool // registered_delivery 0x01
}

// Deliver is one deliver_sm from the SMSC: a delivery receipt or a reply (MO).
type Deliver struct {
	Link, Source, Dest string
	// SourceTON and DestTON are the addresses' type of number (SMPP 3.4
	// §5.2.5: 0 unknown, 1 international, 2 national, 5 alphanumeric).
	SourceTON, DestTON uint8
	// Country is the link's country (LinkOptions.Country): national
	// numbers are read in it.
	Country  string
	Coding   uint8
	ESMClass uint8
	UDH      []byte
	Text     string   // decoded body (for a receipt, the raw receipt text)
	Receipt  *Receipt // non-nil when esm_class has the receipt bit (0x04) set
	// Body is the raw payload after the UDH, as the carrier sent it (GSM
	// septets unpacked, UCS-2 octets): a concatenated reply is decoded only
	// once its parts are joined, so an escape or a surrogate pair split
	// across parts decodes right.
	Body []byte
	// Concat is set when this deliver_sm is one part of a concatenated
	// message (UDH IEI 0x00 or 0x08, or the SAR TLVs) of more than one part.
	Concat *Concat
}

// Concat identifies one part of a concatenated message.
type Concat struct {
	Ref        uint16
	Total, Seq int
}

// Link is one SMPP transceiver bind to a carrier. Create it with NewLink,
// drive it with Run, and call Submit from any number of goroutines.
type Link struct {
	opts LinkOptions
	log  *slog.Logger
	m    linkMetrics

	window  chan struct{} // one token per outstanding submit_sm
	limiter *bucket       // nil: no rate limit
	pace    pacer         // slows the link after ESME_RTHROTTLED (pacer.go)
	running atomic.Bool

	mu       sync.Mutex
	sess     *session      // the bound session that submits (transceiver or transmitter), nil when down
	rx       *session      // Pair: the bound receiver, nil when down
	since    time.Time     // when the link last went up or down
	lastErr  string        // why it last went down, or its last bind failed
	attempts int           // bind attempts so far
	changed  chan struct{} // closed and replaced on every state change (tests await it)
}

// NewLink returns a link with defaults applied. It does not connect; Run does.
func NewLink(opts LinkOptions) *Link {
	if opts.Window <= 0 {
		opts.Window = 10
	}
	if opts.EnquireLink <= 0 {
		opts.EnquireLink = 30 * time.Second
	}
	if opts.ResponseTimeout <= 0 {
		opts.ResponseTimeout = 10 * time.Second
	}
	if opts.TimeoutsBeforeRebind <= 0 {
		opts.TimeoutsBeforeRebind = 3
	}
	if opts.OutcomeWait < opts.ResponseTimeout {
		opts.OutcomeWait = 6 * opts.ResponseTimeout
	}
	if opts.ReconnectMin <= 0 {
		opts.ReconnectMin = 500 * time.Millisecond
	}
	if opts.ReconnectMax <= 0 {
		opts.ReconnectMax = 30 * time.Second
	}
	if opts.ReconnectMax < opts.ReconnectMin {
		opts.ReconnectMax = opts.ReconnectMin
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &Link{
		opts:    opts,
		log:     logger,
		m:       opts.Metrics.forLink(opts.Name),
		window:  make(chan struct{}, opts.Window),
		changed: make(chan struct{}),
	}
	if opts.Rate > 0 {
		l.limiter = newBucket(opts.Rate, opts.Window)
	}
	return l
}

// Name returns the link's configured name.
func (l *Link) Name() string { return l.opts.Name }

// Up reports whether the link is bound now.
func (l *Link) Up() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sess != nil
}

// setSession records the bound session (nil: down) and wakes waiters.
func (l *Link) setSession(s *session) {
	l.mu.Lock()
	if (l.sess == nil) != (s == nil) {
		l.since = time.Now()
	}
	if s == nil && l.sess != nil && l.sess.err != nil {
		l.lastErr = l.sess.err.Error()
	}
	l.sess = s
	l.m.setUp(s != nil) // before waking waiters: they may read the gauge
	l.broadcast()
	l.mu.Unlock()
}

// LinkStatus is a link's state for health checks.
type LinkStatus struct {
	Name string `json:"name"`
	Up   bool   `json:"up"`
	// Pair: bound as a transmitter and a receiver; ReceiverUp says whether
	// receipts and replies can come (for a transceiver, as Up).
	Pair       bool `json:"pair,omitempty"`
	ReceiverUp bool `json:"receiver_up"`
	// Since is when it last went up or down (zero: never bound yet).
	Since        time.Time `json:"since,omitzero"`
	BindAttempts int       `json:"bind_attempts"`
	// InFlight is how many submit_sm await their response; Window the most.
	InFlight int `json:"in_flight"`
	Window   int `json:"window"`
	// ThrottleGap is the gap between submits the SMSC's throttling imposed
	// (0: none); it shrinks while the SMSC accepts.
	ThrottleGap time.Duration `json:"throttle_gap_ns"`
	LastError   string        `json:"last_error,omitempty"`
}

// Status reports the link's state.
func (l *Link) Status() LinkStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	return LinkStatus{Name: l.opts.Name, Up: l.sess != nil, Pair: l.opts.Pair, ReceiverUp: l.rx != nil || (!l.opts.Pair && l.sess != nil),
		Since: l.since, BindAttempts: l.attempts,
		InFlight: len(l.window), Window: cap(l.window), LastError: l.lastErr, ThrottleGap: l.pace.current()}
}

// attempted counts a bind attempt (err: why it failed) and wakes waiters.
func (l *Link) attempted(err error) {
	l.mu.Lock()
	l.attempts++
	if err != nil {
		l.lastErr = err.Error()
	}
	l.broadcast()
	l.mu.Unlock()
}

// broadcast wakes everyone in waitFor; l.mu must be held.
func (l *Link) broadcast() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// WaitUp waits until Up() == up or ctx ends; readiness checks and tests
// use it instead of polling Up.
func (l *Link) WaitUp(ctx context.Context, up bool) error {
	return l.waitFor(ctx, func() bool { return (l.sess != nil) == up })
}

// waitFor waits until cond (called with l.mu held) is true or ctx ends.
func (l *Link) waitFor(ctx context.Context, cond func() bool) error {
	for {
		l.mu.Lock()
		ok, ch := cond(), l.changed
		l.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (l *Link) current() *session {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sess
}

// Run dials, binds (as a transceiver, or as a transmitter and a receiver
// with Pair), serves, and reconnects with backoff until
// ctx ends; then it sends unbind (bounded wait) and closes. Outstanding
// submits get ErrLinkDown when the connection drops. It returns nil after
// ctx ends, or an error at once if the link is already running.
func (l *Link) Run(ctx context.Context) error {
	if !l.running.CompareAndSwap(false, true) {
		return fmt.Errorf("link %s: already running", l.opts.Name)
	}
	defer l.running.Store(false)
	l.m.setUp(false)
	if !l.opts.Pair {
		l.bindLoop(ctx, pdu.BindTransceiverID, l.setSession)
		return nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.bindLoop(ctx, pdu.BindReceiverID, l.setReceiver)
	}()
	l.bindLoop(ctx, pdu.BindTransmitterID, l.setSession)
	<-done
	return nil
}

// setReceiver records the bound receiver of a pair (nil: down).
func (l *Link) setReceiver(s *session) {
	l.mu.Lock()
	l.rx = s
	l.broadcast()
	l.mu.Unlock()
}

// bindLoop dials, binds as kind, serves, and reconnects with backoff until
// ctx ends, reporting each bound session (and nil when it ends) to set.
func (l *Link) bindLoop(ctx context.Context, kind pdu.ID, set func(*session)) {
	delay := l.opts.ReconnectMin
	for ctx.Err() == nil {
		s, err := l.connect(ctx, kind)
		l.attempted(err)
		if err == nil {
			delay = l.opts.ReconnectMin
		}
		// Full jitter over the upper half: spreads reconnects of many
		// instances without ever retrying immediately.
		wait := delay/2 + rand.N(delay/2+1)
		if err == nil {
			l.log.Info("link bound", "addr", l.opts.Addr, "bind", kind.String())
			set(s)
			start := time.Now()
			err = s.serve(ctx)
			set(nil)
			if ctx.Err() != nil {
				l.log.Info("link closed", "bound_for", time.Since(start), "bind", kind.String())
				return
			}
			l.log.Warn("link down", "err", err, "bound_for", time.Since(start), "retry_in", wait)
		} else if ctx.Err() == nil {
			l.log.Warn("link bind", "addr", l.opts.Addr, "err", err, "retry_in", wait)
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		delay = min(delay*2, l.opts.ReconnectMax)
	}
}

// Submit sends one submit_sm (one SMS part) and waits for its response or
// ctx. It returns the SMSC message id (also from a response that came after
// ResponseTimeout), *StatusError for a non-zero command_status, ErrLinkDown
// (nothing was sent) when not bound, ErrOutcomeUnknown when it was sent and
// the session ended unanswered, ErrNoResponse when its response was lost on
// a live session, and context errors as is. It blocks while the window is
// full or the rate limit applies (respecting ctx).
func (l *Link) Submit(ctx context.Context, r *SubmitRequest) (smscID string, err error) {
	if l.current() == nil {
		l.m.submitted(resultDown, 0)
		return "", ErrLinkDown
	}
	select {
	case l.window <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	release := func() { <-l.window }
	if l.limiter != nil {
		if err := l.limiter.wait(ctx); err != nil {
			release()
			return "", err
		}
	}
	if err := l.pace.wait(ctx); err != nil {
		release()
		return "", err
	}
	body, err := encodeSubmit(r)
	if err != nil {
		release()
		l.m.submitted(resultPermanent, 0)
		return "", err
	}
	s := l.current()
	if s == nil {
		release()
		l.m.submitted(resultDown, 0)
		return "", ErrLinkDown
	}
	start := time.Now()
	id, err := s.submit(ctx, body, l.opts.ResponseTimeout, release) // releases the window slot
	l.answered(err, start)
	return id, err
}

// answered counts a sent submit's outcome and slows the link when the SMSC
// said it is overloaded.
func (l *Link) answered(err error, start time.Time) {
	l.m.submitted(classify(err), time.Since(start))
	if isOverload(err) {
		gap := l.pace.throttled()
		l.m.throttleGap(gap)
		l.log.Info("smsc throttling: slowing the link", "gap", gap)
	}
}

// SubmitAsync sends r as Submit does when it can go at once, without a
// goroutine waiting for its response: a session is bound, the window has
// room, and neither the rate limit nor throttling makes it wait. It then
// returns true and later calls done once with what Submit would have
// returned (the SMSC message id or the same errors, a late response
// included), from one of the link's goroutines: done must not block for
// long (the session's reader may be the caller). Otherwise it returns false
// having sent nothing and taken nothing, and done is never called: the
// caller submits with Submit, which waits for its turn. ctx is the
// submit's, as for Submit: when it ends before the response, done gets its
// error at once and the window slot stays taken until the SMSC answers.
func (l *Link) SubmitAsync(ctx context.Context, r *SubmitRequest, done func(smscID string, err error)) bool {
	s := l.current()
	if s == nil || ctx.Err() != nil {
		return false
	}
	select {
	case l.window <- struct{}{}:
	default:
		return false
	}
	release := func() { <-l.window }
	if (l.limiter != nil && !l.limiter.take()) || !l.pace.free() {
		release()
		return false
	}
	body, err := encodeSubmit(r)
	if err != nil {
		release()
		return false // Submit reports the error
	}
	start := time.Now()
	if !s.submitAsync(ctx, body, release, func(id string, err error) {
		l.answered(err, start)
		done(id, err)
	}) {
		release()
		return false
	}
	return true
}

// classify maps a Submit error to a bounded metrics label.
func classify(err error) string {
	switch {
	case err == nil:
		return resultOK
	case errors.Is(err, ErrTimeout), errors.Is(err, ErrOutcomeUnknown), errors.Is(err, context.DeadlineExceeded):
		return resultTimeout
	case errors.Is(err, ErrLinkDown), errors.Is(err, context.Canceled):
		return resultDown
	}
	// errors.AsType, not errors.As: no pointer escapes, so a call costs no
	// allocation (it runs for every submit).
	if se, ok := errors.AsType[*StatusError](err); ok && se.Temporary() {
		return resultTemporary
	}
	return resultPermanent
}

// bucket is a token bucket: rate tokens a second, at most burst saved up.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: time.Now()}
}

// refill adds the tokens due since the last call; b.mu must be held.
func (b *bucket) refill() {
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
}

// take takes one token if one is there now.
func (b *bucket) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// wait takes one token, sleeping until it is due or ctx ends. A token taken
// by a caller whose ctx then ends is not returned; the bucket stays fair.
func (b *bucket) wait(ctx context.Context) error {
	b.mu.Lock()
	b.refill()
	b.tokens--
	deficit := -b.tokens
	b.mu.Unlock()
	if deficit <= 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(deficit / b.rate * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
