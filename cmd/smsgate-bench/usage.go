package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// usage is what a process has used so far: CPU seconds, and the system
// calls and context switches that most of it goes to on a busy gateway.
// Counts per message, unlike CPU time, hardly depend on the machine: they
// tell a change in the software from a change in the machine.
type usage struct {
	cpu          float64 // utime+stime, seconds
	reads        float64 // read-like system calls (read, recvfrom, ...): /proc/<pid>/io syscr
	writes       float64 // write-like system calls: syscw
	switches     float64 // context switches, voluntary and not, of the live threads
	switchesSeen bool
}

// readUsage reads a process's usage from /proc (zero where unreadable).
func readUsage(pid int) usage {
	u := usage{cpu: cpuSeconds(pid)}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid)); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			n, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			switch k {
			case "syscr":
				u.reads = n
			case "syscw":
				u.writes = n
			}
		}
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
				n, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				u.switches += n
				u.switchesSeen = true
			} else if v, ok := strings.CutPrefix(line, "nonvoluntary_ctxt_switches:"); ok {
				n, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				u.switches += n
			}
		}
	}
	return u
}

// since is what the process used between before and u.
func (u usage) since(before usage) usage {
	return usage{cpu: u.cpu - before.cpu, reads: u.reads - before.reads, writes: u.writes - before.writes,
		switches: max(u.switches-before.switches, 0), switchesSeen: u.switchesSeen}
}

// perMessage describes u spread over n messages: "7.1 syscalls (4.2 read,
// 2.9 write), 1.8 context switches a message".
func (u usage) perMessage(n int) string {
	d := float64(max(n, 1))
	s := fmt.Sprintf("%.1f syscalls (%.1f read, %.1f write)", (u.reads+u.writes)/d, u.reads/d, u.writes/d)
	if u.switchesSeen {
		s += fmt.Sprintf(", %.1f context switches", u.switches/d)
	}
	return s + " a message"
}

// cpuSeconds is utime+stime of a process from /proc/<pid>/stat.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100 // USER_HZ is 100 on Linux
}
