package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/smpp"
)

// InboundStore is what receipts and replies need from the store.
type InboundStore interface {
	// ApplyReceipts gives, for each receipt that made its message final,
	// the message's id, account, sender, creation time and new status,
	// error and completion time; LoadMessages reads whole messages.
	ApplyReceipts(ctx context.Context, ups []accounts.ReceiptUpdate) ([]*accounts.Message, []error, error)
	LoadMessages(ctx context.Context, ids []string) ([]*accounts.Message, error)
	RouteReply(ctx context.Context, r accounts.Reply) (*accounts.Reply, *accounts.Message, error)
	GetReply(ctx context.Context, id string) (*accounts.Reply, error)
	GetMessage(ctx context.Context, id string) (*accounts.Message, error)
}

// ReplyMailer mails a routed reply to the sender of the original message.
type ReplyMailer interface {
	MailReply(ctx context.Context, r *accounts.Reply, orig *accounts.Message) error
}

// InboundOptions configures an Inbound.
type InboundOptions struct {
	Store  InboundStore
	Mailer ReplyMailer // nil: replies are not mailed
	Events Events      // nil: no events
	// ReplyHooks run, in order, on every stored reply, before the reply
	// event and mail; StatusHooks on every message reaching a final status.
	ReplyHooks  []ReplyHook
	StatusHooks []StatusHook
	Logger      *slog.Logger
	Metrics     *Metrics
	// OrphanWait is how long a receipt that names no known message is kept
	// and tried again: a receipt can overtake the recording of its submit.
	OrphanWait time.Duration
	// ReassemblyWait is how long the parts of a concatenated reply wait for
	// the others; then the reply is delivered with what came, marked
	// incomplete. Default 2m. The Store must be an MOStore for replies to
	// be reassembled (else each part is a reply of its own).
	ReassemblyWait time.Duration
	// OnPanic is told of a panic recovered while handling a deliver_sm
	// (component "inbound"), which is answered with an error so that the
	// carrier delivers it again. nil: the Inbound logs it.
	OnPanic func(component string, v any)
}

// ReceiptHolder keeps receipts whose message is not found yet in Redis
// (*redisstore.Store): such a receipt is acknowledged to the carrier only
// once held, and any instance applies it when its submit is recorded. Without
// one (a store that is not a ReceiptHolder) they are held in memory only.
type ReceiptHolder interface {
	HoldReceipts(ctx context.Context, ups []accounts.ReceiptUpdate, until time.Time) error
	HeldReceipts(ctx context.Context, cursor uint64, count int) ([]accounts.HeldReceipt, uint64, error)
	ReleaseReceipts(ctx context.Context, ups []accounts.ReceiptUpdate) error
}

// MOStore keeps the parts of concatenated replies (*redisstore.Store).
type MOStore interface {
	AddMOPart(ctx context.Context, p accounts.MOPart, ttl time.Duration) (*accounts.MOAssembly, error)
	TakeIncompleteMO(ctx context.Context, before time.Time, limit int, ttl time.Duration) ([]*accounts.MOAssembly, error)
}

