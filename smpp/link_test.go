package smpp_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsgate/smsgate/smpp"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// startSim starts a simulator closed at the end of the test.
func startSim(t testing.TB, o smsctest.Options) *smsctest.Server {
	t.Helper()
	o.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := smsctest.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// runLink starts l.Run and stops it at the end of the test; it waits for
// the bind when wantUp.
func runLink(t testing.TB, l *smpp.Link, wantUp bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	if wantUp {
		wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer wcancel()
		if err := l.WaitUp(wctx, true); err != nil {
			t.Fatalf("link did not bind: %v", err)
		}
	}
}

// delivers collects OnDeliver calls.
type delivers chan *smpp.Deliver

func (d delivers) on(_ context.Context, x *smpp.Deliver) error {
	d <- x
	return nil
}

func (d delivers) next(t *testing.T) *smpp.Deliver {
	t.Helper()
	select {
	case x := <-d:
		return x
	case <-time.After(5 * time.Second):
		t.Fatal("no deliver_sm within 5s")
		return nil
	}
}

func linkOpts(sim *smsctest.Server) smpp.LinkOptions {
	return smpp.LinkOptions{
		Name: "test", Addr: sim.Addr(), SystemID: "smsgate", Password: "secret",
		ReconnectMin: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond,
		ResponseTimeout: 3 * time.Second,
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestBind(t *testing.T) {
	for _, tc := range []struct {
		name, password string
		up             bool
		attempts       int
	}{
		{"good password", "secret", true, 1},
		{"bad password", "wrong", false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, smsctest.Options{SystemID: "smsgate", Password: "secret"})
			reg := prometheus.NewRegistry()
			o := linkOpts(sim)
			o.Password, o.Metrics = tc.password, smpp.NewLinkMetrics(reg)
			l := smpp.NewLink(o)
			runLink(t, l, false)
			ctx := testCtx(t)
			if err := l.WaitBindAttempts(ctx, tc.attempts); err != nil {
				t.Fatal(err)
			}
			if tc.up {
				if err := l.WaitUp(ctx, true); err != nil {
					t.Fatal(err)
				}
			}
			if l.Up() != tc.up {
				t.Fatalf("Up() = %v, want %v", l.Up(), tc.up)
			}
			st := sim.Stats()
			if tc.up && st.Binds != 1 || !tc.up && (st.Binds != 0 || st.BindsRejected < 2) {
				t.Fatalf("sim stats %+v", st)
			}
			if !tc.up {
				ok, perm := smpp.Value(o.Metrics.Binds("test", "ok")), smpp.Value(o.Metrics.Binds("test", "permanent"))
				if ok != 0 || perm < 2 {
					t.Fatalf("binds_total ok=%v permanent=%v", ok, perm)
				}
				if _, err := l.Submit(ctx, &smpp.SubmitRequest{Dest: "61400000001", Payload: []byte("x")}); !errors.Is(err, smpp.ErrLinkDown) {
					t.Fatalf("Submit on a down link: %v, want ErrLinkDown", err)
				}
			}
		})
	}
}

// submitText encodes, splits and submits text as a real sender would.
func submitText(ctx context.Context, l *smpp.Link, src, dst, text string, ref uint8, dlr bool) ([]string, error) {
	coding, payload := smpp.Encode(text)
	parts := smpp.Split(coding, payload)
	var ids []string
	for i, p := range parts {
		r := &smpp.SubmitRequest{Source: src, Dest: dst, Coding: coding, Payload: p, RegisteredDelivery: dlr}
		if len(parts) > 1 {
			r.UDH = smpp.ConcatUDH(ref, len(parts), i+1)
		}
		id, err := l.Submit(ctx, r)
		if err != nil {
			return ids, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func TestSubmitReassembly(t *testing.T) {
	long := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 8)
	for _, tc := range []struct {
		name, src, text string
		coding          uint8
		parts           int
	}{
		{"single gsm", "61400000000", "Hello world", smpp.CodingGSM7, 1},
		{"alphanumeric source", "Acme", "Hello €uro [brackets]", smpp.CodingGSM7, 1},
		{"single ucs2", "61400000000", "Привет, мир 👋", smpp.CodingUCS2, 1},
		{"concatenated gsm", "61400000000", long, smpp.CodingGSM7, 3},
		{"concatenated ucs2", "61400000000", strings.Repeat("日本語のテキスト", 12), smpp.CodingUCS2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, smsctest.Options{})
			l := smpp.NewLink(linkOpts(sim))
			runLink(t, l, true)
			ctx := testCtx(t)
			ids, err := submitText(ctx, l, tc.src, "+61412345678", tc.text, 7, false)
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := sim.WaitMessages(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			m := msgs[0]
			if m.Text != tc.text || m.Coding != tc.coding || m.Parts != tc.parts || m.Dest != "61412345678" || m.Source != tc.src {
				t.Fatalf("got %+v, want text %q coding %d parts %d", m, tc.text, tc.coding, tc.parts)
			}
			if strings.Join(m.PartIDs, ",") != strings.Join(ids, ",") || m.ID != ids[0] {
				t.Fatalf("part ids %v, submit ids %v", m.PartIDs, ids)
			}
		})
	}
}

// convertID renders a simulator id given in format from in format to.
func convertID(t *testing.T, id, from, to string) string {
	base := map[string]int{"hex": 16, "decimal": 10, "": 16}
	n, err := strconv.ParseUint(id, base[from], 64)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ToUpper(strconv.FormatUint(n, base[to]))
}

func TestReceipts(t *testing.T) {
	for _, tc := range []struct {
		name              string
		idFmt, receiptFmt string
		tlvOnly           bool
		rule              smsctest.Rule
		stat              string
	}{
		{name: "hex", idFmt: "hex", stat: "DELIVRD"},
		{name: "decimal", idFmt: "decimal", stat: "DELIVRD"},
		{name: "decimal submit hex receipt", idFmt: "decimal", receiptFmt: "hex", stat: "DELIVRD"},
		{name: "tlv only", idFmt: "hex", tlvOnly: true, stat: "DELIVRD"},
		{name: "undeliverable", rule: smsctest.Rule{Suffix: "78", Receipt: "UNDELIV"}, stat: "UNDELIV"},
		{name: "tlv only expired", tlvOnly: true, rule: smsctest.Rule{Receipt: "EXPIRED"}, stat: "EXPIRED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := smsctest.Options{IDFormat: tc.idFmt, ReceiptIDFormat: tc.receiptFmt, ReceiptTLVOnly: tc.tlvOnly}
			if tc.rule != (smsctest.Rule{}) {
				o.Rules = []smsctest.Rule{tc.rule}
			}
			sim := startSim(t, o)
			got := make(delivers, 4)
			lo := linkOpts(sim)
			lo.OnDeliver = got.on
			l := smpp.NewLink(lo)
			runLink(t, l, true)
			ids, err := submitText(testCtx(t), l, "Acme", "61412345678", "receipt please", 1, true)
			if err != nil {
				t.Fatal(err)
			}
			d := got.next(t)
			if d.Receipt == nil {
				t.Fatalf("deliver %+v has no receipt", d)
			}
			rf := tc.receiptFmt
			if rf == "" {
				rf = tc.idFmt
			}
			if want := convertID(t, ids[0], tc.idFmt, rf); d.Receipt.ID != want || d.Receipt.Stat != tc.stat {
				t.Fatalf("receipt id %q stat %q, want %q %q (text %q)", d.Receipt.ID, d.Receipt.Stat, want, tc.stat, d.Text)
			}
			if d.Source != "61412345678" || d.Dest != "Acme" || d.Link != "test" {
				t.Fatalf("deliver addresses %+v", d)
			}
		})
	}
}

func TestMO(t *testing.T) {
	for _, tc := range []struct{ name, text string }{
		{"gsm", "Yes please, call me @ 5"},
		{"ucs2", "Да, спасибо 🙏"},
		{"long", strings.Repeat("long reply ", 40)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, smsctest.Options{})
			got := make(delivers, 1)
			lo := linkOpts(sim)
			lo.OnDeliver = got.on
			l := smpp.NewLink(lo)
			runLink(t, l, true)
			if err := sim.InjectMO(testCtx(t), smsctest.MO{Source: "61412345678", Dest: "61400000000", Text: tc.text}); err != nil {
				t.Fatal(err)
			}
			d := got.next(t)
			if d.Receipt != nil || d.Text != tc.text || d.Source != "61412345678" || d.Dest != "61400000000" {
				t.Fatalf("got %+v", d)
			}
		})
	}
}

