package main

import (
	"slices"
	"strings"
	"testing"
)

func TestYardstick(t *testing.T) {
	line, fields := yardstick(map[string]float64{"smsgate-bench": 2, "smsgate": 5.3, "redis": 3}, "smsgate-bench")
	if want := []string{"rel.redis=1.50", "rel.smsgate=2.65"}; !slices.Equal(fields, want) {
		t.Fatalf("fields %v, want %v", fields, want)
	}
	if !strings.HasPrefix(line, "yardstick") || !strings.Contains(line, "redis 1.50x, smsgate 2.65x") {
		t.Fatalf("line %q", line)
	}
	// A generator whose CPU is unknown gives no ratios (not infinities).
	if line, fields := yardstick(map[string]float64{"smsgate-bench": 0, "smsgate": 5}, "smsgate-bench"); line != "" || fields != nil {
		t.Fatalf("zero base: %q %v", line, fields)
	}
	if line, _ := yardstick(map[string]float64{"smsgate-bench": 2}, "smsgate-bench"); line != "" {
		t.Fatalf("no other process: %q", line)
	}
}
