package smpp_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/smsgate/smsgate/smpp"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// TestThrottleSlowsTheLink: ESME_RTHROTTLED answers widen a link-wide gap
// between submits (every caller waits, not only the throttled one), and the
// gap shrinks again while the SMSC accepts.
func TestThrottleSlowsTheLink(t *testing.T) {
	sim := startSim(t, smsctest.Options{Rules: []smsctest.Rule{{Suffix: "", Status: 0x58, Times: 3}}})
	l := smpp.NewLink(linkOpts(sim))
	runLink(t, l, true)
	ctx := testCtx(t)
	for i := range 3 {
		if _, err := l.Submit(ctx, &smpp.SubmitRequest{Dest: fmt.Sprintf("6140000000%d", i), Payload: []byte("t")}); err == nil {
			t.Fatalf("submit %d accepted, want throttled", i)
		}
	}
	gap := l.Status().ThrottleGap
	if gap < 80*time.Millisecond {
		t.Fatalf("gap after 3 throttles %v, want >= 80ms (20, 40, 80)", gap)
	}
	// The next submits are paced: 5 submits take at least 4 gaps, minus
	// what the recovery takes off.
	start := time.Now()
	for i := range 5 {
		if _, err := l.Submit(ctx, &smpp.SubmitRequest{Dest: fmt.Sprintf("6140000001%d", i), Payload: []byte("ok")}); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < 3*gap/2 {
		t.Fatalf("5 submits took %v with a gap of %v: the link was not slowed", took, gap)
	}
	// Recovery: the gap shrinks without throttling.
	deadline := time.Now().Add(8 * time.Second)
	for l.Status().ThrottleGap != 0 && time.Now().Before(deadline) {
		if _, err := l.Submit(ctx, &smpp.SubmitRequest{Dest: "61400000099", Payload: []byte("r")}); err != nil {
			t.Fatal(err)
		}
	}
	if g := l.Status().ThrottleGap; g != 0 {
		t.Fatalf("gap %v after 8s without throttling, want 0", g)
	}
}
