package smtp

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingListener counts the writes of its connections.
type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestPipeliningCoalesced: a client that pipelines MAIL, RCPT and DATA (as
// Postfix and Exchange do) gets the three replies in one write, and the
// final reply of the data in one more; the mail goes through. A client
// that waits for each reply gets each at once (every other test of this
// package runs over the same listener).
func TestPipeliningCoalesced(t *testing.T) {
	var writes atomic.Int64
	h := startOn(t, nil, func(ln net.Listener) net.Listener { return countingListener{ln, &writes} })
	c := dialRaw(t, h.addr)
	conn, r := c.conn, c.r
	// reply reads one reply (all its lines) and returns its last line.
	reply := func() string {
		t.Helper()
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("read reply: %v", err)
			}
			if len(l) < 4 || l[3] != '-' {
				return strings.TrimRight(l, "\r\n")
			}
		}
	}
	write := func(s string) {
		t.Helper()
		if _, err := conn.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	reply() // greeting
	write("EHLO client.test\r\n")
	if !strings.HasPrefix(reply(), "250 ") {
		t.Fatal("EHLO refused")
	}
	for i := range 3 { // a reused session
		before := writes.Load()
		write("MAIL FROM:<jo@a.example>\r\nRCPT TO:<0412345678@sms.test>\r\nDATA\r\n")
		for _, want := range []string{"250 ", "250 ", "354 "} {
			if got := reply(); !strings.HasPrefix(got, want) {
				t.Fatalf("mail %d: reply %q, want %s...", i, got, want)
			}
		}
		if n := writes.Load() - before; n != 1 {
			t.Errorf("mail %d: %d writes for the pipelined MAIL, RCPT and DATA, want 1", i, n)
		}
		before = writes.Load()
		write("From: jo@a.example\r\nTo: 0412345678@sms.test\r\nSubject: x\r\n\r\nhello\r\n.\r\n")
		if got := reply(); !strings.HasPrefix(got, "250 ") {
			t.Fatalf("mail %d: data reply %q", i, got)
		}
		if n := writes.Load() - before; n != 1 {
			t.Errorf("mail %d: %d writes for the data's reply, want 1", i, n)
		}
	}
	write("QUIT\r\n")
	if got := reply(); !strings.HasPrefix(got, "221 ") {
		t.Fatalf("QUIT reply %q", got)
	}
	if n := len(h.pipeline.mails()); n != 3 {
		t.Fatalf("%d mails accepted, want 3", n)
	}
}

// deadlineConn records the deadlines passed on to the connection.
type deadlineConn struct {
	net.Conn
	reads, writes *[]time.Time
}

func (c deadlineConn) SetReadDeadline(t time.Time) error {
	*c.reads = append(*c.reads, t)
	return c.Conn.SetReadDeadline(t)
}

func (c deadlineConn) SetWriteDeadline(t time.Time) error {
	*c.writes = append(*c.writes, t)
	return c.Conn.SetWriteDeadline(t)
}

// TestLazyDeadlines: a deadline within a second before the one in force is
// not passed on; one later (or much earlier) is, a second later than
// asked; clearing is passed on once.
func TestLazyDeadlines(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	var reads, writes []time.Time
	c := &coalescingConn{Conn: deadlineConn{a, &reads, &writes}}
	t0 := time.Now()
	steps := []struct {
		at   time.Duration // asked: t0 + at, or zero when -1
		pass bool
	}{
		{0, true}, {500 * time.Millisecond, false}, {time.Second, false},
		{1500 * time.Millisecond, true}, {2 * time.Second, false}, {-10 * time.Second, true},
		{-1, true}, {-1, false}, {3 * time.Second, true},
	}
	var want []time.Time
	for i, st := range steps {
		ask := time.Time{}
		if st.at != -1 {
			ask = t0.Add(st.at)
		}
		if err := c.SetReadDeadline(ask); err != nil {
			t.Fatal(err)
		}
		if st.pass {
			if !ask.IsZero() {
				ask = ask.Add(deadlineSlack)
			}
			want = append(want, ask)
		}
		if len(reads) != len(want) || !reads[len(reads)-1].Equal(want[len(want)-1]) {
			t.Fatalf("step %d (%v): deadlines passed on %v, want %v", i, st.at, reads, want)
		}
	}
	if err := c.SetDeadline(t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if len(writes) != 1 || !writes[0].Equal(t0.Add(time.Minute+deadlineSlack)) || len(reads) != len(want)+1 {
		t.Errorf("SetDeadline passed on reads %v, writes %v", reads, writes)
	}
}

// TestReadTimeoutLazy: an idle session still times out, within its read
// timeout and a second more, though its deadlines are passed on lazily.
func TestReadTimeoutLazy(t *testing.T) {
	h := start(t, func(o *Options) { o.ReadTimeout = 300 * time.Millisecond })
	r := dialRaw(t, h.addr).r
	start := time.Now()
	if _, err := r.ReadString('\n'); err != nil { // the greeting
		t.Fatal(err)
	}
	for {
		if _, err := r.ReadString('\n'); err != nil {
			break // closed by the server (or the 10 s bound)
		}
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 300*time.Millisecond+deadlineSlack+time.Second {
		t.Errorf("idle session closed after %v, want 300ms..%v", d, 300*time.Millisecond+deadlineSlack)
	}
}
