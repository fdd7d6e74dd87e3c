package smpp_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smsgate/smsgate/smpp"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// asyncResult is what SubmitAsync's done was called with.
type asyncResult struct {
	id  string
	err error
}

// submitAsync calls SubmitAsync; when it took the submit, the result is
// delivered on the returned channel (closed after one result). A second
// call of done fails the test.
func submitAsync(t *testing.T, ctx context.Context, l *smpp.Link, r *smpp.SubmitRequest) (<-chan asyncResult, bool) {
	t.Helper()
	ch := make(chan asyncResult, 1)
	calls := 0
	ok := l.SubmitAsync(ctx, r, func(id string, err error) {
		calls++
		if calls > 1 {
			t.Errorf("done called %d times", calls)
			return
		}
		ch <- asyncResult{id, err}
		close(ch)
	})
	return ch, ok
}

// awaitResult waits, at most 10s, for done's call.
func awaitResult(t *testing.T, ch <-chan asyncResult) asyncResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("done not called within 10s")
		return asyncResult{}
	}
}

// TestSubmitAsyncOutcomes: every outcome Submit reports, SubmitAsync's done
// reports the same way: the id, a status, a late response's id, the outcome
// unknown when an unresponsive session is closed, a response lost on a live
// session.
func TestSubmitAsyncOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sim   smsctest.Options
		opts  func(*smpp.LinkOptions)
		check func(t *testing.T, r asyncResult)
	}{
		{"answered", smsctest.Options{}, nil, func(t *testing.T, r asyncResult) {
			if r.err != nil || r.id == "" {
				t.Fatalf("done(%q, %v), want an id", r.id, r.err)
			}
		}},
		{"refused", smsctest.Options{Rules: []smsctest.Rule{{Suffix: "001", Status: 0x0B}}}, nil, func(t *testing.T, r asyncResult) {
			se, ok := errors.AsType[*smpp.StatusError](r.err)
			if !ok || se.Status != 0x0B || se.Temporary() {
				t.Fatalf("done(%q, %v), want a permanent status 0x0B", r.id, r.err)
			}
		}},
		{"late response", smsctest.Options{RespDelay: 120 * time.Millisecond}, func(o *smpp.LinkOptions) {
			o.ResponseTimeout = 30 * time.Millisecond
			o.TimeoutsBeforeRebind = 10
			o.OutcomeWait = 5 * time.Second
		}, func(t *testing.T, r asyncResult) {
			if r.err != nil || r.id == "" {
				t.Fatalf("done(%q, %v), want the late response's id", r.id, r.err)
			}
		}},
		{"unresponsive", smsctest.Options{Rules: []smsctest.Rule{{Suffix: "", NoResp: true, Times: 1}}}, func(o *smpp.LinkOptions) {
			o.ResponseTimeout = 40 * time.Millisecond
			o.TimeoutsBeforeRebind = 2
			o.OutcomeWait = 10 * time.Second
		}, func(t *testing.T, r asyncResult) {
			if !errors.Is(r.err, smpp.ErrOutcomeUnknown) || errors.Is(r.err, smpp.ErrNoResponse) {
				t.Fatalf("done(%q, %v), want ErrOutcomeUnknown", r.id, r.err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, tc.sim)
			lo := linkOpts(sim)
			if tc.opts != nil {
				tc.opts(&lo)
			}
			l := smpp.NewLink(lo)
			runLink(t, l, true)
			ch, ok := submitAsync(t, testCtx(t), l, &smpp.SubmitRequest{Dest: "61400000001", Payload: []byte("a")})
			if !ok {
				t.Fatal("SubmitAsync did not take a submit on an idle link")
			}
			tc.check(t, awaitResult(t, ch))
			if st := sim.Stats(); st.Submits != 1 {
				t.Fatalf("sim stats %+v, want one submit", st)
			}
			// The window slot is free again: the next one goes at once (on
			// a new session where the old one was closed).
			deadline := time.Now().Add(5 * time.Second)
			for {
				ch, ok = submitAsync(t, testCtx(t), l, &smpp.SubmitRequest{Dest: "61400000002", Payload: []byte("b")})
				if ok || time.Now().After(deadline) {
					break
				}
				time.Sleep(5 * time.Millisecond) // the rebind: nothing to await on
			}
			if !ok {
				t.Fatalf("SubmitAsync did not take a second submit: the window slot was not released (%+v)", l.Status())
			}
			if r := awaitResult(t, ch); r.err != nil {
				t.Fatalf("second submit: %v", r.err)
			}
		})
	}
}

// TestSubmitAsyncLostResponse: a response lost while the session answers
// others is ErrNoResponse after OutcomeWait, as for Submit.
func TestSubmitAsyncLostResponse(t *testing.T) {
	sim := startSim(t, smsctest.Options{Rules: []smsctest.Rule{{Suffix: "001", NoResp: true}}})
	lo := linkOpts(sim)
	lo.ResponseTimeout = 30 * time.Millisecond
	lo.TimeoutsBeforeRebind = 20
	lo.OutcomeWait = 300 * time.Millisecond
	l := smpp.NewLink(lo)
	runLink(t, l, true)
	ch, ok := submitAsync(t, testCtx(t), l, &smpp.SubmitRequest{Dest: "61400000001", Payload: []byte("lost")})
	if !ok {
		t.Fatal("SubmitAsync did not take the submit")
	}
	for i := range 5 { // answered: the session is alive
		if _, err := l.Submit(testCtx(t), &smpp.SubmitRequest{Dest: "6140000010" + string(rune('0'+i)), Payload: []byte("ok")}); err != nil {
			t.Fatal(err)
		}
	}
	if r := awaitResult(t, ch); !errors.Is(r.err, smpp.ErrNoResponse) {
		t.Fatalf("done(%q, %v), want ErrNoResponse", r.id, r.err)
	}
	if st := sim.Stats(); st.Binds != 1 {
		t.Fatalf("sim stats %+v: the session must stay", st)
	}
}

