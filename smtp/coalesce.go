package smtp

import (
	"net"
	"runtime"
	"sync"
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

// coalescingConn holds writes until the next Read or Close.
type coalescingConn struct {
	net.Conn
	mu   sync.Mutex
	held []byte
	err  error // of a held write: returned by the next Read or Write
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
