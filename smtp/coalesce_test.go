package smtp

import (
	"bufio"
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
	conn, err := net.DialTimeout("tcp", h.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
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