// Inbound handles what carriers send us: delivery receipts and replies.
//
// Receipts are applied in batches: concurrent deliver_sm handlers queue
// their receipt and wait, and Run applies whatever is queued in two Redis
// round trips. A receipt whose message is not indexed yet (the carrier
// answered faster than the dispatcher recorded the submit) is kept as an
// orphan, held in Redis before the carrier is answered (ReceiptHolder), and
// applied when that submit is recorded (Submitted, or by any instance within
// a second), or given up after OrphanWait.
type Inbound struct {
	o          InboundOptions
	log        *slog.Logger
	mo         MOStore       // nil: no reassembly
	held       ReceiptHolder // nil: orphans in memory only
	heldCursor uint64        // where the sweep of held receipts goes on
	queue      chan *queuedReceipt
	wake       chan struct{}

	mu      sync.Mutex
	orphans map[receiptKey]orphan // by link and canonical id
	ready   []orphan              // orphans whose submit has just been recorded
	// A part the SMSC took (SubmitResponded) is in flight until its submit
	// is recorded (Submitted): a receipt for it waits in awaiting for that
	// record (at most awaitRecord), then goes with those in readyQ.
	inflight map[receiptKey]time.Time        // by orphanKey of the canonical SMSC id -> since
	awaiting map[receiptKey][]*queuedReceipt // by the inflight key they matched
	readyQ   []*queuedReceipt                // awaiting receipts whose submit has been recorded
	awaitMax time.Duration                   // awaitRecord (shorter in tests)

	// The messages of the parts whose submit this instance recorded lately,
	// by orphanKey of the canonical SMSC id: a receipt for one of them is
	// applied without reading the SMSC-id index (ReceiptUpdate.Ref). At
	// most knownMax (the oldest go first); an entry goes once its receipt
	// is applied. Receipts for other instances' submits read the index.
	knownMu   sync.Mutex
	known     map[receiptKey]*accounts.MessageRef
	knownRing []receiptKey
	knownNext int
}

// knownMax bounds Inbound.known: about a minute of receipts at a few
// hundred a second, seconds of them at full rate (~2 MB).
const knownMax = 16384

// awaitRecord bounds how long a receipt waits for the record of a submit
// in flight (then it is looked up, and held if not found, as any; checked
// once a second); an in-flight mark not cleared by a record within
// inflightMax is dropped (the submit was retried, or its record given up).
const (
	awaitRecord = 2 * time.Second
	inflightMax = time.Minute
)

type queuedReceipt struct {
	up    accounts.ReceiptUpdate
	done  func(error) // told the outcome, once
	since time.Time   // when it began awaiting a record
}

type orphan struct {
	up    accounts.ReceiptUpdate
	until time.Time
}

func orphanKey(link, id string) receiptKey { return receiptKey{link, id} }

// receiptKey names a part by its link and an SMSC id form: the key of the
// in-flight marks, the receipts awaiting them, the orphans and the known
// messages (a struct, so that a lookup builds no string).
type receiptKey struct{ link, id string }

// NewInbound returns an Inbound; Run must run for receipts to be applied.
func NewInbound(o InboundOptions) *Inbound {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.OrphanWait <= 0 {
		o.OrphanWait = 30 * time.Second
	}
	if o.ReassemblyWait <= 0 {
		o.ReassemblyWait = 2 * time.Minute
	}
	in := &Inbound{o: o, log: o.Logger, queue: make(chan *queuedReceipt, 1024),
		wake: make(chan struct{}, 1), orphans: map[receiptKey]orphan{}, inflight: map[receiptKey]time.Time{},
		awaiting: map[receiptKey][]*queuedReceipt{}, awaitMax: awaitRecord, known: map[receiptKey]*accounts.MessageRef{}}
	in.mo, _ = o.Store.(MOStore)
	in.held, _ = o.Store.(ReceiptHolder)
	return in
}

