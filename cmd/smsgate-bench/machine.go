package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"
)

// The machine's reference figures: what a system call and a wake-up of
// another process cost here. A gateway's CPU per message is mostly made of
// both (socket reads and writes, processes and threads woken for each
// reply), and they differ several times between machines (virtualization,
// page-table isolation), so figures of two runs compare only when these
// do. Each is the median of five measurements.

// machineRef measures, in microseconds, one system call (getppid) and one
// round trip of a byte between this process and a child over two pipes
// (each side blocked in read until the other writes: two wake-ups).
func machineRef() (syscallUS, roundTripUS float64, err error) {
	const calls, trips = 200000, 5000
	var sys, rt []float64
	for range 5 {
		t := time.Now()
		for range calls {
			syscall.Getppid()
		}
		sys = append(sys, float64(time.Since(t).Microseconds())/calls)
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, 0, err
	}
	var down, up [2]int // down: to the child; up: back
	if err := syscall.Pipe2(down[:], syscall.O_CLOEXEC); err != nil {
		return 0, 0, fmt.Errorf("pipe: %w", err)
	}
	if err := syscall.Pipe2(up[:], syscall.O_CLOEXEC); err != nil {
		return 0, 0, fmt.Errorf("pipe: %w", err)
	}
	cmd := exec.Command(exe, "-echo")
	cmd.ExtraFiles = []*os.File{os.NewFile(uintptr(down[0]), "down"), os.NewFile(uintptr(up[1]), "up")}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	syscall.Close(down[0])
	syscall.Close(up[1])
	// Bounded: a child that stops answering is killed, which ends the read.
	stop := time.AfterFunc(time.Minute, func() { _ = cmd.Process.Kill() })
	defer stop.Stop()
	b := []byte{1}
	for range 5 {
		t := time.Now()
		for range trips {
			if _, err := syscall.Write(down[1], b); err != nil {
				return 0, 0, fmt.Errorf("write: %w", err)
			}
			if n, err := syscall.Read(up[0], b); n != 1 {
				return 0, 0, fmt.Errorf("read: %d bytes, %v", n, err)
			}
		}
		rt = append(rt, float64(time.Since(t).Microseconds())/trips)
	}
	syscall.Close(down[1])
	syscall.Close(up[0])
	if err := cmd.Wait(); err != nil {
		return 0, 0, fmt.Errorf("echo child: %w", err)
	}
	slices.Sort(sys)
	slices.Sort(rt)
	return sys[2], rt[2], nil
}

// echo is the child of machineRef: it sends back every byte that comes on
// fd 3, on fd 4, until fd 3 ends.
func echo() int {
	b := make([]byte, 1)
	for {
		n, err := syscall.Read(3, b)
		if err == syscall.EINTR {
			continue
		}
		if n <= 0 {
			return 0
		}
		if _, err := syscall.Write(4, b); err != nil {
			return 1
		}
	}
}
