package router

import "runtime"

// drainReady appends to b what ch holds, up to max elements in b. When ch
// runs dry it lets the goroutines that are ready run once (their sends, woken
// together with this goroutine, would otherwise each make a batch of their
// own) and takes what they added. It stops at a closed ch too.
func drainReady[T any](ch <-chan T, b []T, max int) []T {
	yielded := false
	for len(b) < max {
		select {
		case v, ok := <-ch:
			if !ok {
				return b
			}
			b = append(b, v)
		default:
			if yielded {
				return b
			}
			yielded = true
			runtime.Gosched()
		}
	}
	return b
}
