package main

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"time"
)

// pipeClient is an SMTP client that pipelines (RFC 2920) as Postfix and
// Exchange do: MAIL, RCPT and DATA in one write, then the data, on one
// reused session.
type pipeClient struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
}

// dialPipe connects, reads the greeting and says EHLO; the server must
// offer PIPELINING.
func dialPipe(addr, helo string) (*pipeClient, error) {
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
	for _, l := range lines {
		if strings.EqualFold(strings.TrimSpace(l[4:]), "PIPELINING") {
			return c, nil
		}
	}
	conn.Close()
	return nil, fmt.Errorf("the server does not offer PIPELINING")
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
