package smsctest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"

	"github.com/smsgate/smsgate/smpp"
	"github.com/smsgate/smsgate/smpp/frame"
)

// SMPP 3.4 command_status values (§5.1.3).
const (
	statusOK        = 0x00
	statusInvMsgLen = 0x01
	statusInvCmdID  = 0x03
	statusInvBnd    = 0x04
	statusAlyBnd    = 0x05
	statusSysErr    = 0x08
	statusInvPaswd  = 0x0E
	statusInvSysID  = 0x0F
	statusMsgQFul   = 0x14
	statusThrottled = 0x58
)

// session is one client connection.
type session struct {
	srv  *Server
	conn net.Conn
	id   uint64

	qmu   sync.Mutex
	queue [][]byte      // unbounded: the reader never blocks on writing
	wake  chan struct{} // cap 1: queue has frames

	done      chan struct{}
	closeOnce sync.Once

	bind   atomic.Uint32 // the bind command id, 0 before bind
	sysID  atomic.Pointer[string]
	seq    atomic.Uint32
	flight atomic.Int64 // submit_sm awaiting their resp

	pmu     sync.Mutex
	pending map[uint32]chan uint32 // our deliver_sm awaiting a resp, by seq
}

func newSession(s *Server, conn net.Conn) *session {
	return &session{
		srv: s, conn: conn, id: s.sessionIDs.Add(1), wake: make(chan struct{}, 1),
		done: make(chan struct{}), pending: make(map[uint32]chan uint32),
	}
}

func (c *session) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		_ = c.conn.Close()
	})
}

func (c *session) systemID() string {
	if p := c.sysID.Load(); p != nil {
		return *p
	}
	return ""
}

func (c *session) alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

func (c *session) canReceive() bool {
	b := pdu.ID(c.bind.Load())
	return b == pdu.BindReceiverID || b == pdu.BindTransceiverID
}

func (c *session) canTransmit() bool {
	b := pdu.ID(c.bind.Load())
	return b == pdu.BindTransmitterID || b == pdu.BindTransceiverID
}

func (c *session) nextSeq() uint32 { return (c.seq.Add(1)-1)%0x7FFFFFFF + 1 }

// send queues a frame for the writer.
func (c *session) send(b []byte) {
	c.qmu.Lock()
	c.queue = append(c.queue, b)
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// writer writes everything queued, then flushes, then waits for more.
func (c *session) writer() {
	defer c.srv.wg.Done()
	w := bufio.NewWriterSize(c.conn, 64*1024)
	var batch [][]byte
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		// Let the goroutines that are ready run once first: responses and
		// deliveries made meanwhile (a read's worth of submits answered)
		// go in this write rather than each in one of its own.
		runtime.Gosched()
		c.qmu.Lock()
		batch, c.queue = c.queue, batch[:0]
		c.qmu.Unlock()
		for _, b := range batch {
			if _, err := w.Write(b); err != nil {
				c.close()
				return
			}
		}
		clear(batch)
		if err := w.Flush(); err != nil {
			c.close()
			return
		}
	}
}

// reader handles requests inline and matches responses to our deliver_sm.
func (c *session) reader() {
	defer c.srv.wg.Done()
	defer c.srv.drop(c)
	defer c.close()
	r := bufio.NewReaderSize(c.conn, 64*1024)
	for {
		f, err := frame.Read(r)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.srv.log.Debug("session read", "err", err)
			}
			return
		}
		id, status, seq := frame.Header(f)
		switch id {
		case pdu.BindReceiverID, pdu.BindTransmitterID, pdu.BindTransceiverID:
			c.handleBind(f, id, seq)
		case pdu.SubmitSMID:
			c.handleSubmit(f, seq)
		case pdu.DeliverSMRespID, pdu.GenericNACKID:
			c.pmu.Lock()
			ch, ok := c.pending[seq]
			delete(c.pending, seq)
			c.pmu.Unlock()
			if ok {
				ch <- status
			}
		case pdu.EnquireLinkID:
			c.send(frame.Empty(pdu.EnquireLinkRespID, statusOK, seq))
		case pdu.UnbindID:
			// Counted before the answer, so that a client that got its
			// unbind_resp sees it in Stats.
			c.srv.unbinds.Add(1)
			c.bind.Store(0)
			c.send(frame.Empty(pdu.UnbindRespID, statusOK, seq))
		case pdu.EnquireLinkRespID, pdu.UnbindRespID:
		default:
			if id&0x80000000 == 0 {
				c.send(frame.Empty(pdu.GenericNACKID, statusInvCmdID, seq))
			}
		}
	}
}

