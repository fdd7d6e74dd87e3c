package smpp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"

	"github.com/smsgate/smsgate/smpp/frame"
)

// errUnbound ends a session the SMSC unbound.
var errUnbound = errors.New("unbound by smsc")

// maxDeliverHandlers bounds concurrent OnDeliver calls per session (a
// goroutine each), maxDeliverPending the OnDeliverAsync calls awaiting their
// done; the reader waits (and so applies backpressure to the SMSC) beyond
// them.
const (
	maxDeliverHandlers = 32
	maxDeliverPending  = 256
)

// pending is an outstanding request of ours, awaiting its response.
type pending struct {
	resp  pdu.ID      // the response command id that answers it
	ch    chan []byte // receives the response frame; buffered, 1
	async *asyncWait  // instead of ch: a submit_sm of SubmitAsync, answered by callback
}

// session is one connected and bound transceiver: one reader goroutine, one
// writer goroutine, one keepalive goroutine, and the OnDeliver handlers.
type session struct {
	l    *Link
	kind pdu.ID // the bind: transceiver, transmitter or receiver
	conn net.Conn
	out  chan []byte // frames to write; nil: flush, then close (after unbind_resp)

	seq atomic.Uint32

	mu      sync.Mutex
	pending map[uint32]pending // by our sequence number; unique per session
	ended   bool               // close answered the asynchronous submits: no more are taken

	done      chan struct{}
	closeOnce sync.Once
	err       error // why the session ended; set before done is closed

	ctx    context.Context // for OnDeliver; ends with the session
	cancel context.CancelFunc
	// lastResp is when the SMSC last answered anything (unix ns; the bind
	// counts): a session silent for TimeoutsBeforeRebind x ResponseTimeout
	// while submits wait is unresponsive.
	lastResp atomic.Int64
	dsem     chan struct{}
	wg       sync.WaitGroup
}

// nextSeq returns the next sequence number, 1..0x7FFFFFFF (SMPP 3.4 §5.1.4).
func (s *session) nextSeq() uint32 {
	return (s.seq.Add(1)-1)%0x7FFFFFFF + 1
}

