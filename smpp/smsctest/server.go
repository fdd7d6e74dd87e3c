// Package smsctest is an SMPP 3.4 SMSC simulator for tests, demos and
// benchmarks (cmd/smsc-sim is a thin main over it). It accepts
// bind_transmitter, bind_receiver and bind_transceiver, answers submit_sm
// with message ids, reassembles concatenated parts into Messages, sends
// delivery receipts per part to the receiver binds of the same system_id,
// injects replies (MO), and applies Rules (throttling, permanent errors,
// failed receipts) by destination suffix.
//
// It is built for speed: one reader and one writer goroutine per session,
// writes buffered and flushed when the queue is idle, an unbounded write
// queue so that its reader never blocks on a slow client (which would
// deadlock two peers that both wait to write), and bounded message storage.
package smsctest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Server. Zero values take the documented defaults.
type Options struct {
	Addr               string // default "127.0.0.1:0"
	SystemID, Password string // empty: accept any; otherwise bind_resp 0x0E (ESME_RINVPASWD) / 0x0F (ESME_RINVSYSID)

	DLRDelay  time.Duration // delay before each delivery receipt (default 0: right after the resp)
	RespDelay time.Duration // delay before each submit_sm_resp (default 0); lets tests fill a window
	// RequirePair refuses bind_transceiver (ESME_RBINDFAIL), as carriers
	// that want a transmitter and a receiver do.
	RequirePair     bool
	IDFormat        string // "hex" (default, upper-case) or "decimal": ids in submit_sm_resp
	ReceiptIDFormat string // "" (same as IDFormat), "hex" or "decimal": ids in receipts
	ReceiptTLVOnly  bool   // receipts carry the id and state only in TLVs (0x001E, 0x0427), not in the text
	// ReceiptAttempts bounds how often a receipt is sent: one the ESME
	// refuses (any error status), leaves unanswered for 10 s, or that finds
	// no receiver bound is sent again after a pause growing from 200 ms to
	// 5 s, as an SMSC redelivers. Default 30 (about two minutes).
	ReceiptAttempts int

	Rules        []Rule
	KeepMessages int // completed messages kept for Messages(); default 100000

	// CollideSeq: for each submit_sm the server first sends a deliver_sm (an
	// MO with text "collide") carrying the same sequence number as that
	// submit_sm, then the submit_sm_resp. A client that matches responses by
	// sequence number alone takes the deliver_sm for its response.
	CollideSeq bool

	Logger *slog.Logger
}

// Rule applies to submits whose destination ends in Suffix; the first
// matching rule wins and an empty Suffix matches all.
type Rule struct {
	Suffix  string
	Receipt string // stat to report: DELIVRD (default), UNDELIV, EXPIRED, REJECTD; "NONE" = no receipt
	Status  uint32 // non-zero: answer submit_sm with this command_status (e.g. 0x58 throttle, 0x0B)
	Times   int    // Status applies to the first Times matching submits only (0 = always)
	// NoResp: accept the part (the handset gets it) but never send its
	// submit_sm_resp: a lost response. With Times, only the first Times.
	NoResp bool
	// RespDelay delays the submit_sm_resp of matching submits (a slow SMSC
	// for some destinations); with Times, only the first Times.
	RespDelay time.Duration
}

// Message is one complete (reassembled) SMS.
type Message struct {
	ID         string    `json:"id"` // the first part's id
	SystemID   string    `json:"system_id"`
	Source     string    `json:"source"`
	Dest       string    `json:"dest"`
	Text       string    `json:"text"`
	Coding     uint8     `json:"coding"`
	Parts      int       `json:"parts"`
	PartIDs    []string  `json:"part_ids"`
	Receipt    string    `json:"receipt"` // the stat reported, or NONE
	ReceivedAt time.Time `json:"received_at"`
}