func TestMOHandlerErrorIsTemporary(t *testing.T) {
	sim := startSim(t, smsctest.Options{})
	lo := linkOpts(sim)
	lo.OnDeliver = func(context.Context, *smpp.Deliver) error { return errors.New("store down") }
	l := smpp.NewLink(lo)
	runLink(t, l, true)
	err := sim.InjectMO(testCtx(t), smsctest.MO{Source: "61412345678", Dest: "61400000000", Text: "hi"})
	if err == nil || !strings.Contains(err.Error(), "0x00000064") {
		t.Fatalf("InjectMO: %v, want status 0x00000064", err)
	}
}

func TestSubmitStatus(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rule      smsctest.Rule
		temporary bool
		thenOK    bool
	}{
		{"throttled once", smsctest.Rule{Suffix: "98", Status: 0x58, Times: 1}, true, true},
		{"invalid destination", smsctest.Rule{Suffix: "98", Status: 0x0B}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, smsctest.Options{Rules: []smsctest.Rule{tc.rule}})
			l := smpp.NewLink(linkOpts(sim))
			runLink(t, l, true)
			ctx := testCtx(t)
			r := &smpp.SubmitRequest{Dest: "61400000098", Payload: []byte("hi")}
			_, err := l.Submit(ctx, r)
			var se *smpp.StatusError
			if !errors.As(err, &se) || se.Status != tc.rule.Status || se.Temporary() != tc.temporary {
				t.Fatalf("Submit: %v, want *StatusError 0x%X temporary=%v", err, tc.rule.Status, tc.temporary)
			}
			_, err = l.Submit(ctx, r)
			if (err == nil) != tc.thenOK {
				t.Fatalf("second Submit: %v, want ok=%v", err, tc.thenOK)
			}
			if other, err := l.Submit(ctx, &smpp.SubmitRequest{Dest: "61400000097", Payload: []byte("hi")}); err != nil || other == "" {
				t.Fatalf("Submit to a destination without a rule: %q %v", other, err)
			}
		})
	}
}