// HandleDeliver is the links' OnDeliver: a receipt updates its message, a
// reply is routed to the inbox that owns the conversation. An error makes the
// link answer with a temporary error so that the carrier delivers it again.
func (in *Inbound) HandleDeliver(ctx context.Context, d *smpp.Deliver) error {
	if d.Receipt == nil {
		return in.reply(ctx, d)
	}
	ch := make(chan error, 1)
	in.HandleDeliverAsync(ctx, d, func(err error) { ch <- err })
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// HandleDeliverAsync is HandleDeliver for the links' OnDeliverAsync: it
// does not block, and tells done the outcome. A receipt joins the queue of
// the next batch and is answered with it (no goroutine waits for it); a
// reply is routed on a goroutine of its own.
func (in *Inbound) HandleDeliverAsync(ctx context.Context, d *smpp.Deliver, done func(error)) {
	defer in.recoverDeliver(ctx, d, done)
	if d.Receipt == nil {
		go func() {
			defer in.recoverDeliver(ctx, d, done)
			done(in.reply(ctx, d))
		}()
		return
	}
	q := in.receipt(d.Link, *d.Receipt, done)
	if q == nil {
		return
	}
	select {
	case in.queue <- q:
	default: // a full queue: wait for room off the caller's goroutine
		go func() {
			select {
			case in.queue <- q:
			case <-ctx.Done():
				done(ctx.Err())
			}
		}()
	}
}

// recoverDeliver answers a deliver_sm whose handling panicked with an
// error (the carrier delivers it again) and reports the panic, so that it
// is not the end of the process; defer it.
func (in *Inbound) recoverDeliver(ctx context.Context, d *smpp.Deliver, done func(error)) {
	v := recover()
	if v == nil {
		return
	}
	if in.o.OnPanic != nil {
		in.o.OnPanic("inbound", v)
	} else {
		in.log.ErrorContext(ctx, "panic handling a deliver_sm", "panic", fmt.Sprint(v), "link", d.Link)
	}
	done(fmt.Errorf("panic: %v", v))
}

// receipt returns the queued form of a final receipt; an intermediate one
// (ENROUTE, ACCEPTD) is only counted, and answered at once.
func (in *Inbound) receipt(link string, r smpp.Receipt, done func(error)) *queuedReceipt {
	status, final := smpp.StatFinal(r.Stat)
	if !final {
		in.count(r.Stat, "intermediate")
		done(nil)
		return nil
	}
	// The receipt's done date has minute resolution and the carrier's clock;
	// the time we learned of it is what the message log needs.
	up := accounts.ReceiptUpdate{Link: link, Status: status, ErrCode: r.Err, At: time.Now()}
	if v := smpp.IDVariants(r.ID); len(v) > 0 {
		up.CanonicalID = v[0]
		if len(v) > 1 {
			up.Forms = v[1:] // the forms besides the canonical one
		}
	}
	return &queuedReceipt{done: done, up: up}
}

func (in *Inbound) count(status, result string) {
	if in.o.Metrics != nil {
		in.o.Metrics.receiptsBy.Get(status, result).Inc()
	}
}

// SubmitResponded is the links' OnSubmitResponse: the SMSC took a part
// under id. Until its submit is recorded (Submitted), a receipt for it
// waits for the record instead of missing it in Redis (an SMSC may send
// the receipt right after the response, before the dispatcher records it).
func (in *Inbound) SubmitResponded(link, id string) {
	k := orphanKey(link, smpp.CanonicalID(id))
	now := time.Now()
	in.mu.Lock()
	in.inflight[k] = now
	in.mu.Unlock()
}

// Submitted is told of every batch of recorded submits (wire it to
// DispatcherOptions.Submitted): receipts waiting for those SMSC ids are
// applied now.
func (in *Inbound) Submitted(batch []accounts.Submitted) {
	in.remember(batch)
	in.mu.Lock()
	if len(in.orphans) == 0 && len(in.inflight) == 0 && len(in.awaiting) == 0 {
		in.mu.Unlock()
		return
	}
	found := false
	for _, b := range batch {
		for _, id := range b.SMSCIDs {
			// In-flight marks and the receipts awaiting them are under the
			// canonical id (SubmitResponded).
			k := orphanKey(b.Link, smpp.CanonicalID(id))
			delete(in.inflight, k)
			if qs, ok := in.awaiting[k]; ok {
				delete(in.awaiting, k)
				in.readyQ = append(in.readyQ, qs...)
				found = true
			}
			if len(in.orphans) == 0 {
				continue
			}
			// An orphan is under its receipt's id, which may name the part
			// in another form than the submit response did (decimal for
			// hex): every form is tried.
			for _, form := range smpp.IDVariants(id) {
				k := orphanKey(b.Link, form)
				if o, ok := in.orphans[k]; ok {
					delete(in.orphans, k)
					in.ready = append(in.ready, o)
					found = true
				}
			}
		}
	}
	in.mu.Unlock()
	if found {
		select {
		case in.wake <- struct{}{}:
		default:
		}
	}
}

// remember keeps the message of every part of batch (Inbound.known), when
// the record says its account and creation time.
func (in *Inbound) remember(batch []accounts.Submitted) {
	in.knownMu.Lock()
	defer in.knownMu.Unlock()
	for _, b := range batch {
		if b.AccountID == "" || b.CreatedAt.IsZero() {
			continue
		}
		ref := &accounts.MessageRef{MessageID: b.Entry.MessageID, AccountID: b.AccountID, CreatedAt: b.CreatedAt}
		for _, id := range b.SMSCIDs {
			k := orphanKey(b.Link, smpp.CanonicalID(id)) // as Submitted keys the in-flight marks
			if len(in.knownRing) < knownMax {
				in.knownRing = append(in.knownRing, k)
			} else {
				delete(in.known, in.knownRing[in.knownNext])
				in.knownRing[in.knownNext] = k
				in.knownNext = (in.knownNext + 1) % knownMax
			}
			in.known[k] = ref
		}
	}
}

// deferInflight sets aside, to await their submit's record, the receipts
// of batch whose part is in flight (under any form of the receipt's id:
// decimal for hex), and returns the others.
func (in *Inbound) deferInflight(batch []*queuedReceipt, now time.Time) []*queuedReceipt {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.inflight) == 0 {
		return batch
	}
	rest := batch[:0]
	for _, q := range batch {
		if k, ok := in.inflightKey(q.up); ok {
			q.since = now
			in.awaiting[k] = append(in.awaiting[k], q)
			continue
		}
		rest = append(rest, q)
	}
	return rest
}