// TestSubmitAsyncDeclines: SubmitAsync takes nothing, and never calls done,
// when Submit would have to wait: no session, the window full, throttled;
// and a caller whose ctx ends learns it at once while the window slot stays
// taken until the SMSC answers.
func TestSubmitAsyncDeclines(t *testing.T) {
	never := func(string, error) { t.Error("done called for a submit SubmitAsync declined") }
	r := func(dest string) *smpp.SubmitRequest { return &smpp.SubmitRequest{Dest: dest, Payload: []byte("d")} }

	t.Run("no session", func(t *testing.T) {
		sim := startSim(t, smsctest.Options{})
		l := smpp.NewLink(linkOpts(sim))
		if l.SubmitAsync(testCtx(t), r("61400000001"), never) {
			t.Fatal("SubmitAsync took a submit on a link never bound")
		}
	})

	t.Run("window full, then the caller gives up", func(t *testing.T) {
		sim := startSim(t, smsctest.Options{RespDelay: 200 * time.Millisecond})
		lo := linkOpts(sim)
		lo.Window = 1
		l := smpp.NewLink(lo)
		runLink(t, l, true)
		short, cancel := context.WithCancel(testCtx(t))
		ch, ok := submitAsync(t, short, l, r("61400000001"))
		if !ok {
			t.Fatal("SubmitAsync did not take the first submit")
		}
		if l.SubmitAsync(testCtx(t), r("61400000002"), never) {
			t.Fatal("SubmitAsync took a submit past the window")
		}
		start := time.Now()
		cancel()
		if res := awaitResult(t, ch); !errors.Is(res.err, context.Canceled) {
			t.Fatalf("done(%q, %v), want context.Canceled", res.id, res.err)
		}
		if d := time.Since(start); d > 150*time.Millisecond {
			t.Fatalf("done learnt of the cancel after %v, not at once", d)
		}
		// Still outstanding at the SMSC: the slot is not free yet.
		if l.SubmitAsync(testCtx(t), r("61400000003"), never) {
			t.Fatal("SubmitAsync took a submit while the given-up one was unanswered")
		}
		// Submit waits for the slot the SMSC's answer frees.
		if _, err := l.Submit(testCtx(t), r("61400000004")); err != nil {
			t.Fatal(err)
		}
		if st := sim.Stats(); st.MaxInFlight != 1 || st.Submits != 2 {
			t.Fatalf("sim stats %+v, want 2 submits, at most 1 in flight", st)
		}
	})

	t.Run("throttled", func(t *testing.T) {
		sim := startSim(t, smsctest.Options{Rules: []smsctest.Rule{{Suffix: "98", Status: 0x58, Times: 1}}})
		l := smpp.NewLink(linkOpts(sim))
		runLink(t, l, true)
		ch, ok := submitAsync(t, testCtx(t), l, r("61400000098"))
		if !ok {
			t.Fatal("SubmitAsync did not take the submit")
		}
		if res := awaitResult(t, ch); res.err == nil {
			t.Fatal("done without the throttling status")
		}
		if l.SubmitAsync(testCtx(t), r("61400000097"), never) {
			t.Fatal("SubmitAsync took a submit while the link is slowed")
		}
		if st := l.Status(); st.ThrottleGap == 0 {
			t.Fatalf("link status %+v: no throttle gap after ESME_RTHROTTLED", st)
		}
	})

	t.Run("rate limit", func(t *testing.T) {
		sim := startSim(t, smsctest.Options{})
		lo := linkOpts(sim)
		lo.Window, lo.Rate = 5, 1 // a burst of 5, then one a second
		l := smpp.NewLink(lo)
		runLink(t, l, true)
		var took int
		for i := range 6 {
			ch, ok := submitAsync(t, testCtx(t), l, r("6140000000"+string(rune('1'+i))))
			if !ok {
				break
			}
			took++
			if res := awaitResult(t, ch); res.err != nil {
				t.Fatal(res.err)
			}
		}
		if took != 5 {
			t.Fatalf("SubmitAsync took %d submits at once, want the burst of 5", took)
		}
	})
}

// TestSubmitAsyncSessionLost: the connection drops while a submit awaits
// its response: done learns at once that the outcome is unknown (it was
// sent), not after ResponseTimeout.
func TestSubmitAsyncSessionLost(t *testing.T) {
	sim := startSim(t, smsctest.Options{Rules: []smsctest.Rule{{Suffix: "001", NoResp: true}}})
	lo := linkOpts(sim) // ResponseTimeout 3s
	l := smpp.NewLink(lo)
	runLink(t, l, true)
	ch, ok := submitAsync(t, testCtx(t), l, &smpp.SubmitRequest{Dest: "61400000001", Payload: []byte("x")})
	if !ok {
		t.Fatal("SubmitAsync did not take the submit")
	}
	for sim.Stats().Submits < 1 { // at the SMSC, unanswered
		select {
		case <-testCtx(t).Done():
			t.Fatal("the submit never reached the simulator")
		case <-time.After(time.Millisecond):
		}
	}
	start := time.Now()
	_ = sim.Close()
	r := awaitResult(t, ch)
	if !errors.Is(r.err, smpp.ErrOutcomeUnknown) {
		t.Fatalf("done(%q, %v), want ErrOutcomeUnknown", r.id, r.err)
	}
	if d := time.Since(start); d >= lo.ResponseTimeout/2 {
		t.Fatalf("done learnt of the lost session after %v, not when it ended", d)
	}
}
