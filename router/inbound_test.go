package router

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/smpp"
)

// fakeInboundStore knows the SMSC ids in known; failAll makes every batch
// fail as a whole (Redis down).
type fakeInboundStore struct {
	mu      sync.Mutex
	known   map[string]*accounts.Message
	failAll error
	applied []accounts.ReceiptUpdate
	loaded  []string // the ids LoadMessages was asked for
	asked   []string // every canonical id ApplyReceipts looked up
}

func (f *fakeInboundStore) ApplyReceipts(_ context.Context, ups []accounts.ReceiptUpdate) ([]*accounts.Message, []error, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAll != nil {
		return nil, nil, f.failAll
	}
	msgs, errs := make([]*accounts.Message, len(ups)), make([]error, len(ups))
	for i, u := range ups {
		f.asked = append(f.asked, u.CanonicalID)
		m, ok := f.known[u.Link+"/"+u.CanonicalID]
		if !ok {
			errs[i] = accounts.ErrNotFound
			continue
		}
		m.Status = accounts.MessageStatus(u.Status)
		// What the store's receipt result carries; LoadMessages the rest.
		msgs[i] = &accounts.Message{ID: m.ID, AccountID: m.AccountID, Sender: m.Sender, Status: m.Status}
		f.applied = append(f.applied, u)
	}
	return msgs, errs, nil
}

// LoadMessages returns copies of the known messages of ids.
func (f *fakeInboundStore) LoadMessages(_ context.Context, ids []string) ([]*accounts.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loaded = append(f.loaded, ids...)
	out := make([]*accounts.Message, len(ids))
	for i, id := range ids {
		for _, m := range f.known {
			if m.ID == id {
				cp := *m
				out[i] = &cp
			}
		}
	}
	return out, nil
}

// RouteReply routes nothing: every reply is unrouted.
func (f *fakeInboundStore) RouteReply(_ context.Context, r accounts.Reply) (*accounts.Reply, *accounts.Message, error) {
	r.ID = "r1"
	return &r, nil, nil
}

func (f *fakeInboundStore) GetReply(context.Context, string) (*accounts.Reply, error) {
	return nil, accounts.ErrNotFound
}

func (f *fakeInboundStore) GetMessage(context.Context, string) (*accounts.Message, error) {
	return nil, accounts.ErrNotFound
}

func (f *fakeInboundStore) know(link, id string, m *accounts.Message) {
	f.mu.Lock()
	f.known[link+"/"+id] = m
	f.mu.Unlock()
}

type recordingEvents struct {
	mu     sync.Mutex
	status []accounts.MessageStatus
	got    chan struct{}
}

func (r *recordingEvents) MessageStatus(_ context.Context, m *accounts.Message) error {
	r.mu.Lock()
	r.status = append(r.status, m.Status)
	r.mu.Unlock()
	r.got <- struct{}{}
	return nil
}
func (r *recordingEvents) Reply(context.Context, *accounts.Reply, *accounts.Message) error {
	return nil
}
func (r *recordingEvents) LowBalance(context.Context, *accounts.Account) error { return nil }

func receiptDeliver(id, stat string) *smpp.Deliver {
	return &smpp.Deliver{Link: "l1", Receipt: &smpp.Receipt{ID: id, Stat: stat}}
}