// inflightKey returns the in-flight mark a receipt's part has, if any.
// in.mu must be held.
func (in *Inbound) inflightKey(u accounts.ReceiptUpdate) (receiptKey, bool) {
	k := orphanKey(u.Link, u.CanonicalID)
	if _, ok := in.inflight[k]; ok {
		return k, true
	}
	for _, form := range u.Forms {
		k := orphanKey(u.Link, form)
		if _, ok := in.inflight[k]; ok {
			return k, true
		}
	}
	return receiptKey{}, false
}

// applyQueued applies queued receipts and answers each.
func (in *Inbound) applyQueued(ctx context.Context, batch []*queuedReceipt) {
	if len(batch) == 0 {
		return
	}
	ups := make([]accounts.ReceiptUpdate, len(batch))
	in.knownMu.Lock()
	for i, q := range batch {
		ups[i] = q.up
		if ups[i].Ref == nil {
			ups[i].Ref = in.known[orphanKey(q.up.Link, q.up.CanonicalID)]
		}
	}
	in.knownMu.Unlock()
	errs := in.apply(ctx, ups, time.Now().Add(in.o.OrphanWait))
	in.knownMu.Lock()
	for i, u := range ups {
		if u.Ref != nil && errs[i] == nil {
			delete(in.known, orphanKey(u.Link, u.CanonicalID))
		}
	}
	in.knownMu.Unlock()
	for i, q := range batch {
		q.done(errs[i])
	}
}

// expireInflight drops the in-flight marks older than inflightMax and
// returns the receipts that awaited a record longer than awaitRecord.
func (in *Inbound) expireInflight(now time.Time) []*queuedReceipt {
	in.mu.Lock()
	defer in.mu.Unlock()
	for k, since := range in.inflight {
		if now.Sub(since) > inflightMax {
			delete(in.inflight, k)
		}
	}
	var late []*queuedReceipt
	for k, qs := range in.awaiting {
		keep := qs[:0]
		for _, q := range qs {
			if now.Sub(q.since) > in.awaitMax {
				late = append(late, q)
			} else {
				keep = append(keep, q)
			}
		}
		if len(keep) == 0 {
			delete(in.awaiting, k)
		} else {
			in.awaiting[k] = keep
		}
	}
	return late
}

