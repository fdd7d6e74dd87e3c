package storetest

import (
	"sync/atomic"
	"testing"
	"time"
)

// MsgTestClock returns a clock that advances one second per call, so that
// every accepted message has its own creation time.
func MsgTestClock() func() time.Time {
	var n atomic.Int64
	base := time.UnixMilli(1_700_000_000_000)
	return func() time.Time { return base.Add(time.Duration(n.Add(1)) * time.Second) }
}

// QueryTestPages pages through a query to the end and returns every id.
func QueryTestPages[T any](t *testing.T, page func(cursor string) ([]*T, string, error), idOf func(*T) string) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for range 10000 { // bounded: a cursor that never ends fails the test
		items, next, err := page(cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			ids = append(ids, idOf(it))
		}
		if next == "" {
			return ids
		}
		if next == cursor {
			t.Fatalf("cursor %q does not advance", next)
		}
		cursor = next
	}
	t.Fatal("paging did not end")
	return nil
}
