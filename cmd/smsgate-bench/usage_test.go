package main

import (
	"os"
	"testing"
)

// TestReadUsage: a process's write system calls are counted (each write
// to a pipe is one), as are its threads' context switches, and since
// gives the difference.
func TestReadUsage(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	before := readUsage(os.Getpid())
	for range 100 {
		if _, err := w.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	u := readUsage(os.Getpid()).since(before)
	if u.writes < 100 || u.writes > 1000 {
		t.Errorf("%v write system calls counted for 100 writes", u.writes)
	}
	if !u.switchesSeen {
		t.Error("no thread's context switches read")
	}
	if got := u.perMessage(100); got == "" {
		t.Error("no description")
	}
}
