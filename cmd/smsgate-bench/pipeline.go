package main

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"time"
)

// pipeClient is an SMTP client that pipelines (RFC 2920) as Postfix does:
// MAIL, RCPT and DATA in one write, then the data, on one reused session;
// or, with chunking, MAIL, RCPT and BDAT with the message in one write, as
// Exchange sends to a server that offers CHUNKING.
type pipeClient struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	// chunking: send each mail with BDAT (RFC 3030) in the same write as
	// its MAIL and RCPT, as Exchange does with a server offering CHUNKING.
	chunking bool
}

// dialPipe connects, reads the greeting and says EHLO; the server must
// offer PIPELINING (and CHUNKING, with chunking).
func dialPipe(addr, helo string, chunking bool) (*pipeClient, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c := &pipeClient{conn: conn, r: bufio.NewReader(conn), w: bufio.NewWriter(conn)}
	if _, err := c.reply(2); err != nil {
		conn.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	fmt.Fprintf(c.w, "EHLO %s\r\n", helo)
	if err := c.w.Flush(); err != nil {
		conn.Close()
		return nil, err
	}
	lines, err := c.reply(2)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("EHLO: %w", err)
	}
	offers := map[string]bool{}
	for _, l := range lines {
		offers[strings.ToUpper(strings.TrimSpace(l[4:]))] = true
	}
	if !offers["PIPELINING"] {
		conn.Close()
		return nil, fmt.Errorf("the server does not offer PIPELINING")
	}
	c.chunking = chunking
	if chunking && !offers["CHUNKING"] {
		conn.Close()
		return nil, fmt.Errorf("the server does not offer CHUNKING")
	}
	return c, nil
}

// reply reads one reply and checks its class (2 or 3).
func (c *pipeClient) reply(class byte) ([]string, error) {
	var lines []string
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return lines, err
		}
		l = strings.TrimRight(l, "\r\n")
		if len(l) < 4 {
			return lines, fmt.Errorf("malformed reply %q", l)
		}
		lines = append(lines, l)
		if l[3] != '-' {
			if l[0] != '0'+class {
				return lines, fmt.Errorf("%s", l)
			}
			return lines, nil
		}
	}
}

// send sends one mail; a refusal leaves the session reset for the next.
func (c *pipeClient) send(from, to, body string) error {
	if c.chunking {
		return c.sendBDAT(from, to, body)
	}
	fmt.Fprintf(c.w, "MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n", from, to)
	if err := c.w.Flush(); err != nil {
		return err
	}
	var first error
	for _, class := range []byte{2, 2, 3} {
		if _, err := c.reply(class); err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		// A refused MAIL or RCPT makes DATA fail too (RFC 2920): nothing
		// to send; RSET starts the next mail clean.
		fmt.Fprint(c.w, "RSET\r\n")
		if err := c.w.Flush(); err != nil {
			return err
		}
		_, _ = c.reply(2)
		return first
	}
	for _, l := range strings.SplitAfter(body, "\n") {
		if strings.HasPrefix(l, ".") {
			c.w.WriteByte('.')
		}
		c.w.WriteString(l)
	}
	if !strings.HasSuffix(body, "\r\n") {
		c.w.WriteString("\r\n")
	}
	c.w.WriteString(".\r\n")
	if err := c.w.Flush(); err != nil {
		return err
	}
	_, err := c.reply(2)
	return err
}

// quit ends the session.
func (c *pipeClient) quit() {
	fmt.Fprint(c.w, "QUIT\r\n")
	_ = c.w.Flush()
	_, _ = c.reply(2)
	c.conn.Close()
}

// sendBDAT sends one mail as one chunk: MAIL, RCPT and BDAT LAST with the
// message, in one write (RFC 3030 with RFC 2920), and reads the three
// replies.
func (c *pipeClient) sendBDAT(from, to, body string) error {
	if !strings.HasSuffix(body, "\r\n") {
		body += "\r\n"
	}
	fmt.Fprintf(c.w, "MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nBDAT %d LAST\r\n", from, to, len(body))
	c.w.WriteString(body)
	if err := c.w.Flush(); err != nil {
		return err
	}
	var first error
	for range 3 {
		if _, err := c.reply(2); err != nil && first == nil {
			first = err
		}
	}
	return first
}