// batch returns the receipts to apply now, in one batch: those given and
// those queued meanwhile (up to 512), less the ones whose part is in
// flight (deferInflight), and the awaiting ones whose submit has been
// recorded.
func (in *Inbound) batch(b []*queuedReceipt) []*queuedReceipt {
	// The link's reader queues a read's receipts one by one.
	b = drainReady(in.queue, b, 512)
	b = in.deferInflight(b, time.Now())
	in.mu.Lock()
	b = append(b, in.readyQ...)
	in.readyQ = nil
	in.mu.Unlock()
	return b
}

// Run applies queued receipts in batches and retries orphans until ctx ends.
func (in *Inbound) Run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	sweep := time.NewTicker(max(in.o.ReassemblyWait/4, 100*time.Millisecond))
	defer sweep.Stop()
	// The batches' slice, kept from one to the next: applyQueued keeps no
	// reference to it.
	buf := make([]*queuedReceipt, 0, 64)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-sweep.C:
			in.sweepIncomplete(ctx, now)
		case q := <-in.queue:
			buf = in.batch(append(buf[:0], q))
			in.applyQueued(ctx, buf)
			clear(buf)
		case <-in.wake:
			in.mu.Lock()
			ready := in.ready
			in.ready = nil
			in.mu.Unlock()
			buf = in.batch(buf[:0])
			in.applyQueued(ctx, buf)
			clear(buf)
			in.retry(ctx, ready)
		case now := <-tick.C:
			// The receipts that awaited their record too long are looked up
			// after the orphans' retry: one not found becomes an orphan for
			// the next tick, not looked up twice in this one.
			late := in.expireInflight(now)
			if in.held != nil {
				in.sweepHeld(ctx, now)
				in.applyQueued(ctx, late)
				continue
			}
			// Orphans whose submit another instance recorded are not
			// announced here: try them all once a second, until they expire.
			in.mu.Lock()
			var all []orphan
			for k, o := range in.orphans {
				if now.After(o.until) {
					delete(in.orphans, k)
					in.count(o.up.Status, "unmatched")
					in.log.WarnContext(ctx, "receipt for unknown message", "link", o.up.Link, "smsc_id", o.up.CanonicalID, "waited", now.Sub(o.up.At))
					continue
				}
				all = append(all, o)
				delete(in.orphans, k)
			}
			in.mu.Unlock()
			in.retry(ctx, all)
			in.applyQueued(ctx, late)
		}
	}
}

func (in *Inbound) retry(ctx context.Context, pending []orphan) {
	for len(pending) > 0 {
		n := min(len(pending), 512)
		ups := make([]accounts.ReceiptUpdate, n)
		for i, o := range pending[:n] {
			ups[i] = o.up
		}
		// An orphan keeps its first deadline.
		in.applyOrphans(ctx, ups, pending[:n])
		pending = pending[n:]
	}
}

func (in *Inbound) applyOrphans(ctx context.Context, ups []accounts.ReceiptUpdate, pending []orphan) {
	msgs, errs, err := in.o.Store.ApplyReceipts(ctx, ups)
	var matched []accounts.ReceiptUpdate
	in.mu.Lock()
	for i, o := range pending {
		if err == nil && errs[i] == nil {
			in.count(o.up.Status, "matched")
			matched = append(matched, o.up)
			// Matched by the sweep of held receipts: its submit's
			// announcement (Submitted) must not apply and count it again,
			// whether it is still to come or already queued in ready.
			k := orphanKey(o.up.Link, o.up.CanonicalID)
			delete(in.orphans, k)
			in.ready = slices.DeleteFunc(in.ready, func(r orphan) bool { return orphanKey(r.up.Link, r.up.CanonicalID) == k })
			continue
		}
		in.orphans[orphanKey(o.up.Link, o.up.CanonicalID)] = o
		if msgs != nil {
			msgs[i] = nil
		}
	}
	in.mu.Unlock()
	in.release(ctx, matched)
	if err == nil {
		in.statusEvents(ctx, msgs)
	}
}