// TestCollideSeq: the simulator sends a deliver_sm with the sequence number
// of each submit_sm before its resp. A client matching by sequence number
// alone returns an empty or wrong id and never sees the deliver_sm.
func TestCollideSeq(t *testing.T) {
	sim := startSim(t, smsctest.Options{CollideSeq: true})
	got := make(delivers, 8)
	lo := linkOpts(sim)
	lo.OnDeliver = got.on
	l := smpp.NewLink(lo)
	runLink(t, l, true)
	ctx := testCtx(t)
	for i := range 3 {
		id, err := l.Submit(ctx, &smpp.SubmitRequest{Source: "61400000000", Dest: "61412345678", Payload: []byte("m" + strconv.Itoa(i))})
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := sim.WaitMessages(ctx, i+1)
		if err != nil {
			t.Fatal(err)
		}
		if id == "" || id != msgs[i].ID {
			t.Fatalf("submit %d: id %q, want %q", i, id, msgs[i].ID)
		}
		if d := got.next(t); d.Text != "collide" || d.Receipt != nil {
			t.Fatalf("deliver %+v, want the colliding MO", d)
		}
	}
}

func TestReconnect(t *testing.T) {
	sim := startSim(t, smsctest.Options{})
	addr := sim.Addr()
	reg := prometheus.NewRegistry()
	lo := linkOpts(sim)
	lo.Metrics = smpp.NewLinkMetrics(reg)
	l := smpp.NewLink(lo)
	runLink(t, l, true)
	ctx := testCtx(t)
	if v := smpp.Value(lo.Metrics.Up("test")); v != 1 {
		t.Fatalf("link_up = %v", v)
	}
	if err := sim.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.WaitUp(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Submit(ctx, &smpp.SubmitRequest{Dest: "61400000001", Payload: []byte("x")}); !errors.Is(err, smpp.ErrLinkDown) {
		t.Fatalf("Submit while down: %v", err)
	}
	sim2 := startSim(t, smsctest.Options{Addr: addr})
	if err := l.WaitUp(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Submit(ctx, &smpp.SubmitRequest{Dest: "61400000001", Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if sim2.Stats().Submits != 1 || smpp.Value(lo.Metrics.Binds("test", "ok")) != 2 {
		t.Fatalf("sim2 %+v", sim2.Stats())
	}
}

func TestRunUnbindsOnCancel(t *testing.T) {
	sim := startSim(t, smsctest.Options{})
	l := smpp.NewLink(linkOpts(sim))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	wctx := testCtx(t)
	if err := l.WaitUp(wctx, true); err != nil {
		t.Fatal(err)
	}
	if err := l.Run(wctx); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second Run: %v, want already running", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if l.Up() {
		t.Fatal("link still up after Run returned")
	}
	// The simulator counts the unbind on its own goroutine, possibly just
	// after it answered; wait for it, bounded.
	deadline := time.Now().Add(5 * time.Second)
	for sim.Stats().Unbinds != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("simulator saw no unbind: %+v", sim.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMetricNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	smpp.NewLink(smpp.LinkOptions{Name: "a", Metrics: smpp.NewLinkMetrics(reg)})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, mf := range mfs {
		got[mf.GetName()] = true
	}
	for _, n := range []string{"smsgate_smpp_link_up", "smsgate_smpp_submits_total", "smsgate_smpp_delivers_total", "smsgate_smpp_binds_total"} {
		if !got[n] {
			t.Errorf("metric %s not registered (have %v)", n, got)
		}
	}
}

func BenchmarkLinkSubmit(b *testing.B) {
	sim := startSim(b, smsctest.Options{KeepMessages: 1000})
	lo := linkOpts(sim)
	lo.Window = 64
	lo.OnDeliver = func(context.Context, *smpp.Deliver) error { return nil }
	l := smpp.NewLink(lo)
	runLink(b, l, true)
	ctx := context.Background()
	r := &smpp.SubmitRequest{Source: "61400000000", Dest: "61412345678", Payload: []byte("benchmark message"), RegisteredDelivery: true}
	b.SetParallelism(16)
	w0 := writeSyscalls(b)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Submit(ctx, r); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	// The link's writes and the simulator's (in this process too): the
	// link writes the submits of concurrent senders together.
	b.ReportMetric(float64(writeSyscalls(b)-w0)/float64(b.N), "writes/submit")
}

// writeSyscalls is this process's write system calls so far (Linux's
// /proc/self/io; 0 elsewhere).
func writeSyscalls(tb testing.TB) int64 {
	tb.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// TestReceiptRedelivered: a receipt the ESME refuses (its handler failed:
// not yet durable) is sent again by the simulator, as an SMSC does, until
// it is acknowledged; it is not lost.
func TestReceiptRedelivered(t *testing.T) {
	sim := startSim(t, smsctest.Options{})
	got := make(delivers, 4)
	var refused atomic.Int32
	lo := linkOpts(sim)
	lo.OnDeliver = func(ctx context.Context, d *smpp.Deliver) error {
		if refused.Add(1) <= 2 {
			return errors.New("not durable yet")
		}
		return got.on(ctx, d)
	}
	l := smpp.NewLink(lo)
	runLink(t, l, true)
	if _, err := submitText(testCtx(t), l, "Acme", "61412345678", "receipt please", 1, true); err != nil {
		t.Fatal(err)
	}
	if d := got.next(t); d.Receipt == nil || d.Receipt.Stat != "DELIVRD" {
		t.Fatalf("deliver %+v, want the receipt", d)
	}
	if st := sim.Stats(); st.Receipts != 1 || st.Redelivered != 2 {
		t.Fatalf("sim stats %+v: want 1 receipt sent 3 times (2 redeliveries)", st)
	}
}

// TestSubmitResponseBeforeReceipt: OnSubmitResponse hears of every part
// the SMSC took, with the id it gave, before a receipt for that part that
// follows on the same session reaches OnDeliver (the simulator sends it
// right after the response); a refused submit is not announced.
func TestSubmitResponseBeforeReceipt(t *testing.T) {
	sim := startSim(t, smsctest.Options{Rules: []smsctest.Rule{{Suffix: "99", Status: 0x0B}}})
	var mu sync.Mutex
	taken := map[string]bool{}
	var early []string
	receipts := make(chan string, 100)
	lo := linkOpts(sim)
	lo.OnSubmitResponse = func(link, id string) {
		mu.Lock()
		defer mu.Unlock()
		if link != "test" {
			t.Errorf("OnSubmitResponse for link %q", link)
		}
		taken[id] = true
	}
	lo.OnDeliver = func(_ context.Context, d *smpp.Deliver) error {
		if d.Receipt != nil {
			mu.Lock()
			if !taken[d.Receipt.ID] {
				early = append(early, d.Receipt.ID)
			}
			mu.Unlock()
			receipts <- d.Receipt.ID
		}
		return nil
	}
	l := smpp.NewLink(lo)
	runLink(t, l, true)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			if _, err := submitText(ctx, l, "Acme", fmt.Sprintf("614123456%02d", i), "hi", 1, true); err != nil {
				t.Errorf("submit %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if _, err := submitText(ctx, l, "Acme", "61412345699", "refused", 1, true); err == nil {
		t.Fatal("the rule's refusal did not come")
	}
	for range 40 {
		select {
		case <-receipts:
		case <-ctx.Done():
			t.Fatal("receipts missing")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(early) > 0 {
		t.Errorf("receipts for %v reached OnDeliver before their submit's response was announced", early)
	}
	if len(taken) != 40 {
		t.Errorf("%d parts announced, want the 40 taken (not the refused one)", len(taken))
	}
}

// TestDeliverAsync: with OnDeliverAsync, deliver_sm reach the handler on
// the reader without waiting for earlier ones to be answered (more than the
// 32 goroutines OnDeliver has), at most 256 of them unanswered at a time;
// each resp goes out when its done is called (a second call is ignored),
// and one answered with an error comes again.
func TestDeliverAsync(t *testing.T) {
	const n = 300
	sim := startSim(t, smsctest.Options{})
	type call struct {
		d    *smpp.Deliver
		done func(error)
	}
	calls := make(chan call, 2*n)
	var open, most atomic.Int32
	lo := linkOpts(sim)
	lo.OnDeliverAsync = func(_ context.Context, d *smpp.Deliver, done func(error)) {
		o := open.Add(1)
		for m := most.Load(); o > m && !most.CompareAndSwap(m, o); m = most.Load() {
		}
		calls <- call{d, func(err error) { open.Add(-1); done(err) }}
	}
	l := smpp.NewLink(lo)
	runLink(t, l, true)
	ctx := testCtx(t)
	// Submitted while receipts are answered: the reader, waiting at 256
	// unanswered, would not read the submits' responses either.
	submitted := make(chan error, 1)
	go func() {
		for i := range n {
			if _, err := submitText(ctx, l, "Acme", "614123"+strconv.Itoa(10000+i), "receipt please", 1, true); err != nil {
				submitted <- err
				return
			}
		}
		submitted <- nil
	}()
	// Hold every done until 33 are open at once: OnDeliver's goroutines
	// would have stopped the reader at 32.
	var held []call
	for len(held) < 33 {
		select {
		case c := <-calls:
			if c.d.Receipt == nil {
				t.Fatalf("deliver %+v, want a receipt", c.d)
			}
			held = append(held, c)
		case <-ctx.Done():
			t.Fatalf("%d receipts reached the handler unanswered, want 33", len(held))
		}
	}
	held[0].done(errors.New("not durable yet"))
	for _, c := range held[1:] {
		c.done(nil)
		c.done(errors.New("a second answer")) // ignored
	}
	// The rest, and the refused one again.
	for got := len(held); got < n+1; got++ {
		select {
		case c := <-calls:
			c.done(nil)
		case <-ctx.Done():
			t.Fatalf("%d deliver_sm reached the handler, want %d (300 receipts, one twice)", got, n+1)
		}
	}
	if err := <-submitted; err != nil {
		t.Fatal(err)
	}
	if m := most.Load(); m > 256 {
		t.Errorf("%d deliver_sm awaited their done at once, want at most 256", m)
	}
	if st := sim.Stats(); st.Receipts != n || st.Redelivered != 1 {
		t.Errorf("sim stats %+v: want %d receipts, one sent again", st, n)
	}
}
