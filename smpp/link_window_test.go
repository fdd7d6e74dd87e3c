package smpp_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/smsgate/smsgate/smpp"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

func TestWindow(t *testing.T) {
	sim := startSim(t, smsctest.Options{RespDelay: 20 * time.Millisecond})
	lo := linkOpts(sim)
	lo.Window = 3
	l := smpp.NewLink(lo)
	runLink(t, l, true)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, 15)
	for i := range 15 {
		wg.Go(func() {
			_, err := l.Submit(ctx, &smpp.SubmitRequest{Dest: "614000000" + strconv.Itoa(10+i), Payload: []byte("w")})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st := sim.Stats(); st.MaxInFlight > 3 || st.MaxInFlight < 1 || st.Submits != 15 {
		t.Fatalf("sim stats %+v, want at most 3 in flight", st)
	}
}

func TestRateLimit(t *testing.T) {
	sim := startSim(t, smsctest.Options{})
	lo := linkOpts(sim)
	lo.Window, lo.Rate = 2, 100
	l := smpp.NewLink(lo)
	runLink(t, l, true)
	ctx := testCtx(t)
	start := time.Now()
	for range 6 { // burst of 2, then 4 more at 100/s: at least ~40ms
		if _, err := l.Submit(ctx, &smpp.SubmitRequest{Dest: "61400000001", Payload: []byte("r")}); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("6 submits at 100/s with burst 2 took %v", d)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Submit(cctx, &smpp.SubmitRequest{Dest: "61400000001", Payload: []byte("r")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Submit with a cancelled context: %v", err)
	}
}

// TestWindowHeldAfterCancel: a caller that gives up does not free its window
// slot before the SMSC has answered, so the SMSC never sees more than Window.
func TestWindowHeldAfterCancel(t *testing.T) {
	sim := startSim(t, smsctest.Options{RespDelay: 60 * time.Millisecond})
	lo := linkOpts(sim)
	lo.Window = 1
	l := smpp.NewLink(lo)
	runLink(t, l, true)
	short, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	r := &smpp.SubmitRequest{Dest: "61400000001", Payload: []byte("w")}
	if _, err := l.Submit(short, r); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Submit: %v, want deadline exceeded", err)
	}
	if _, err := l.Submit(testCtx(t), r); err != nil {
		t.Fatal(err)
	}
	if st := sim.Stats(); st.MaxInFlight != 1 || st.Submits != 2 {
		t.Fatalf("sim stats %+v, want 1 in flight at most", st)
	}
}

// TestLateResponseMatched: a response that comes after ResponseTimeout is
// still matched: the submit returns its id, nothing is sent twice.
func TestLateResponseMatched(t *testing.T) {
	sim := startSim(t, smsctest.Options{RespDelay: 120 * time.Millisecond})
	lo := linkOpts(sim)
	lo.ResponseTimeout = 30 * time.Millisecond
	lo.TimeoutsBeforeRebind = 10 // silent for 300ms would be unresponsive: 120ms is only slow
	lo.OutcomeWait = 5 * time.Second
	l := smpp.NewLink(lo)
	runLink(t, l, true)
	id, err := l.Submit(testCtx(t), &smpp.SubmitRequest{Dest: "61400000001", Payload: []byte("t")})
	if err != nil || id == "" {
		t.Fatalf("Submit: %q, %v, want the late response's id", id, err)
	}
	if st := sim.Stats(); st.Submits != 1 || st.Binds != 1 {
		t.Fatalf("sim stats %+v: want one submit on one bind", st)
	}
}

// TestUnresponsiveRebind: an SMSC silent for TimeoutsBeforeRebind response
// timeouts while submits wait loses its session; each submit learns its
// outcome is unknown (not "link down": it was sent), and the link binds
// again.
func TestUnresponsiveRebind(t *testing.T) {
	sim := startSim(t, smsctest.Options{Rules: []smsctest.Rule{{Suffix: "", NoResp: true, Times: 3}}})
	lo := linkOpts(sim)
	lo.ResponseTimeout = 40 * time.Millisecond
	lo.TimeoutsBeforeRebind = 3
	lo.OutcomeWait = 10 * time.Second
	l := smpp.NewLink(lo)
	runLink(t, l, true)
	errs := make(chan error, 3)
	for i := range 3 {
		go func() {
			_, err := l.Submit(testCtx(t), &smpp.SubmitRequest{Dest: "6140000000" + string(rune('1'+i)), Payload: []byte("u")})
			errs <- err
		}()
	}
	for range 3 {
		err := <-errs
		if !errors.Is(err, smpp.ErrOutcomeUnknown) || errors.Is(err, smpp.ErrNoResponse) || errors.Is(err, smpp.ErrLinkDown) {
			t.Fatalf("Submit: %v, want ErrOutcomeUnknown after the rebind", err)
		}
	}
	// The second bind first, then the link up on it: waiting for "up"
	// first could see the old session before its close was noticed.
	deadline := time.Now().Add(5 * time.Second)
	for sim.Stats().Binds < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st := sim.Stats(); st.Binds != 2 || st.LostResps != 3 {
		t.Fatalf("sim stats %+v: want a second bind after 3 lost responses", st)
	}
	if err := l.WaitUp(testCtx(t), true); err != nil {
		t.Fatal(err)
	}
	// The new session answers.
	if _, err := l.Submit(testCtx(t), &smpp.SubmitRequest{Dest: "61400000009", Payload: []byte("ok")}); err != nil {
		t.Fatal(err)
	}
}

// TestLostResponse: one response lost while the session answers others:
// ErrNoResponse after OutcomeWait, and the session stays.
func TestLostResponse(t *testing.T) {
	sim := startSim(t, smsctest.Options{Rules: []smsctest.Rule{{Suffix: "001", NoResp: true}}})
	lo := linkOpts(sim)
	lo.ResponseTimeout = 30 * time.Millisecond
	lo.TimeoutsBeforeRebind = 20 // the session is not silent long enough to rebind
	lo.OutcomeWait = 300 * time.Millisecond
	l := smpp.NewLink(lo)
	runLink(t, l, true)
	lost := make(chan error, 1)
	go func() {
		_, err := l.Submit(testCtx(t), &smpp.SubmitRequest{Dest: "61400000001", Payload: []byte("lost")})
		lost <- err
	}()
	for i := range 5 { // answered: the session is alive
		if _, err := l.Submit(testCtx(t), &smpp.SubmitRequest{Dest: "6140000010" + string(rune('0'+i)), Payload: []byte("ok")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-lost; !errors.Is(err, smpp.ErrNoResponse) {
		t.Fatalf("lost response: %v, want ErrNoResponse", err)
	}
	if st := sim.Stats(); st.Binds != 1 {
		t.Fatalf("sim stats %+v: the session must stay", st)
	}
}