// connect dials and binds. On success the session is bound but not yet served.
func (l *Link) connect(ctx context.Context, kind pdu.ID) (*session, error) {
	d := net.Dialer{Timeout: l.opts.ResponseTimeout}
	conn, err := d.DialContext(ctx, "tcp", l.opts.Addr)
	if err != nil {
		l.m.bound(resultDown)
		return nil, fmt.Errorf("dial %s: %w", l.opts.Addr, err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	s := &session{
		l: l, kind: kind, conn: conn, out: make(chan []byte, 2*l.opts.Window+16),
		pending: make(map[uint32]pending), done: make(chan struct{}),
		ctx: sctx, cancel: cancel, dsem: make(chan struct{}, deliverSlots(l.opts)),
	}
	if err := s.bind(ctx); err != nil {
		s.close(err)
		return nil, err
	}
	s.lastResp.Store(time.Now().UnixNano())
	return s, nil
}

// bind sends the session's bind (transceiver, transmitter or receiver) and
// reads until its response, within ResponseTimeout or until ctx ends.
func (s *session) bind(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { _ = s.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	_ = s.conn.SetDeadline(time.Now().Add(s.l.opts.ResponseTimeout))
	o := s.l.opts
	p, err := encodeBind(s.kind, o.SystemID, o.Password, o.SystemType)
	if err != nil {
		return err
	}
	seq := s.nextSeq()
	b, err := frame.Serialize(p, seq)
	if err != nil {
		return err
	}
	if _, err := s.conn.Write(b); err != nil {
		s.l.m.bound(resultDown)
		return fmt.Errorf("send bind: %w", err)
	}
	for {
		f, err := frame.Read(s.conn)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				s.l.m.bound(resultTimeout)
				return fmt.Errorf("bind: no response: %w", err)
			}
			s.l.m.bound(resultDown)
			return fmt.Errorf("bind: %w", err)
		}
		id, status, rseq := frame.Header(f)
		if rseq != seq || (id != s.kind|0x80000000 && id != pdu.GenericNACKID) {
			continue // nothing else is valid before the bind completes (§2.3)
		}
		if status != statusOK || id == pdu.GenericNACKID {
			// For the message these statuses are temporary (another link
			// may do); for the bind, wrong credentials are permanent until
			// someone fixes the configuration.
			switch status {
			case 0x0D, 0x0E, 0x0F: // ESME_RBINDFAIL, ESME_RINVPASWD, ESME_RINVSYSID
				s.l.m.bound(resultPermanent)
			default:
				s.l.m.bound(resultTemporary)
			}
			return fmt.Errorf("bind rejected: %w", &StatusError{Status: status})
		}
		s.l.m.bound(resultOK)
		return s.conn.SetDeadline(time.Time{})
	}
}

// close ends the session once: it records why, wakes everyone waiting on
// done, closes the connection and cancels OnDeliver calls.
func (s *session) close(err error) {
	s.closeOnce.Do(func() {
		s.err = err
		close(s.done)
		_ = s.conn.Close()
		s.cancel()
		s.abandonAsync()
	})
}

// abandonAsync answers the asynchronous submits still awaiting a response
// when the session ends: sent, unanswered, their outcome unknown (what a
// waiting Submit learns from done).
func (s *session) abandonAsync() {
	s.mu.Lock()
	s.ended = true
	var left []*asyncWait
	for seq, p := range s.pending {
		if p.async != nil {
			delete(s.pending, seq)
			left = append(left, p.async)
		}
	}
	s.mu.Unlock()
	if len(left) == 0 {
		return
	}
	err := fmt.Errorf("%w (session ended: %v)", ErrOutcomeUnknown, s.err)
	go func() { // not on the goroutine that closes (it may be the reader)
		for _, a := range left {
			a.stop()
			a.release()
			a.done("", err)
		}
	}()
}

// serve runs the bound session until it ends or ctx ends; on ctx it unbinds
// first, waiting at most ResponseTimeout (capped at 5s) for unbind_resp.
func (s *session) serve(ctx context.Context) error {
	s.wg.Add(3)
	go s.reader()
	go s.writer()
	go s.keepalive()
	select {
	case <-s.done:
	case <-ctx.Done():
		wait := min(s.l.opts.ResponseTimeout, 5*time.Second)
		uctx, cancel := context.WithTimeout(context.Background(), wait)
		_, err := s.roundTrip(uctx, frame.Empty(pdu.UnbindID, 0, 0), pdu.UnbindRespID)
		cancel()
		if err != nil {
			s.l.log.Debug("unbind", "err", err)
		}
		s.close(ctx.Err())
	}
	s.wg.Wait()
	return s.err
}

// roundTrip sends a header-only request b (its sequence number is set here)
// and waits for the response frame.
func (s *session) roundTrip(ctx context.Context, b []byte, resp pdu.ID) ([]byte, error) {
	seq := s.nextSeq()
	b[12], b[13], b[14], b[15] = byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq)
	return s.await(ctx, seq, b, resp, s.l.opts.ResponseTimeout, nil)
}