func TestInboundReceipts(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	store := &fakeInboundStore{known: map[string]*accounts.Message{"l1/a1": {ID: "m1"}}}
	ev := &recordingEvents{got: make(chan struct{}, 10)}
	in := NewInbound(InboundOptions{Store: store, Events: ev, OrphanWait: time.Minute})
	go in.Run(ctx)

	t.Run("matched receipt updates and fires an event", func(t *testing.T) {
		if err := in.HandleDeliver(ctx, receiptDeliver("A1", "DELIVRD")); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ev.got:
		case <-ctx.Done():
			t.Fatal("no event")
		}
		if ev.status[0] != accounts.MsgDelivered {
			t.Errorf("event status %s", ev.status[0])
		}
	})
	t.Run("intermediate receipt is ignored", func(t *testing.T) {
		if err := in.HandleDeliver(ctx, receiptDeliver("a1", "ENROUTE")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("early receipt waits for its submit", func(t *testing.T) {
		if err := in.HandleDeliver(ctx, receiptDeliver("b2", "UNDELIV")); err != nil {
			t.Fatalf("an orphan is accepted from the carrier: %v", err)
		}
		store.know("l1", "b2", &accounts.Message{ID: "m2"})
		in.Submitted([]accounts.Submitted{{Link: "l1", SMSCIDs: []string{"b2"}}})
		select {
		case <-ev.got:
		case <-ctx.Done():
			t.Fatal("orphan never applied")
		}
		if ev.status[1] != accounts.MsgUndeliverable {
			t.Errorf("event status %s", ev.status[1])
		}
	})
	t.Run("redis down: the carrier is told to retry", func(t *testing.T) {
		store.mu.Lock()
		store.failAll = errors.New("connection refused")
		store.mu.Unlock()
		defer func() { store.mu.Lock(); store.failAll = nil; store.mu.Unlock() }()
		if err := in.HandleDeliver(ctx, receiptDeliver("a1", "DELIVRD")); err == nil {
			t.Fatal("want an error so that the carrier delivers the receipt again")
		}
		// A failing batch of orphans must not panic either.
		in.Submitted(nil)
		in.retry(ctx, []orphan{{up: accounts.ReceiptUpdate{Link: "l1", CanonicalID: "zz", Status: "delivered"}, until: time.Now().Add(time.Minute)}})
	})
}

// TestInboundReceiptAwaitsRecord: a receipt for a part the SMSC has just
// taken (SubmitResponded) whose submit is not recorded yet waits for the
// record (Submitted) instead of being looked up in vain and held, in any
// form of the id (decimal for hex); one whose record never comes is looked
// up after the wait, as any, and kept as an orphan.
func TestInboundReceiptAwaitsRecord(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	store := &fakeInboundStore{known: map[string]*accounts.Message{}}
	in := NewInbound(InboundOptions{Store: store, OrphanWait: time.Minute})
	in.awaitMax = 10 * time.Millisecond
	go in.Run(ctx)
	awaiting := func(n int) {
		t.Helper()
		for {
			in.mu.Lock()
			got := 0
			for _, qs := range in.awaiting {
				got += len(qs)
			}
			in.mu.Unlock()
			if got == n {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%d receipts await a record, want %d", got, n)
			case <-time.After(time.Millisecond):
			}
		}
	}
	for _, tc := range []struct{ name, respID, receiptID, canonical string }{
		{"same form", "0C1", "c1", "c1"},
		{"decimal for hex", "0A", "10", "10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store.mu.Lock()
			store.asked = nil
			store.mu.Unlock()
			in.SubmitResponded("l1", tc.respID)
			done := make(chan error, 1)
			go func() { done <- in.HandleDeliver(ctx, receiptDeliver(tc.receiptID, "DELIVRD")) }()
			awaiting(1)
			store.mu.Lock()
			asked := len(store.asked)
			store.mu.Unlock()
			if asked != 0 {
				t.Fatalf("looked up %d times before the record", asked)
			}
			store.know("l1", tc.canonical, &accounts.Message{ID: "m-" + tc.canonical})
			in.Submitted([]accounts.Submitted{{Link: "l1", SMSCIDs: []string{tc.respID}}})
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-ctx.Done():
				t.Fatal("the receipt was not applied after the record")
			}
			store.mu.Lock()
			defer store.mu.Unlock()
			if len(store.asked) != 1 || store.asked[0] != tc.canonical || len(store.applied) == 0 ||
				store.applied[len(store.applied)-1].CanonicalID != tc.canonical {
				t.Errorf("looked up %v, applied %v; want %s once, applied", store.asked, store.applied, tc.canonical)
			}
		})
	}
	t.Run("record never comes", func(t *testing.T) {
		in.SubmitResponded("l1", "d4")
		if err := in.HandleDeliver(ctx, receiptDeliver("d4", "DELIVRD")); err != nil {
			t.Fatal(err) // looked up after the wait, not found: an orphan
		}
		// Kept as an orphan; the once-a-second retry takes it out of the
		// map while it looks it up again, so a check may have to wait.
		for {
			in.mu.Lock()
			_, orphan := in.orphans[orphanKey("l1", "d4")]
			in.mu.Unlock()
			if orphan {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatal("not kept as an orphan")
			case <-time.After(time.Millisecond):
			}
		}
	})
}

// interestEvents records status events and wants only account "a-hooks".
type interestEvents struct {
	recordingEvents
	asked chan string
	text  string // of the last message announced
}

func (e *interestEvents) MessageStatus(ctx context.Context, m *accounts.Message) error {
	e.mu.Lock()
	e.text = m.Text
	e.mu.Unlock()
	return e.recordingEvents.MessageStatus(ctx, m)
}

func (e *interestEvents) WantsStatus(_ context.Context, m *accounts.Message) bool {
	e.asked <- m.ID
	return m.AccountID == "a-hooks"
}