func (c *session) handleBind(f []byte, id pdu.ID, seq uint32) {
	resp := id | 0x80000000
	if c.bind.Load() != 0 {
		c.send(frame.MessageIDResp(resp, statusAlyBnd, seq, "smsc-sim"))
		return
	}
	p, err := frame.Decode(f)
	if err != nil {
		c.send(frame.Empty(pdu.GenericNACKID, statusSysErr, seq))
		return
	}
	sys, pw := frame.String(p, pdufield.SystemID), frame.String(p, pdufield.Password)
	o := c.srv.opts
	status := uint32(statusOK)
	switch {
	case o.RequirePair && id == pdu.BindTransceiverID:
		status = 0x0D // ESME_RBINDFAIL
	case o.SystemID != "" && sys != o.SystemID:
		status = statusInvSysID
	case o.Password != "" && pw != o.Password:
		status = statusInvPaswd
	}
	if status != statusOK {
		c.srv.bindsRejected.Add(1)
		c.srv.log.Info("bind rejected", "system_id", sys, "status", status)
		c.send(frame.MessageIDResp(resp, status, seq, "smsc-sim"))
		return
	}
	c.sysID.Store(&sys)
	c.bind.Store(uint32(id))
	c.srv.binds.Add(1)
	c.srv.log.Info("bound", "system_id", sys, "bind", id.String())
	c.send(frame.MessageIDResp(resp, statusOK, seq, "smsc-sim"))
}

func (c *session) handleSubmit(f []byte, seq uint32) {
	if !c.canTransmit() {
		c.send(frame.MessageIDResp(pdu.SubmitSMRespID, statusInvBnd, seq, ""))
		return
	}
	p, err := frame.Decode(f)
	if err != nil {
		c.send(frame.MessageIDResp(pdu.SubmitSMRespID, statusInvMsgLen, seq, ""))
		return
	}
	s := c.srv
	s.submits.Add(1)
	n := c.flight.Add(1)
	for m := s.maxInFlight.Load(); n > m && !s.maxInFlight.CompareAndSwap(m, n); m = s.maxInFlight.Load() {
	}
	part := part{
		systemID: c.systemID(), src: frame.String(p, pdufield.SourceAddr),
		dst: frame.String(p, pdufield.DestinationAddr), coding: frame.Byte(p, pdufield.DataCoding),
		esm: frame.Byte(p, pdufield.ESMClass), sm: frame.ShortMessage(p), at: time.Now(),
	}
	stat, status, noResp, delay := s.matchRule(part.dst)
	if s.opts.CollideSeq && c.canReceive() {
		if b, err := deliverPDU(seq, part.dst, part.src, 0, smpp.CodingGSM7, []byte("collide"), nil); err == nil {
			c.send(b)
		}
	}
	var idn uint64
	if status == statusOK {
		idn = s.newID()
		part.id = formatID(idn, s.opts.IDFormat)
		part.stat = stat
		s.store.add(part)
	} else if status == statusThrottled || status == statusMsgQFul {
		s.throttled.Add(1)
	} else {
		s.failed.Add(1)
	}
	respond := func() {
		c.flight.Add(-1)
		c.send(frame.MessageIDResp(pdu.SubmitSMRespID, status, seq, part.id))
		if status == statusOK && frame.Byte(p, pdufield.RegisteredDelivery)&0x03 != 0 && stat != "NONE" {
			if s.opts.DLRDelay > 0 {
				time.AfterFunc(s.opts.DLRDelay, func() { s.sendReceipt(c, part, idn) })
			} else {
				s.sendReceipt(c, part, idn)
			}
		}
	}
	if delay == 0 {
		delay = s.opts.RespDelay
	}
	switch {
	case noResp:
		c.flight.Add(-1)
		s.lostResps.Add(1)
	case delay > 0:
		time.AfterFunc(delay, respond)
	default:
		respond()
	}
}