// release forgets held receipts that were applied or given up (a failure
// leaves them held: applying one again is harmless, and the sweep gives
// them up at their deadline).
func (in *Inbound) release(ctx context.Context, ups []accounts.ReceiptUpdate) {
	if in.held == nil || len(ups) == 0 {
		return
	}
	if err := in.held.ReleaseReceipts(ctx, ups); err != nil {
		in.log.WarnContext(ctx, "release held receipts", "err", err, "count", len(ups))
	}
}

// sweepHeld tries the receipts held in Redis, those of this instance and
// of any other (one that ended, or whose submits another records), a few
// pages a tick; those past their deadline are given up.
func (in *Inbound) sweepHeld(ctx context.Context, now time.Time) {
	// Orphans of this instance past their deadline leave the memory too
	// (the sweep below counts them).
	in.mu.Lock()
	for k, o := range in.orphans {
		if now.After(o.until) {
			delete(in.orphans, k)
		}
	}
	in.mu.Unlock()
	for page := 0; page < 8; page++ {
		held, next, err := in.held.HeldReceipts(ctx, in.heldCursor, 512)
		if err != nil {
			in.log.WarnContext(ctx, "read held receipts", "err", err)
			return
		}
		in.heldCursor = next
		var expired []accounts.ReceiptUpdate
		var pending []orphan
		for _, h := range held {
			if now.After(h.Until) {
				expired = append(expired, h.Update)
				in.count(h.Update.Status, "unmatched")
				in.log.WarnContext(ctx, "receipt for unknown message", "link", h.Update.Link, "smsc_id", h.Update.CanonicalID, "waited", now.Sub(h.Update.At))
				continue
			}
			pending = append(pending, orphan{up: h.Update, until: h.Until})
		}
		in.release(ctx, expired)
		if len(pending) > 0 {
			ups := make([]accounts.ReceiptUpdate, len(pending))
			for i, o := range pending {
				ups[i] = o.up
			}
			in.applyOrphans(ctx, ups, pending)
		}
		if next == 0 {
			return
		}
	}
}

// staffMessage follows an auto-reply back, through the reply it answered,
// to the message that started the conversation (at most a few hops); any
// Other message is returned as it is.
func (in *Inbound) staffMessage(ctx context.Context, m *accounts.Message) *accounts.Message {
	for range 3 {
		rid, ok := answeredReply(m)
		if !ok {
			return m
		}
		r, err := in.o.Store.GetReply(ctx, rid)
		if err != nil || r.MessageID == "" {
			return m
		}
		prev, err := in.o.Store.GetMessage(ctx, r.MessageID)
		if err != nil {
			return m
		}
		m = prev
	}
	return m
}

// statusEvents tells the StatusHooks and Events of the messages that have
// reached a final status with these receipts (a part's receipt of a longer
// message may not). A receipt's result names the message, not all of it:
// the messages that concern a hook or Events are read whole first, in one
// round trip; the others are not read at all.
func (in *Inbound) statusEvents(ctx context.Context, msgs []*accounts.Message) {
	var ids []string
	var idx []int
	for i, m := range msgs {
		if m == nil || !m.Status.Final() || !in.wantsStatus(ctx, m) {
			continue
		}
		ids = append(ids, m.ID)
		idx = append(idx, i)
	}
	if len(ids) == 0 {
		return
	}
	full, err := in.o.Store.LoadMessages(ctx, ids)
	if err != nil {
		// The events go out with what the receipt told (the id, account,
		// sender and status) rather than not at all.
		in.log.ErrorContext(ctx, "read messages for status events", "err", err, "count", len(ids))
	}
	for j, i := range idx {
		m := msgs[i]
		if err == nil && full[j] != nil {
			m = full[j]
		}
		for _, h := range in.o.StatusHooks {
			h.OnStatus(ctx, m)
		}
		if in.o.Events == nil {
			continue
		}
		if err := in.o.Events.MessageStatus(ctx, m); err != nil {
			in.log.ErrorContext(ctx, "message status event", "err", err, "message", m.ID)
		}
	}
}

