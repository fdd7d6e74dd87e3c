package smtp

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rawClient is a bare SMTP connection for writing what real clients write,
// byte for byte.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return &rawClient{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// reply reads one reply and returns its lines.
func (c *rawClient) reply() []string {
	c.t.Helper()
	var lines []string
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read reply: %v (so far %q)", err, lines)
		}
		l = strings.TrimRight(l, "\r\n")
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return lines
		}
	}
}

// expect reads one reply and fails unless its last line starts with want.
func (c *rawClient) expect(want string) string {
	c.t.Helper()
	lines := c.reply()
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, want) {
		c.t.Fatalf("reply %q, want %s...", last, want)
	}
	return last
}

func (c *rawClient) write(s string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// ehlo reads the greeting, says EHLO and returns the extensions offered.
func (c *rawClient) ehlo() map[string]bool {
	c.t.Helper()
	c.expect("220 ")
	c.write("EHLO client.test\r\n")
	offers := map[string]bool{}
	for _, l := range c.reply() {
		if !strings.HasPrefix(l, "250") {
			c.t.Fatalf("EHLO refused: %q", l)
		}
		offers[strings.ToUpper(strings.Fields(l[4:] + " x")[0])] = true
	}
	return offers
}

// TestBDAT: Exchange sends to a server that offers CHUNKING (RFC 3030)
// with BDAT, pipelined with MAIL and RCPT in one write; the message is
// taken byte for byte (no dot-stuffing), in one chunk or several split
// anywhere, and a chunk past the size limit is refused whole with nothing
// accepted and the session still usable.
func TestBDAT(t *testing.T) {
	var writes atomic.Int64
	h := startOn(t, func(o *Options) { o.MaxMessageBytes = 1000 },
		func(ln net.Listener) net.Listener { return countingListener{ln, &writes} })
	c := dialRaw(t, h.addr)
	if offers := c.ehlo(); !offers["CHUNKING"] || !offers["PIPELINING"] {
		t.Fatalf("EHLO offers %v, want CHUNKING and PIPELINING", offers)
	}

	// One chunk, in one write with MAIL and RCPT, as Exchange sends it; a
	// line starting with a dot is data (BDAT has no dot-stuffing).
	msg := "From: jo@a.example\r\nTo: 0412345678@sms.test\r\nSubject: x\r\n\r\n.first line\r\nsecond line\r\n"
	before := writes.Load()
	c.write(fmt.Sprintf("MAIL FROM:<jo@a.example>\r\nRCPT TO:<0412345678@sms.test>\r\nBDAT %d LAST\r\n%s", len(msg), msg))
	c.expect("250 ")
	c.expect("250 ")
	c.expect("250 ")
	if n := writes.Load() - before; n != 1 {
		t.Errorf("%d writes for the three replies of a pipelined BDAT mail, want 1", n)
	}
	mails := h.pipeline.mails()
	if len(mails) != 1 {
		t.Fatalf("%d mails accepted, want 1", len(mails))
	}
	if got, want := mails[0].Text, ".first line\nsecond line"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	if got := mails[0].Recipients; len(got) != 1 || got[0] != "61412345678" {
		t.Errorf("recipients %v", got)
	}

	// Three chunks split inside a header, inside the CRLF ending it and
	// inside the body: the message is their concatenation.
	msg = "From: jo@a.example\r\nTo: 0412345678@sms.test\r\nSubject: y\r\n\r\nchunked text\r\n"
	cut1, cut2 := strings.Index(msg, "Subject")+3, strings.Index(msg, "\r\n\r\n")+1
	c.write("MAIL FROM:<jo@a.example>\r\nRCPT TO:<0412345678@sms.test>\r\n")
	c.expect("250 ")
	c.expect("250 ")
	c.write(fmt.Sprintf("BDAT %d\r\n%s", cut1, msg[:cut1]))
	c.expect("250 ")
	c.write(fmt.Sprintf("BDAT %d\r\n%s", cut2-cut1, msg[cut1:cut2]))
	c.expect("250 ")
	c.write(fmt.Sprintf("BDAT %d LAST\r\n%s", len(msg)-cut2, msg[cut2:]))
	c.expect("250 ")
	mails = h.pipeline.mails()
	if len(mails) != 2 || mails[1].Text != "chunked text" {
		t.Fatalf("after the chunked mail: %d mails, last %+v", len(mails), mails[len(mails)-1])
	}

	// Past the limit: 552 for the chunk, which is read and dropped (its
	// bytes are not taken for commands), and nothing accepted.
	big := "Subject: z\r\n\r\n" + strings.Repeat("MAIL FROM:<x@a.example>\r\n", 60)
	c.write(fmt.Sprintf("MAIL FROM:<jo@a.example>\r\nRCPT TO:<0412345678@sms.test>\r\nBDAT %d LAST\r\n%s", len(big), big))
	c.expect("250 ")
	c.expect("250 ")
	c.expect("552 ")
	// BDAT without a transaction: refused, its chunk skipped.
	c.write("BDAT 6 LAST\r\nRSET\r\n")
	c.expect("502 ")
	// The session goes on.
	c.write(fmt.Sprintf("MAIL FROM:<jo@a.example>\r\nRCPT TO:<0412345679@sms.test>\r\nBDAT %d LAST\r\n%s", len("\r\nafter\r\n"), "\r\nafter\r\n"))
	c.expect("250 ")
	c.expect("250 ")
	c.expect("250 ")
	c.write("QUIT\r\n")
	c.expect("221 ")
	mails = h.pipeline.mails()
	if len(mails) != 3 || mails[2].Text != "after" || mails[2].Recipients[0] != "61412345679" {
		t.Fatalf("after the refusals: %d mails, last %+v", len(mails), mails[len(mails)-1])
	}
}
