package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// yardstick relates every process's CPU in a run to the load generator's
// (self). The generator does the same work for every mail in every run, so
// its CPU a message moves only with the machine's speed at the moment: on a
// shared machine whose speed swings by a fifth within minutes, the ratios
// follow the code under test and not the machine's phase. They compare
// builds that answer the client alike (a server that answered each
// pipelined command in its own write would make the generator read more,
// and so seem cheaper beside it). It returns the line to print and the
// RESULT fields (rel.<process>=<ratio>); nothing when the generator's CPU
// is unknown or zero.
func yardstick(cpu map[string]float64, self string) (line string, fields []string) {
	base := cpu[self]
	if base <= 0 {
		return "", nil
	}
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(cpu)) {
		if name == self {
			continue
		}
		r := cpu[name] / base
		parts = append(parts, fmt.Sprintf("%s %.2fx", name, r))
		fields = append(fields, fmt.Sprintf("rel.%s=%.2f", name, r))
	}
	if len(parts) == 0 {
		return "", nil
	}
	return fmt.Sprintf("%-19s %s the load generator's CPU (its work a mail is the same in every run: the ratios follow the code, not the machine's speed)", "yardstick", strings.Join(parts, ", ")), fields
}
