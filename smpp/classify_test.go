package smpp

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// TestClassify: each submit outcome gets its metric result, wrapped or not,
// and a successful submit costs no allocation to classify.
func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, resultOK},
		{fmt.Errorf("submit: %w", ErrTimeout), resultTimeout},
		{context.DeadlineExceeded, resultTimeout},
		{fmt.Errorf("submit: %w", ErrLinkDown), resultDown},
		{fmt.Errorf("submit: %w", &StatusError{Status: 0x58}), resultTemporary}, // ESME_RTHROTTLED
		{fmt.Errorf("submit: %w", &StatusError{Status: 0x0B}), resultPermanent}, // ESME_RINVDSTADR
		{errors.New("something else"), resultPermanent},
	}
	for _, tc := range tests {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("classify(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = classify(nil) }); n != 0 {
		t.Errorf("classify(nil): %v allocations, want 0", n)
	}
}