// wantsStatus reports whether any StatusHook or the Events may act on the
// final status of m.
func (in *Inbound) wantsStatus(ctx context.Context, m *accounts.Message) bool {
	for _, h := range in.o.StatusHooks {
		if WantsStatus(ctx, h, m) {
			return true
		}
	}
	return in.o.Events != nil && WantsStatus(ctx, in.o.Events, m)
}

// apply applies a batch and returns the error to give each receipt's
// carrier: nil when applied or kept as an orphan, an error (so the carrier
// delivers it again) when Redis failed.
func (in *Inbound) apply(ctx context.Context, ups []accounts.ReceiptUpdate, until time.Time) []error {
	out := make([]error, len(ups))
	msgs, errs, err := in.o.Store.ApplyReceipts(ctx, ups)
	if err != nil {
		in.log.ErrorContext(ctx, "apply receipts", "err", err, "count", len(ups))
		for i := range out {
			out[i] = err
		}
		return out
	}
	var hold []int
	for i, u := range ups {
		switch {
		case errs[i] == nil:
			in.count(u.Status, "matched")
		case errors.Is(errs[i], accounts.ErrNotFound):
			hold = append(hold, i)
		default:
			out[i] = errs[i]
		}
	}
	if len(hold) > 0 {
		held := make([]accounts.ReceiptUpdate, len(hold))
		for j, i := range hold {
			held[j] = ups[i]
		}
		// Held in Redis before the carrier hears back: a refused write
		// makes the carrier deliver the receipt again.
		if in.held != nil {
			if err := in.held.HoldReceipts(ctx, held, until); err != nil {
				in.log.ErrorContext(ctx, "hold receipts", "err", err, "count", len(held))
				for _, i := range hold {
					out[i] = err
				}
				hold = nil
			}
		}
		in.mu.Lock()
		for _, i := range hold {
			in.orphans[orphanKey(ups[i].Link, ups[i].CanonicalID)] = orphan{up: ups[i], until: until}
		}
		in.mu.Unlock()
	}
	in.statusEvents(ctx, msgs)
	return out
}

// reply routes a reply; a part of a concatenated one is kept until the
// reply is whole (or the wait ends), and only then routed, once.
func (in *Inbound) reply(ctx context.Context, d *smpp.Deliver) error {
	// Addresses as the gateway records them (address.go), before any lookup.
	from, to := NormalizeAddr(d.Source, d.SourceTON, d.Country), NormalizeAddr(d.Dest, d.DestTON, d.Country)
	if from != d.Source || to != d.Dest {
		in.log.DebugContext(ctx, "reply addresses normalised", "from_ton", d.SourceTON, "to_ton", d.DestTON)
		cp := *d
		cp.Source, cp.Dest = from, to
		d = &cp
	}
	if d.Concat != nil && in.mo != nil {
		a, err := in.mo.AddMOPart(ctx, accounts.MOPart{From: d.Source, To: d.Dest, Ref: d.Concat.Ref,
			Total: d.Concat.Total, Seq: d.Concat.Seq, Coding: d.Coding, Body: d.Body}, in.partTTL())
		if err != nil {
			return err // not acknowledged: the carrier sends the part again
		}
		if a == nil {
			return nil // stored; the reply waits for its other parts
		}
		text, _ := assemble(a)
		return in.route(ctx, accounts.Reply{From: a.From, To: a.To, Text: text, Link: d.Link, ReceivedAt: time.Now()})
	}
	return in.route(ctx, accounts.Reply{From: d.Source, To: d.Dest, Text: d.Text, Link: d.Link, ReceivedAt: time.Now()})
}

// partTTL is how long stored parts live: past the wait, so the sweep finds
// them.
func (in *Inbound) partTTL() time.Duration { return 3 * in.o.ReassemblyWait }