// await registers seq, writes b and waits for the response, the end of the
// session, ctx, or timeout. release (may be nil) frees the request's window
// slot; it is called once the request is no longer outstanding at the SMSC:
// when ctx ends after b was queued, that is only when the response comes,
// the session ends or the timeout passes, so the window holds even for
// callers that give up early.
func (s *session) await(ctx context.Context, seq uint32, b []byte, resp pdu.ID, timeout time.Duration, release func()) ([]byte, error) {
	ch := make(chan []byte, 1)
	s.mu.Lock()
	s.pending[seq] = pending{resp: resp, ch: ch}
	s.mu.Unlock()
	forget := func() {
		s.mu.Lock()
		delete(s.pending, seq)
		s.mu.Unlock()
		if release != nil {
			release()
		}
	}
	if err := s.send(ctx, b); err != nil {
		forget()
		return nil, err
	}
	t := time.NewTimer(timeout)
	select {
	case f := <-ch:
		t.Stop()
		forget()
		return f, nil
	case <-s.done:
		t.Stop()
		forget()
		select { // the response may have raced the close
		case f := <-ch:
			return f, nil
		default:
		}
		if release != nil { // a submit_sm, sent: the SMSC may have it
			return nil, fmt.Errorf("%w (session ended: %v)", ErrOutcomeUnknown, s.err)
		}
		return nil, ErrLinkDown
	case <-t.C:
		if release == nil {
			forget()
			return nil, ErrTimeout
		}
		return s.awaitLate(ctx, ch, forget)
	case <-ctx.Done():
		if release == nil {
			t.Stop()
			forget()
			return nil, ctx.Err()
		}
		go s.holdSlot(ch, t, forget)
		return nil, ctx.Err()
	}
}

// holdSlot keeps a submit's window slot, for a caller that gave up on it,
// until the request is answered, its session ends or t fires; then it
// forgets the request (freeing the slot). So the SMSC never sees more than
// the window outstanding, even from callers that leave early.
func (s *session) holdSlot(ch chan []byte, t *time.Timer, forget func()) {
	select {
	case <-ch:
	case <-s.done:
	case <-t.C:
	}
	t.Stop()
	forget()
}

// awaitLate waits on for the response of a submit_sm past ResponseTimeout:
// it is not given up while the session lives, and a late response is
// returned like any. A session from which nothing at all has come for
// TimeoutsBeforeRebind x ResponseTimeout while submits wait is
// unresponsive: it is closed (the link rebinds) and every submit still
// waiting learns that its outcome is unknown. A submit unanswered for
// OutcomeWait on a session that keeps answering others has lost its
// response (ErrNoResponse).
func (s *session) awaitLate(ctx context.Context, ch chan []byte, forget func()) ([]byte, error) {
	l := s.l
	l.m.late("timeout")
	silence := time.Duration(l.opts.TimeoutsBeforeRebind) * l.opts.ResponseTimeout
	lost := time.NewTimer(l.opts.OutcomeWait - l.opts.ResponseTimeout)
	defer lost.Stop()
	for {
		quiet := time.Since(time.Unix(0, s.lastResp.Load()))
		if quiet >= silence {
			l.log.Warn("smsc unresponsive: closing the session to rebind", "silent_for", quiet.Round(time.Millisecond), "response_timeout", l.opts.ResponseTimeout)
			s.close(errUnresponsive)
		}
		check := time.NewTimer(max(silence-quiet, time.Millisecond))
		select {
		case f := <-ch:
			check.Stop()
			forget()
			l.m.late("answered")
			return f, nil
		case <-s.done:
			check.Stop()
			forget()
			select {
			case f := <-ch:
				return f, nil
			default:
			}
			return nil, fmt.Errorf("%w (no response within %s, then the session ended: %v)", ErrOutcomeUnknown, l.opts.ResponseTimeout, s.err)
		case <-lost.C:
			check.Stop()
			forget()
			return nil, fmt.Errorf("%w (no response within %s)", ErrNoResponse, l.opts.OutcomeWait)
		case <-check.C:
		case <-ctx.Done():
			check.Stop()
			go s.holdSlot(ch, time.NewTimer(l.opts.OutcomeWait), forget)
			return nil, ctx.Err()
		}
	}
}

// send queues one frame for the writer.
func (s *session) send(ctx context.Context, b []byte) error {
	select {
	case s.out <- b:
		return nil
	case <-s.done:
		return ErrLinkDown
	case <-ctx.Done():
		return ctx.Err()
	}
}

