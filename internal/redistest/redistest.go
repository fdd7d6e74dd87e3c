// Package redistest starts a real redis-server for tests: one process per
// call, on a unix socket in the test's temporary directory, killed when the
// test ends. Nothing is mocked.
package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a running redis-server.
type Server struct {
	Socket string // unix socket path
	Addr   string // "unix:" + Socket, usable as smsgate's redis.addr
	Dir    string // data directory
	cmd    *exec.Cmd
	args   []string // redis-server's, for Restart
	bus    int      // cluster bus port, in a cluster
}

// Options adjusts the server; the zero value is an ephemeral server without
// persistence.
type Options struct {
	AOF bool   // appendonly yes, appendfsync always
	Dir string // data directory; a temporary one if empty
	// Port is a TCP port on 127.0.0.1 to listen on too (0: the unix
	// socket only); a replica needs its master on TCP.
	Port int
	// Args are more redis-server arguments ("--replicaof", "127.0.0.1", "6379").
	Args []string
}

// Start starts redis-server and returns a client connected to it. The test
// fails with a message naming the install step when redis-server is not
// installed: a suite that skipped would pass without testing anything.
func Start(t testing.TB) *redis.Client {
	t.Helper()
	s := StartServer(t, Options{})
	return s.Client(t)
}

// StartServer starts redis-server with opts and stops it in t.Cleanup. Like
// Start, it fails the test when redis-server is missing; it never skips.
func StartServer(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found in PATH (%v): install it with "+
			"`apt-get install redis-server`, or run scripts/test.sh, which installs it", err)
	}
	dir := opts.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	// Unix socket paths are limited to about 100 bytes; t.TempDir can be long.
	sockDir, err := os.MkdirTemp("", "rt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "r.sock")
	args := []string{"--port", strconv.Itoa(opts.Port), "--bind", "127.0.0.1", "--unixsocket", sock, "--unixsocketperm", "700",
		"--dir", dir, "--save", "", "--daemonize", "no", "--loglevel", "warning"}
	if opts.AOF {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	args = append(args, opts.Args...)
	cmd := exec.Command(bin, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	s := &Server{Socket: sock, Addr: "unix:" + sock, Dir: dir, cmd: cmd, args: args}
	t.Cleanup(s.Stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := redis.NewClient(&redis.Options{Network: "unix", Addr: sock})
		err := c.Ping(context.Background()).Err()
		c.Close()
		if err == nil {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not answer within 10s: %v\n%s", err, out.String())
		}
		time.Sleep(5 * time.Millisecond) // polling a process we cannot be notified by
	}
}

// Client returns a new client for s, closed in t.Cleanup.
func (s *Server) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: s.Socket})
	t.Cleanup(func() { c.Close() })
	return c
}

// Freeze stops the server's process (SIGSTOP): connections stay open and
// commands wait unanswered in its socket buffers, as in a long stall.
func (s *Server) Freeze() error { return s.cmd.Process.Signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server (SIGCONT); it then runs what waited.
func (s *Server) Thaw() error { return s.cmd.Process.Signal(syscall.SIGCONT) }

// Restart kills the server (SIGKILL: nothing is saved on the way out) and
// starts it again on the same socket and data directory, with more
// arguments appended. It does not wait for the server to answer: one that
// loads a dataset answers LOADING for a while, which is what a caller may
// want to see.
func (s *Server) Restart(args ...string) error {
	s.Stop()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, append(slices.Clone(s.args), args...)...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("restart redis-server: %w", err)
	}
	s.cmd = cmd
	return nil
}

// Stop kills the server and waits for it.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

// String describes the server.
func (s *Server) String() string { return fmt.Sprintf("redis-server at %s", s.Socket) }