// MO is a reply from a phone, injected with InjectMO.
type MO struct {
	Source string `json:"from"`
	Dest   string `json:"to"`
	Text   string `json:"text"`
	// Split sends the text as a concatenated message, as phones and SMSCs
	// do: "udh8" (UDH IEI 0x00), "udh16" (IEI 0x08) or "sar" (the SAR
	// TLVs), cutting the encoded payload every PartSize octets (default
	// 134; cuts may fall inside an escape or a surrogate pair). Parts lists
	// which parts to send and in what order (1-based; repeats send
	// duplicates); nil sends all in order. Ref is the reference.
	Split    string `json:"split,omitempty"`
	PartSize int    `json:"part_size,omitempty"`
	Parts    []int  `json:"parts,omitempty"`
	Ref      uint16 `json:"ref,omitempty"`
	// TON sets the addresses' type of number (SetTON): carriers send
	// "0412..." with TON 2 (national), "+61..." with TON 1 or 0. Without
	// SetTON both are 1 (international).
	SetTON             bool  `json:"set_ton,omitempty"`
	SourceTON, DestTON uint8 `json:"-"`
}

// Stats are the server's counters since Start.
type Stats struct {
	Binds         int64 `json:"binds"`
	BindsRejected int64 `json:"binds_rejected"`
	Submits       int64 `json:"submits"`
	Throttled     int64 `json:"throttled"`   // answered 0x58 or 0x14 by a rule
	Failed        int64 `json:"failed"`      // answered any other error status
	Receipts      int64 `json:"receipts"`    // receipts made (one per part), however often each was sent
	Redelivered   int64 `json:"redelivered"` // receipts sent again after a refusal, silence or no receiver
	Undelivered   int64 `json:"undelivered"` // receipts given up after ReceiptAttempts
	MOs           int64 `json:"mos"`
	Unbinds       int64 `json:"unbinds"`
	MaxInFlight   int64 `json:"max_in_flight"` // most submit_sm of one session awaiting their resp at once
	LostResps     int64 `json:"lost_resps"`    // submits accepted but never answered (Rule.NoResp)
}

// Server is a running simulator.
type Server struct {
	opts Options
	log  *slog.Logger
	ln   net.Listener
	wg   sync.WaitGroup

	mu       sync.Mutex
	sessions map[*session]struct{}
	ruleHits []int
	closed   bool

	nextID     atomic.Uint64
	sessionIDs atomic.Uint64 // orders sessions for round-robin
	rr         atomic.Uint64

	binds, bindsRejected, unbinds, submits, throttled, failed, receipts, mos, maxInFlight, lostResps atomic.Int64
	redelivered, undelivered                                                                         atomic.Int64
	stop                                                                                             chan struct{} // closed by Close: pending redeliveries end

	store store
}

// Start listens on opts.Addr and serves until Close.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.KeepMessages <= 0 {
		opts.KeepMessages = 100000
	}
	if opts.ReceiptAttempts <= 0 {
		opts.ReceiptAttempts = 30
	}
	for _, f := range []string{opts.IDFormat, opts.ReceiptIDFormat} {
		if f != "" && f != "hex" && f != "decimal" {
			return nil, fmt.Errorf("id format %q: want hex or decimal", f)
		}
	}
	if opts.IDFormat == "" {
		opts.IDFormat = "hex"
	}
	if opts.ReceiptIDFormat == "" {
		opts.ReceiptIDFormat = opts.IDFormat
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", opts.Addr, err)
	}
	s := &Server{
		opts: opts, log: logger.With("component", "smsc-sim"), ln: ln,
		sessions: make(map[*session]struct{}), ruleHits: make([]int, len(opts.Rules)), stop: make(chan struct{}),
	}
	s.store.init(opts.KeepMessages)
	// Ids start at a time-derived base so a restarted simulator does not
	// reuse the ids of the one before.
	s.nextID.Store(uint64(time.Now().UnixNano()/1000) & 0xFFFFFFFFFF)
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr returns the listening address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close closes the listener and all sessions and waits for their goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	err := s.ln.Close()
	for c := range s.sessions {
		c.close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Error("accept", "err", err)
			}
			return
		}
		c := newSession(s, conn)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = conn.Close()
			return
		}
		s.sessions[c] = struct{}{}
		s.wg.Add(2)
		s.mu.Unlock()
		go c.reader()
		go c.writer()
	}
}

