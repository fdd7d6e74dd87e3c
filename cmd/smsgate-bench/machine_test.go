package main

import (
	"os"
	"slices"
	"testing"
)

// TestMain lets the test binary be machineRef's child, as the command is.
func TestMain(m *testing.M) {
	if slices.Contains(os.Args[1:], "-echo") {
		os.Exit(echo())
	}
	os.Exit(m.Run())
}

// TestMachineRef: both figures are measured (a child echoes every byte)
// and in the range a computer can give.
func TestMachineRef(t *testing.T) {
	sys, rt, err := machineRef()
	if err != nil {
		t.Fatal(err)
	}
	if sys <= 0 || sys > 1000 || rt <= 0 || rt > 100000 {
		t.Fatalf("a system call %v us, a round trip %v us", sys, rt)
	}
	if rt < sys {
		t.Errorf("a round trip (%v us) cheaper than one system call (%v us): it takes four", rt, sys)
	}
}
