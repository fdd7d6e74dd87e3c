package smtp

import (
	"net"
	"runtime"
	"sync"
	"time"
)

// CoalescingListener wraps the accepted connections of ln so that replies
// written while the client has more commands waiting go out together: a
// write is held until the server next reads (or the connection closes),
// and a read first sends whatever is held. go-smtp reads through its own
// buffer, so it reads from the connection only when that buffer is empty:
// a pipelining client (RFC 2920: MAIL, RCPT and DATA in one packet) gets
// its three replies in one write instead of three, and a client that waits
// for each reply sees no delay, since the server reads right after
// answering (after letting the goroutines that are ready run once, which
// gives the client time to answer: at load, the read then more often
// finds the answer waiting). Put it beneath TLS (tls.NewListener over it), so that TLS
// records coalesce too.
//
// Deadlines are passed on lazily: go-smtp sets one before every command it
// reads and every reply it writes (now + the timeout), and each is a change
// of the runtime's timers; a connection passes a deadline on only when it
// falls outside [the one in force - deadlineSlack, the one in force], and
// then sets it deadlineSlack later than asked. A read or write thus times
// out between its timeout and its timeout + deadlineSlack.
func CoalescingListener(ln net.Listener) net.Listener { return coalescingListener{ln} }

type coalescingListener struct{ net.Listener }

func (l coalescingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &coalescingConn{Conn: c}, nil
}

// coalesceMax is how much a connection holds before writing anyway.
const coalesceMax = 32 << 10

// deadlineSlack is how much later than asked a deadline may be in force.
const deadlineSlack = time.Second

// coalescingConn holds writes until the next Read or Close.
type coalescingConn struct {
	net.Conn
	mu     sync.Mutex
	held   []byte
	err    error     // of a held write: returned by the next Read or Write
	rd, wd time.Time // the read and write deadlines in force (zero: none)
}

func (c *coalescingConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return lazyDeadline(&c.rd, t, c.Conn.SetReadDeadline)
}

func (c *coalescingConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return lazyDeadline(&c.wd, t, c.Conn.SetWriteDeadline)
}

func (c *coalescingConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := lazyDeadline(&c.rd, t, c.Conn.SetReadDeadline); err != nil {
		return err
	}
	return lazyDeadline(&c.wd, t, c.Conn.SetWriteDeadline)
}

// lazyDeadline asks for deadline t where *cur is in force, through set.
func lazyDeadline(cur *time.Time, t time.Time, set func(time.Time) error) error {
	switch {
	case t.IsZero():
		if cur.IsZero() {
			return nil
		}
	case !cur.IsZero() && !t.After(*cur) && !t.Before(cur.Add(-deadlineSlack)):
		return nil
	default:
		t = t.Add(deadlineSlack)
	}
	if err := set(t); err != nil {
		return err
	}
	*cur = t
	return nil
}

func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	c.held = append(c.held, p...)
	if len(c.held) >= coalesceMax {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (c *coalescingConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	wrote := len(c.held) > 0
	err := c.flushLocked()
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if wrote {
		// The client answers what was just written; let the goroutines
		// that are ready run first, so that the read more often finds
		// its answer there instead of failing (EAGAIN) and parking the
		// goroutine in the poller until it comes.
		runtime.Gosched()
	}
	return c.Conn.Read(p)
}

func (c *coalescingConn) Close() error {
	c.mu.Lock()
	_ = c.flushLocked()
	c.mu.Unlock()
	return c.Conn.Close()
}

// flushLocked writes what is held; c.mu must be held.
func (c *coalescingConn) flushLocked() error {
	if c.err != nil {
		return c.err
	}
	if len(c.held) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.held)
	c.held = c.held[:0]
	if err != nil {
		c.err = err
	}
	return err
}