// submit sends p as a submit_sm and returns the message id from its
// response. It calls release when the submit_sm is no longer outstanding.
func (s *session) submit(ctx context.Context, p *frame.SubmitSM, timeout time.Duration, release func()) (string, error) {
	seq := s.nextSeq()
	b := frame.AppendSubmitSM(nil, p, seq)
	f, err := s.await(ctx, seq, b, pdu.SubmitSMRespID, timeout, release)
	if err != nil {
		return "", err
	}
	return submitResult(f)
}

// asyncWait is a submit_sm of SubmitAsync awaiting its response. Whichever
// of the reader (the response), the timer (ResponseTimeout passed), ctx's
// end and the session's end takes its pending entry (under session.mu)
// answers it; the timer and ctx hand it over to a goroutine that waits on
// as Submit's caller would.
type asyncWait struct {
	s       *session
	seq     uint32
	ctx     context.Context
	release func() // frees the window slot
	done    func(string, error)
	timer   *time.Timer
	stopCtx func() bool // nil when ctx cannot end
}

// submitAsync sends p as a submit_sm whose response done receives (see
// asyncWait). It returns false, with nothing sent and nothing to answer,
// when the session has ended.
func (s *session) submitAsync(ctx context.Context, p *frame.SubmitSM, release func(), done func(string, error)) bool {
	seq := s.nextSeq()
	b := frame.AppendSubmitSM(nil, p, seq)
	a := &asyncWait{s: s, seq: seq, ctx: ctx, release: release, done: done}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return false
	}
	s.pending[seq] = pending{resp: pdu.SubmitSMRespID, async: a}
	// Set while the entry cannot be taken yet: every taker stops them.
	a.timer = time.AfterFunc(s.l.opts.ResponseTimeout, a.timedOut)
	if ctx.Done() != nil {
		a.stopCtx = context.AfterFunc(ctx, a.cancelled)
	}
	s.mu.Unlock()
	select {
	case s.out <- b:
	case <-s.done:
		// Not written. Unless the session's end answered it already
		// (outcome unknown, as for a Submit in the same place), it was
		// never sent: the caller may take another way.
		if a.take() {
			a.stop()
			return false
		}
	}
	return true
}

// take removes a's pending entry, reporting whether it was still a's to
// answer.
func (a *asyncWait) take() bool {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	if p, ok := a.s.pending[a.seq]; ok && p.async == a {
		delete(a.s.pending, a.seq)
		return true
	}
	return false
}

// handOver replaces a's pending entry by one whose response goes to the
// channel it returns, for a goroutine to wait on; false when a was taken.
func (a *asyncWait) handOver() (chan []byte, bool) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	p, ok := a.s.pending[a.seq]
	if !ok || p.async != a {
		return nil, false
	}
	ch := make(chan []byte, 1)
	a.s.pending[a.seq] = pending{resp: p.resp, ch: ch}
	return ch, true
}

// forget drops a handed-over entry and frees the window slot.
func (a *asyncWait) forget() {
	a.s.mu.Lock()
	delete(a.s.pending, a.seq)
	a.s.mu.Unlock()
	a.release()
}

// stop stops the timer and the ctx hook.
func (a *asyncWait) stop() {
	a.timer.Stop()
	if a.stopCtx != nil {
		a.stopCtx()
	}
}

// answer completes a with its response frame (the reader took the entry).
func (a *asyncWait) answer(f []byte) {
	a.stop()
	a.release()
	a.done(submitResult(f))
}

// timedOut: no response within ResponseTimeout. The submit is awaited on,
// on this goroutine, exactly as a Submit past its timeout is (awaitLate).
func (a *asyncWait) timedOut() {
	ch, ok := a.handOver()
	if !ok {
		return
	}
	if a.stopCtx != nil {
		a.stopCtx()
	}
	f, err := a.s.awaitLate(a.ctx, ch, a.forget)
	if err != nil {
		a.done("", err)
		return
	}
	a.done(submitResult(f))
}