// sendReceipt sends the delivery receipt of one part (SMPP 3.4 Appendix B)
// to a receiver of the part's system_id, the submitting session first, and
// sends it again until it is acknowledged (Options.ReceiptAttempts).
func (s *Server) sendReceipt(from *session, pt part, idn uint64) {
	rid := formatID(idn, s.opts.ReceiptIDFormat)
	dlvrd, errc := 0, "001"
	if pt.stat == "DELIVRD" {
		dlvrd, errc = 1, "000"
	}
	_, body, _, _, _, ok := smpp.ParseUDH(pt.sm)
	if pt.esm&0x40 == 0 || !ok {
		body = pt.sm
	}
	txt, _ := smpp.Decode(pt.coding, body)
	if n := 20; utf8.RuneCountInString(txt) > n {
		txt = string([]rune(txt)[:n])
	}
	r := smpp.Receipt{ID: rid, Sub: 1, Dlvrd: dlvrd, Submit: pt.at, Done: time.Now(), Stat: pt.stat, Err: errc, Text: txt}
	text := smpp.FormatReceipt(r)
	if s.opts.ReceiptTLVOnly {
		text = ""
	}
	tlv := pdutlv.Fields{
		pdutlv.TagReceiptedMessageID: pdutlv.CString(rid),
		pdutlv.Tag(0x0427):           []byte{stateOf(pt.stat)},
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1) // under mu: Close's Wait never races an Add
	s.mu.Unlock()
	s.receipts.Add(1)
	go func() {
		defer s.wg.Done()
		s.deliverReceipt(from, pt, text, tlv)
	}()
}