// drop forgets a closed session.
func (s *Server) drop(c *session) {
	s.mu.Lock()
	delete(s.sessions, c)
	s.mu.Unlock()
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{
		Binds: s.binds.Load(), BindsRejected: s.bindsRejected.Load(), Submits: s.submits.Load(),
		Throttled: s.throttled.Load(), Failed: s.failed.Load(), Receipts: s.receipts.Load(),
		Redelivered: s.redelivered.Load(), Undelivered: s.undelivered.Load(),
		MOs: s.mos.Load(), Unbinds: s.unbinds.Load(), MaxInFlight: s.maxInFlight.Load(),
		LostResps: s.lostResps.Load(),
	}
}

// Messages returns the completed messages kept, oldest first.
func (s *Server) Messages() []Message { return s.store.since(0) }

// WaitMessages waits until at least n messages have completed since Start,
// then returns the messages kept.
func (s *Server) WaitMessages(ctx context.Context, n int) ([]Message, error) {
	return s.store.wait(ctx, n)
}

// matchRule applies the rules to a destination: the stat to report, the
// command_status to answer with, and the response behaviour (no response
// at all, or a delay).
func (s *Server) matchRule(dest string) (receipt string, status uint32, noResp bool, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.opts.Rules {
		if !strings.HasSuffix(dest, r.Suffix) {
			continue
		}
		receipt = r.Receipt
		if (r.Status != 0 || r.NoResp || r.RespDelay > 0) && (r.Times == 0 || s.ruleHits[i] < r.Times) {
			s.ruleHits[i]++
			status, noResp, delay = r.Status, r.NoResp, r.RespDelay
		}
		break
	}
	if receipt == "" {
		receipt = "DELIVRD"
	}
	return receipt, status, noResp, delay
}

// NewID returns a fresh message id number.
func (s *Server) newID() uint64 { return s.nextID.Add(1) }

// formatID renders an id in "hex" (upper-case) or "decimal".
func formatID(n uint64, format string) string {
	if format == "decimal" {
		return strconv.FormatUint(n, 10)
	}
	return strings.ToUpper(strconv.FormatUint(n, 16))
}

// receiver picks a session bound to receive for systemID ("" = any),
// preferring the given one, round-robin otherwise.
func (s *Server) receiver(systemID string, prefer *session) *session {
	if prefer != nil && prefer.canReceive() && prefer.alive() {
		return prefer
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*session
	for c := range s.sessions {
		if c.canReceive() && c.alive() && (systemID == "" || c.systemID() == systemID) {
			list = append(list, c)
		}
	}
	if len(list) == 0 {
		return nil
	}
	slices.SortFunc(list, func(a, b *session) int { return cmp.Compare(a.id, b.id) })
	return list[s.rr.Add(1)%uint64(len(list))]
}

// InjectMO sends a reply as a deliver_sm to a bound receiver or transceiver
// (round-robin) and waits for its deliver_sm_resp.
func (s *Server) InjectMO(ctx context.Context, mo MO) error {
	c := s.receiver("", nil)
	if c == nil {
		return errors.New("inject mo: no receiver bound")
	}
	pdus, err := c.moPDUs(mo)
	if err != nil {
		return err
	}
	for _, p := range pdus {
		status, err := c.await(ctx, p.seq, p.b)
		if err != nil {
			return fmt.Errorf("inject mo: %w", err)
		}
		if status != 0 {
			return fmt.Errorf("inject mo: deliver_sm_resp status 0x%08X", status)
		}
		s.mos.Add(1)
	}
	return nil
}