// cancelled: ctx ended before the response. done learns it now; the window
// slot stays taken until the SMSC answers, the session ends or
// ResponseTimeout passes, as for a Submit whose ctx ends.
func (a *asyncWait) cancelled() {
	ch, ok := a.handOver()
	if !ok {
		return
	}
	a.timer.Stop()
	a.done("", a.ctx.Err())
	a.s.holdSlot(ch, time.NewTimer(a.s.l.opts.ResponseTimeout), a.forget)
}

// submitResult is the message id of a submit_sm_resp frame f, or its
// error status.
func submitResult(f []byte) (string, error) {
	id, status, _ := frame.Header(f)
	if id == pdu.GenericNACKID && status == statusOK {
		status = statusSysErr
	}
	if status != statusOK {
		return "", &StatusError{Status: status}
	}
	return respMessageID(f), nil
}

// respMessageID is the message_id of a submit_sm_resp frame ("" for none).
func respMessageID(f []byte) string {
	msgID, _, _ := bytes.Cut(f[pdu.HeaderLen:], []byte{0})
	return string(msgID)
}

// resolve hands a response frame to the request it answers: same sequence
// number and the matching response command id (generic_nack answers any).
func (s *session) resolve(id pdu.ID, seq uint32, f []byte) {
	s.mu.Lock()
	p, ok := s.pending[seq]
	if ok && (p.resp == id || id == pdu.GenericNACKID) {
		delete(s.pending, seq)
	} else {
		ok = false
	}
	s.mu.Unlock()
	if !ok {
		s.l.log.Debug("unmatched response", "command", id.String(), "seq", seq)
		return
	}
	s.lastResp.Store(time.Now().UnixNano()) // the SMSC answers
	if p.async != nil {
		p.async.answer(f)
		return
	}
	p.ch <- f
}

// reader reads frames until the connection fails. Responses go to their
// requests; requests from the SMSC are answered, never taken for responses.
func (s *session) reader() {
	defer s.wg.Done()
	r := bufio.NewReaderSize(s.conn, 64*1024)
	for {
		f, err := frame.Read(r)
		if err != nil {
			s.close(fmt.Errorf("read: %w", err))
			return
		}
		id, status, seq := frame.Header(f)
		if id&0x80000000 != 0 {
			if h := s.l.opts.OnSubmitResponse; h != nil && id == pdu.SubmitSMRespID && status == statusOK {
				if msgID := respMessageID(f); msgID != "" {
					h(s.l.opts.Name, msgID)
				}
			}
			s.resolve(id, seq, f)
			continue
		}
		switch id {
		case pdu.DeliverSMID:
			p, err := frame.ParseDeliverSM(f)
			if err != nil {
				s.l.log.Warn("undecodable deliver_sm", "seq", seq, "err", err)
				s.reply(frame.Empty(pdu.GenericNACKID, statusSysErr, seq))
				continue
			}
			select {
			case s.dsem <- struct{}{}:
			case <-s.done:
				return
			}
			if h := s.l.opts.OnDeliverAsync; h != nil {
				s.deliverAsync(h, p, seq)
				continue
			}
			s.wg.Add(1)
			go s.deliver(p, seq)
		case pdu.EnquireLinkID:
			s.reply(frame.Empty(pdu.EnquireLinkRespID, statusOK, seq))
		case pdu.UnbindID:
			s.reply(frame.Empty(pdu.UnbindRespID, statusOK, seq))
			s.reply(nil) // flush, then close
		default: // data_sm, alert_notification, ...: not supported (§2.8)
			s.reply(frame.Empty(pdu.GenericNACKID, statusInvCmdID, seq))
		}
	}
}

// reply queues a response, unless the session has ended.
func (s *session) reply(b []byte) {
	select {
	case s.out <- b:
	case <-s.done:
	}
}