// deliverReceipt sends one receipt until a receiver acknowledges it with
// status 0, at most ReceiptAttempts times, pausing between attempts.
func (s *Server) deliverReceipt(from *session, pt part, text string, tlv pdutlv.Fields) {
	pause := 200 * time.Millisecond
	for attempt := 1; attempt <= s.opts.ReceiptAttempts; attempt++ {
		if attempt > 1 {
			select {
			case <-time.After(pause):
			case <-s.stop:
				return
			}
			pause = min(2*pause, 5*time.Second)
			s.redelivered.Add(1)
		}
		c := s.receiver(pt.systemID, from)
		if c == nil {
			continue
		}
		seq := c.nextSeq()
		b, err := deliverPDU(seq, pt.dst, pt.src, 0x04, smpp.CodingGSM7, []byte(text), tlv)
		if err != nil {
			s.log.Error("encode receipt", "err", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		st, err := c.await(ctx, seq, b)
		cancel()
		if err == nil && st == statusOK {
			return
		}
		s.log.Debug("receipt not acknowledged; sending it again", "status", st, "err", err, "attempt", attempt)
	}
	s.undelivered.Add(1)
}

// stateOf maps a receipt stat to message_state (SMPP 3.4 §5.2.28).
func stateOf(stat string) byte {
	switch stat {
	case "DELIVRD":
		return 2
	case "EXPIRED":
		return 3
	case "UNDELIV":
		return 5
	case "REJECTD":
		return 8
	}
	return 7
}

// moPDU encodes an MO as a deliver_sm with a fresh sequence number.
type seqPDU struct {
	seq uint32
	b   []byte
}

// moPDUs builds the deliver_sm of an MO: one, or one per part sent.
func (c *session) moPDUs(mo MO) ([]seqPDU, error) {
	coding, payload := smpp.Encode(mo.Text)
	ston, dton := uint8(1), uint8(1)
	if mo.SetTON {
		ston, dton = mo.SourceTON, mo.DestTON
	}
	if mo.Split == "" {
		seq := c.nextSeq()
		b, err := deliverPDUTON(seq, mo.Source, mo.Dest, ston, dton, 0, coding, payload, nil)
		return []seqPDU{{seq, b}}, err
	}
	size := mo.PartSize
	if size <= 0 {
		size = 134
	}
	var chunks [][]byte
	for len(payload) > 0 {
		n := min(size, len(payload))
		chunks = append(chunks, payload[:n])
		payload = payload[n:]
	}
	order := mo.Parts
	if order == nil {
		for i := range chunks {
			order = append(order, i+1)
		}
	}
	total := len(chunks)
	var out []seqPDU
	for _, i := range order {
		if i < 1 || i > total {
			return nil, fmt.Errorf("mo part %d of %d", i, total)
		}
		body, esm := chunks[i-1], uint8(0)
		var tlv pdutlv.Fields
		switch mo.Split {
		case "udh8":
			body, esm = append([]byte{5, 0x00, 3, byte(mo.Ref), byte(total), byte(i)}, body...), 0x40
		case "udh16":
			body, esm = append([]byte{6, 0x08, 4, byte(mo.Ref >> 8), byte(mo.Ref), byte(total), byte(i)}, body...), 0x40
		case "sar":
			tlv = pdutlv.Fields{
				pdutlv.Tag(0x020C): []byte{byte(mo.Ref >> 8), byte(mo.Ref)},
				pdutlv.Tag(0x020E): []byte{byte(total)},
				pdutlv.Tag(0x020F): []byte{byte(i)},
			}
		default:
			return nil, fmt.Errorf("mo split %q: want udh8, udh16 or sar", mo.Split)
		}
		seq := c.nextSeq()
		b, err := deliverPDUTON(seq, mo.Source, mo.Dest, ston, dton, esm, coding, body, tlv)
		if err != nil {
			return nil, err
		}
		out = append(out, seqPDU{seq, b})
	}
	return out, nil
}

// await sends our deliver_sm b and waits for its resp status.
func (c *session) await(ctx context.Context, seq uint32, b []byte) (uint32, error) {
	ch := make(chan uint32, 1)
	c.pmu.Lock()
	c.pending[seq] = ch
	c.pmu.Unlock()
	defer func() {
		c.pmu.Lock()
		delete(c.pending, seq)
		c.pmu.Unlock()
	}()
	c.send(b)
	select {
	case st := <-ch:
		return st, nil
	case <-c.done:
		return 0, errors.New("session closed")
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// deliverPDU encodes a deliver_sm. It uses fiorix's submit_sm layout, which
// Has the same mandatory fields (SMPP 3.4 §4.6.1), because its deliver_sm
// layout writes an extra UDH length byte when no UDH fields are set.
func deliverPDU(seq uint32, src, dst string, esm, coding uint8, sm []byte, tlv pdutlv.Fields) ([]byte, error) {
	return deliverPDUTON(seq, src, dst, 1, 1, esm, coding, sm, tlv)
}

// deliverPDUTON is deliverPDU with the addresses' type of number.
func deliverPDUTON(seq uint32, src, dst string, ston, dton, esm, coding uint8, sm []byte, tlv pdutlv.Fields) ([]byte, error) {
	p := pdu.NewSubmitSM(tlv)
	p.Header().ID = pdu.DeliverSMID
	f := p.Fields()
	for _, kv := range []struct {
		k pdufield.Name
		v any
	}{
		{pdufield.SourceAddrTON, ston}, {pdufield.SourceAddrNPI, uint8(1)}, {pdufield.SourceAddr, src},
		{pdufield.DestAddrTON, dton}, {pdufield.DestAddrNPI, uint8(1)}, {pdufield.DestinationAddr, dst},
		{pdufield.ESMClass, esm}, {pdufield.DataCoding, coding},
	} {
		if err := f.Set(kv.k, kv.v); err != nil {
			return nil, err
		}
	}
	if err := frame.SetShortMessage(p, sm); err != nil {
		return nil, fmt.Errorf("deliver_sm %w", err)
	}
	return frame.Serialize(p, seq)
}