// assemble decodes a concatenated reply from its raw parts joined in order
// (an escape or surrogate pair split across parts decodes right); a gap of
// missing parts reads " […] ". incomplete reports a gap.
func assemble(a *accounts.MOAssembly) (text string, incomplete bool) {
	var b strings.Builder
	var run []byte
	flush := func() {
		if len(run) == 0 {
			return
		}
		t, err := smpp.Decode(a.Coding, run)
		if err != nil {
			t = strings.ToValidUTF8(string(run), "\uFFFD")
		}
		b.WriteString(t)
		run = nil
	}
	gap := false
	for i := 1; i <= a.Total; i++ {
		p, ok := a.Parts[i]
		if !ok {
			if !gap {
				flush()
				b.WriteString(" […] ")
				gap, incomplete = true, true
			}
			continue
		}
		gap = false
		run = append(run, p...)
	}
	flush()
	return strings.TrimSpace(b.String()), incomplete
}

// sweepIncomplete delivers the concatenated replies whose parts stopped
// coming ReassemblyWait ago, with what came, marked incomplete.
func (in *Inbound) sweepIncomplete(ctx context.Context, now time.Time) {
	if in.mo == nil {
		return
	}
	as, err := in.mo.TakeIncompleteMO(ctx, now.Add(-in.o.ReassemblyWait), 100, in.partTTL())
	if err != nil {
		in.log.ErrorContext(ctx, "incomplete replies", "err", err)
	}
	for _, a := range as {
		text, incomplete := assemble(a)
		in.log.WarnContext(ctx, "reply incomplete: delivered with the parts that came", "from", accounts.MaskNumber(a.From),
			"to", accounts.MaskNumber(a.To), "parts", len(a.Parts), "total", a.Total)
		if err := in.route(ctx, accounts.Reply{From: a.From, To: a.To, Text: text, Incomplete: incomplete, ReceivedAt: now}); err != nil {
			in.log.ErrorContext(ctx, "route incomplete reply", "err", err)
		}
	}
}

// route stores a reply in the inbox of the conversation it answers, then
// runs the hooks, the event and the mail.
func (in *Inbound) route(ctx context.Context, reply accounts.Reply) error {
	r, orig, err := in.o.Store.RouteReply(ctx, reply)
	if err != nil {
		return err
	}
	result := "routed"
	if r.AccountID == "" { // a dedicated number routes without a conversation
		result = "unrouted"
		// Which pair missed, masked like every number in the logs: the
		// operator compares it with the conversations sent.
		in.log.WarnContext(ctx, "reply matched no conversation", "reply", r.ID, "link", reply.Link,
			"from", accounts.MaskNumber(reply.From), "to", accounts.MaskNumber(reply.To))
	}
	if in.o.Metrics != nil {
		in.o.Metrics.replies.WithLabelValues(result).Inc()
	}
	in.log.InfoContext(ctx, "reply received", "reply", r.ID, "account", r.AccountID, "message", r.MessageID, "result", result)
	// Hooks in order (the Stop rule, inbox rules, automation); one may
	// claim the reply and end the chain, e.g. a STOP is not auto-answered.
	for _, h := range in.o.ReplyHooks {
		if h.OnReply(ctx, r, orig) {
			return nil
		}
	}
	if in.o.Events != nil && r.AccountID != "" {
		if err := in.o.Events.Reply(ctx, r, orig); err != nil {
			in.log.ErrorContext(ctx, "reply event", "err", err, "reply", r.ID)
		}
	}
	// After an auto-reply the conversation leads to the automatic message;
	// the person who wants the reply is the one whose message started it.
	orig = in.staffMessage(ctx, orig)
	// Messages sent through the API have no mailbox behind them ("api:<key>").
	if orig != nil && in.o.Mailer != nil && strings.Contains(orig.Sender, "@") {
		// Mailing is best effort after the reply is stored: the inbox has it
		// either way. The mailer retries on its own.
		if err := in.o.Mailer.MailReply(ctx, r, orig); err != nil {
			in.log.ErrorContext(ctx, "queue reply mail", "err", err, "reply", r.ID)
		}
	}
	return nil
}
