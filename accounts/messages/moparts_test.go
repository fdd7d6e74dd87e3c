package messages_test

import (
	"sync"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

// TestMOParts: parts in any order, duplicated, from concurrent handlers:
// the reply completes exactly once with every part; a late duplicate of a
// delivered reply is dropped; an incomplete one is taken after the wait.
func TestMOParts(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	ctx := t.Context()
	ttl := time.Minute
	part := func(seq int, body string) accounts.MOPart {
		return accounts.MOPart{From: "61412345678", To: "61480000000", Ref: 0x1234, Total: 3, Seq: seq, Coding: 0, Body: []byte(body)}
	}
	var mu sync.Mutex
	var completed []*accounts.MOAssembly
	var wg sync.WaitGroup
	for _, p := range []accounts.MOPart{part(3, "ccc"), part(1, "aaa"), part(3, "ccc"), part(2, "bbb"), part(1, "aaa")} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := s.AddMOPart(ctx, p, ttl)
			if err != nil {
				t.Error(err)
				return
			}
			if a != nil {
				mu.Lock()
				completed = append(completed, a)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(completed) != 1 {
		t.Fatalf("%d completions, want exactly 1", len(completed))
	}
	body, missing := completed[0].Joined()
	if string(body) != "aaabbbccc" || len(missing) != 0 {
		t.Fatalf("joined %q missing %v", body, missing)
	}
	// A duplicate of a part of the delivered reply starts nothing.
	if a, err := s.AddMOPart(ctx, part(2, "bbb"), ttl); err != nil || a != nil {
		t.Fatalf("late duplicate: %v, %v", a, err)
	}
	if got, _ := s.TakeIncompleteMO(ctx, time.Now().Add(time.Hour), 10, ttl); len(got) != 0 {
		t.Fatalf("late duplicate left an assembly: %+v", got)
	}
	// An incomplete reply (another reference): taken once, with its gap.
	inc := accounts.MOPart{From: "61412345678", To: "61480000000", Ref: 7, Total: 3, Seq: 1, Body: []byte("first ")}
	if _, err := s.AddMOPart(ctx, inc, ttl); err != nil {
		t.Fatal(err)
	}
	inc.Seq, inc.Body = 3, []byte("third")
	if _, err := s.AddMOPart(ctx, inc, ttl); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.TakeIncompleteMO(ctx, time.Now().Add(-time.Minute), 10, ttl); len(got) != 0 {
		t.Fatalf("taken before the wait: %+v", got)
	}
	got, err := s.TakeIncompleteMO(ctx, time.Now().Add(time.Second), 10, ttl)
	if err != nil || len(got) != 1 {
		t.Fatalf("take: %+v, %v", got, err)
	}
	body, missing = got[0].Joined()
	if string(body) != "first third" || len(missing) != 1 || missing[0] != 2 {
		t.Fatalf("incomplete: %q missing %v", body, missing)
	}
	// Part 2 arriving afterwards is a duplicate of a delivered reply.
	inc.Seq, inc.Body = 2, []byte("second ")
	if a, _ := s.AddMOPart(ctx, inc, ttl); a != nil {
		t.Fatalf("a part after the incomplete delivery completed it again")
	}
	if got, _ := s.TakeIncompleteMO(ctx, time.Now().Add(time.Hour), 10, ttl); len(got) != 0 {
		t.Fatalf("taken twice: %+v", got)
	}
}