// deliver runs OnDeliver for one deliver_sm and then sends its resp.
func (s *session) deliver(p *frame.DeliverSM, seq uint32) {
	defer s.wg.Done()
	defer func() { <-s.dsem }()
	d, kind := s.received(p)
	var err error
	if h := s.l.opts.OnDeliver; h != nil {
		err = h(s.ctx, d)
	}
	s.reply(s.deliverResp(kind, seq, err))
}

// deliverAsync hands one deliver_sm to OnDeliverAsync, on the reader (which
// holds a slot of dsem for it); the resp goes out, and the slot is freed,
// when the handler calls done.
func (s *session) deliverAsync(h func(context.Context, *Deliver, func(error)), p *frame.DeliverSM, seq uint32) {
	d, kind := s.received(p)
	var once atomic.Bool
	h(s.ctx, d, func(err error) {
		if !once.CompareAndSwap(false, true) {
			return
		}
		resp := s.deliverResp(kind, seq, err)
		// done may come from a goroutine that answers many (a batch of
		// receipts): it does not wait for a full writer queue.
		select {
		case s.out <- resp:
		case <-s.done:
		default:
			go s.reply(resp)
		}
		<-s.dsem
	})
}

// received decodes a deliver_sm and counts it by kind (receipt or MO).
func (s *session) received(p *frame.DeliverSM) (*Deliver, string) {
	d := s.l.parseDeliver(p)
	kind := kindMO
	if d.Receipt != nil {
		kind = kindReceipt
	}
	s.l.m.delivered(kind)
	return d, kind
}

// deliverResp is the deliver_sm_resp for the handler's outcome: ESME_ROK,
// or ESME_RX_T_APPN (temporary: the SMSC delivers it again) on an error.
func (s *session) deliverResp(kind string, seq uint32, err error) []byte {
	status := uint32(statusOK)
	if err != nil {
		s.l.log.Warn("deliver handler", "kind", kind, "err", err)
		status = statusRxTAppn
	}
	return frame.MessageIDResp(pdu.DeliverSMRespID, status, seq, "")
}

// deliverSlots is the size of a session's dsem.
func deliverSlots(o LinkOptions) int {
	if o.OnDeliverAsync != nil {
		return maxDeliverPending
	}
	return maxDeliverHandlers
}

// writer writes queued frames through a buffer and flushes when the queue
// is empty, so bursts go out in few syscalls.
func (s *session) writer() {
	defer s.wg.Done()
	w := bufio.NewWriterSize(s.conn, 64*1024)
	timeout := s.l.opts.ResponseTimeout
	for {
		var b []byte
		select {
		case b = <-s.out:
		case <-s.done:
			return
		}
		_ = s.conn.SetWriteDeadline(time.Now().Add(timeout))
		for {
			if b == nil {
				_ = w.Flush()
				s.close(errUnbound)
				return
			}
			if _, err := w.Write(b); err != nil {
				s.close(fmt.Errorf("write: %w", err))
				return
			}
			more := false
			select {
			case b = <-s.out:
				more = true
			default:
				// Before writing, let the goroutines that are ready run
				// once: senders woken with this one (a dispatcher's batch,
				// a batch of receipts answered) add their PDUs to this
				// write instead of each making one of its own.
				runtime.Gosched()
				select {
				case b = <-s.out:
					more = true
				default:
				}
			}
			if !more {
				break
			}
		}
		if err := w.Flush(); err != nil {
			s.close(fmt.Errorf("write: %w", err))
			return
		}
	}
}

// keepalive sends enquire_link every EnquireLink interval (SMPP 3.4 §4.11)
// and ends the session when one goes unanswered.
func (s *session) keepalive() {
	defer s.wg.Done()
	t := time.NewTicker(s.l.opts.EnquireLink)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.done:
			return
		}
		if _, err := s.roundTrip(s.ctx, frame.Empty(pdu.EnquireLinkID, 0, 0), pdu.EnquireLinkRespID); err != nil {
			s.close(fmt.Errorf("enquire_link: %w", err))
			return
		}
	}
}
