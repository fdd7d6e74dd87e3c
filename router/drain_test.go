package router

import "testing"

// TestDrainReady: what the channel holds is taken up to max, after what b
// had; a dry or closed channel ends the batch.
func TestDrainReady(t *testing.T) {
	ch := make(chan int, 10)
	for i := range 5 {
		ch <- i
	}
	if got := drainReady(ch, []int{-1}, 4); len(got) != 4 || got[0] != -1 || got[3] != 2 {
		t.Fatalf("up to 4: %v, want [-1 0 1 2]", got)
	}
	if got := drainReady(ch, nil, 10); len(got) != 2 || got[0] != 3 || got[1] != 4 {
		t.Fatalf("the rest: %v, want [3 4]", got)
	}
	ch <- 5
	close(ch)
	if got := drainReady(ch, nil, 10); len(got) != 1 || got[0] != 5 {
		t.Fatalf("closed: %v, want [5]", got)
	}
}
