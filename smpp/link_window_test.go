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

func TestResponseTimeout(t *testing.T) {
	sim := startSim(t, smsctest.Options{RespDelay: 300 * time.Millisecond})
	lo := linkOpts(sim)
	lo.ResponseTimeout = 30 * time.Millisecond
	l := smpp.NewLink(lo)
	runLink(t, l, true)
	_, err := l.Submit(testCtx(t), &smpp.SubmitRequest{Dest: "61400000001", Payload: []byte("t")})
	if !errors.Is(err, smpp.ErrTimeout) || !errors.Is(err, smpp.ErrLinkDown) {
		t.Fatalf("Submit: %v, want ErrTimeout (an ErrLinkDown)", err)
	}
}