// TestInboundStatusInterest: a final status that no hook and no Events want
// (StatusInterest) is not read from the store; one that is wanted is read
// whole and announced with everything the message holds.
func TestInboundStatusInterest(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	store := &fakeInboundStore{known: map[string]*accounts.Message{
		"l1/a1": {ID: "m1", AccountID: "a-quiet", To: "61400000001"},
		"l1/a2": {ID: "m2", AccountID: "a-hooks", To: "61400000002", Text: "hello"},
	}}
	ev := &interestEvents{recordingEvents: recordingEvents{got: make(chan struct{}, 10)}, asked: make(chan string, 10)}
	in := NewInbound(InboundOptions{Store: store, Events: ev, OrphanWait: time.Minute})
	go in.Run(ctx)
	if err := in.HandleDeliver(ctx, receiptDeliver("a1", "DELIVRD")); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-ev.asked:
		if got != "m1" {
			t.Fatalf("asked about %s, want m1", got)
		}
	case <-ctx.Done():
		t.Fatal("Events never asked whether m1's status concerns it")
	}
	if err := in.HandleDeliver(ctx, receiptDeliver("a2", "DELIVRD")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ev.got:
	case <-ctx.Done():
		t.Fatal("no event for the wanted status")
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if len(store.loaded) != 1 || store.loaded[0] != "m2" {
		t.Fatalf("messages read %v, want only m2", store.loaded)
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if len(ev.status) != 1 || ev.text != "hello" {
		t.Fatalf("events %v (text %q), want one, m2's whole message", ev.status, ev.text)
	}
}

// An unrouted reply's log line names the number pair that missed, masked.
func TestInboundUnroutedLogsPair(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	in := NewInbound(InboundOptions{Store: &fakeInboundStore{}, Logger: log, OrphanWait: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d := &smpp.Deliver{Link: "carrier1", Source: "61412349000", Dest: "61480000000", Text: "yes"}
	if err := in.HandleDeliver(ctx, d); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"reply matched no conversation", "link=carrier1", "from=*******9000", "to=*******0000"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "61412349000") {
		t.Errorf("log shows the whole number:\n%s", out)
	}
}

// TestInboundOrphanAnyForm: a receipt that came before its submit was
// recorded (an orphan) is applied when the record comes, whichever form of
// the id the submit response used (hex "0A" for the receipt's decimal "10").
func TestInboundOrphanAnyForm(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	store := &fakeInboundStore{known: map[string]*accounts.Message{}}
	in := NewInbound(InboundOptions{Store: store, OrphanWait: time.Minute})
	go in.Run(ctx)
	if err := in.HandleDeliver(ctx, receiptDeliver("10", "DELIVRD")); err != nil {
		t.Fatal(err) // not found: kept as an orphan
	}
	store.know("l1", "10", &accounts.Message{ID: "m-10"})
	in.Submitted([]accounts.Submitted{{Link: "l1", SMSCIDs: []string{"0A"}}})
	in.mu.Lock()
	_, still := in.orphans[orphanKey("l1", "10")]
	in.mu.Unlock()
	if still {
		t.Error("the record of 0A did not release the orphan of 10")
	}
	for {
		store.mu.Lock()
		n := len(store.applied)
		store.mu.Unlock()
		if n > 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the orphan was not applied after its submit's record")
		case <-time.After(time.Millisecond):
		}
	}
}

// TestInboundKnownRef: a receipt for a part whose submit this instance
// recorded goes to the store with the message it belongs to (Ref: no index
// lookup), once; a second receipt for it (a duplicate), or one for a part
// recorded elsewhere, goes without; a record without the message's account
// and creation time leaves none; the oldest go past knownMax.
func TestInboundKnownRef(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	created := time.UnixMilli(1_700_000_000_000)
	store := &fakeInboundStore{known: map[string]*accounts.Message{
		"l1/a1": {ID: "m1"}, "l1/b2": {ID: "m2"}, "l1/c3": {ID: "m3"}, "l1/d4": {ID: "m4"}, "l1/e5": {ID: "m5"}}}
	in := NewInbound(InboundOptions{Store: store, OrphanWait: time.Minute})
	go in.Run(ctx)
	in.Submitted([]accounts.Submitted{
		{Entry: accounts.Entry{MessageID: "m1"}, Link: "l1", SMSCIDs: []string{"a1"}, AccountID: "a0-x", CreatedAt: created},
		{Entry: accounts.Entry{MessageID: "m3"}, Link: "l1", SMSCIDs: []string{"c3"}}, // no account: not kept
		// An id recorded in another form than canonical (Submitted reads
		// every id so): kept under its canonical form.
		{Entry: accounts.Entry{MessageID: "m5"}, Link: "l1", SMSCIDs: []string{"00E5"}, AccountID: "a0-x", CreatedAt: created},
	})
	for _, id := range []string{"A1", "a1", "b2", "c3", "e5"} { // A1: a1 in another case, its canonical form
		if err := in.HandleDeliver(ctx, receiptDeliver(id, "DELIVRD")); err != nil {
			t.Fatal(err)
		}
	}
	store.mu.Lock()
	applied := append([]accounts.ReceiptUpdate(nil), store.applied...)
	store.mu.Unlock()
	if len(applied) != 5 {
		t.Fatalf("%d applied, want 5", len(applied))
	}
	want := &accounts.MessageRef{MessageID: "m1", AccountID: "a0-x", CreatedAt: created}
	if r := applied[0].Ref; r == nil || *r != *want {
		t.Errorf("first receipt of a1: Ref %+v, want %+v", r, want)
	}
	for i, u := range applied[1:4] {
		if u.Ref != nil {
			t.Errorf("receipt %d (%s): Ref %+v, want none", i+2, u.CanonicalID, u.Ref)
		}
	}
	if r := applied[4].Ref; r == nil || r.MessageID != "m5" {
		t.Errorf("receipt of e5 (recorded as 00E5): Ref %+v, want m5's", r)
	}

	// Bounded: past knownMax records, the first is no longer kept.
	batch := make([]accounts.Submitted, knownMax+1)
	for i := range batch {
		batch[i] = accounts.Submitted{Entry: accounts.Entry{MessageID: "m" + strconv.Itoa(i)}, Link: "l2",
			SMSCIDs: []string{strconv.Itoa(i)}, AccountID: "a0-x", CreatedAt: created}
	}
	in.Submitted(batch)
	in.knownMu.Lock()
	_, first := in.known[orphanKey("l2", "0")]
	_, last := in.known[orphanKey("l2", strconv.Itoa(knownMax))]
	n := len(in.known)
	in.knownMu.Unlock()
	if first || !last || n != knownMax {
		t.Errorf("after %d records: first kept %v, last kept %v, %d kept; want false, true, %d", knownMax+1, first, last, n, knownMax)
	}
}

// TestInboundAsync: HandleDeliverAsync never blocks its caller (a link's
// reader), not even with more receipts than the queue holds and nothing
// applying them yet; an intermediate receipt is answered at once, and every
// final one when its batch is applied.
func TestInboundAsync(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	const n = 1500 // the queue holds 1024
	store := &fakeInboundStore{known: map[string]*accounts.Message{}}
	for i := range n {
		store.know("l1", strconv.Itoa(i+1), &accounts.Message{ID: "m" + strconv.Itoa(i)})
	}
	in := NewInbound(InboundOptions{Store: store, OrphanWait: time.Minute})
	answered := make(chan error, n+1)
	handed := make(chan struct{})
	go func() {
		defer close(handed)
		in.HandleDeliverAsync(ctx, receiptDeliver("1", "ENROUTE"), func(err error) { answered <- err })
		for i := range n {
			in.HandleDeliverAsync(ctx, receiptDeliver(strconv.Itoa(i+1), "DELIVRD"), func(err error) { answered <- err })
		}
	}()
	select {
	case <-handed:
	case <-ctx.Done():
		t.Fatal("HandleDeliverAsync blocked with nothing applying receipts")
	}
	select {
	case err := <-answered:
		if err != nil {
			t.Fatalf("intermediate receipt answered %v", err)
		}
	default:
		t.Fatal("the intermediate receipt was not answered at once")
	}
	if len(answered) != 0 {
		t.Fatalf("%d final receipts answered before any was applied", len(answered))
	}
	go in.Run(ctx)
	for i := range n {
		select {
		case err := <-answered:
			if err != nil {
				t.Fatalf("receipt answered %v", err)
			}
		case <-ctx.Done():
			t.Fatalf("%d of %d receipts answered", i, n)
		}
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if len(store.applied) != n {
		t.Errorf("%d receipts applied, want %d", len(store.applied), n)
	}
}

// panicReplyStore panics routing a reply.
type panicReplyStore struct{ *fakeInboundStore }

func (panicReplyStore) RouteReply(context.Context, accounts.Reply) (*accounts.Reply, *accounts.Message, error) {
	panic("routing failed hard")
}

// TestInboundAsyncReplyPanic: a reply handed over asynchronously whose
// handling panics is answered with an error (the carrier sends it again);
// the process goes on.
func TestInboundAsyncReplyPanic(t *testing.T) {
	told := make(chan any, 1)
	in := NewInbound(InboundOptions{Store: panicReplyStore{&fakeInboundStore{known: map[string]*accounts.Message{}}},
		OnPanic: func(component string, v any) { told <- component + ": " + fmt.Sprint(v) }})
	answered := make(chan error, 1)
	in.HandleDeliverAsync(t.Context(), &smpp.Deliver{Link: "carrier1", Source: "61412349000", Dest: "61480000000", Text: "yes"},
		func(err error) { answered <- err })
	select {
	case err := <-answered:
		if err == nil || !strings.Contains(err.Error(), "routing failed hard") {
			t.Fatalf("answered %v, want the panic as an error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reply was never answered")
	}
	if v := <-told; v != "inbound: routing failed hard" {
		t.Errorf("OnPanic told %v", v)
	}
}
