package smpp_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsgate/smsgate/smpp"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// TestPairBind: a carrier that refuses transceivers is served by a
// transmitter and a receiver: submits go over the first, receipts and
// replies come over the second; a transceiver link never binds there.
func TestPairBind(t *testing.T) {
	sim := startSim(t, smsctest.Options{RequirePair: true})
	lo := linkOpts(sim)
	lo.Pair = true
	var receipts, mos atomic.Int32
	lo.OnDeliver = func(_ context.Context, d *smpp.Deliver) error {
		if d.Receipt != nil {
			receipts.Add(1)
		} else {
			mos.Add(1)
		}
		return nil
	}
	l := smpp.NewLink(lo)
	runLink(t, l, true)
	ctx := testCtx(t)
	deadline := time.Now().Add(5 * time.Second)
	for !l.Status().ReceiverUp && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st := l.Status(); !st.Up || !st.ReceiverUp || !st.Pair {
		t.Fatalf("status %+v: want transmitter and receiver up", st)
	}
	if _, err := l.Submit(ctx, &smpp.SubmitRequest{Dest: "61400000001", Payload: []byte("pair"), RegisteredDelivery: true}); err != nil {
		t.Fatal(err)
	}
	if err := sim.InjectMO(ctx, smsctest.MO{Source: "61400000001", Dest: "61480000000", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	for (receipts.Load() == 0 || mos.Load() == 0) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if receipts.Load() != 1 || mos.Load() != 1 {
		t.Fatalf("receipts %d, replies %d: want both over the receiver", receipts.Load(), mos.Load())
	}
	if st := sim.Stats(); st.Binds != 2 {
		t.Fatalf("sim stats %+v: want two binds (transmitter, receiver)", st)
	}

	// A transceiver against the same carrier is refused.
	trx := smpp.NewLink(linkOpts(sim))
	tctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = trx.Run(tctx) }()
	for trx.Status().BindAttempts == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st := trx.Status(); st.Up || st.LastError == "" {
		t.Fatalf("transceiver status %+v: want refused", st)
	}
	cancel()
	<-done
}
