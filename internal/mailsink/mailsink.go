// Package mailsink is a small SMTP server that keeps the mail it receives:
// the staff mailbox at the far end of the demo and the tests, where replies
// mailed back by smsgate arrive.
package mailsink

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// Mail is one received message.
type Mail struct {
	From string    `json:"from"`
	To   []string  `json:"to"`
	Data string    `json:"data"`
	At   time.Time `json:"at"`
}

// Sink is a running mail sink.
type Sink struct {
	srv   *gosmtp.Server
	ln    net.Listener
	mu    sync.Mutex
	mails []Mail
	added chan struct{} // closed and replaced on every new mail
}

// Start listens on addr ("127.0.0.1:0" for any port) and serves until Close.
func Start(addr string) (*Sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Sink{ln: ln, added: make(chan struct{})}
	s.srv = gosmtp.NewServer(backend{s})
	s.srv.Domain = "mailsink.localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout, s.srv.WriteTimeout = time.Minute, time.Minute
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the sink listens on.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Close stops the sink.
func (s *Sink) Close() error { return s.srv.Close() }

// Mails returns what has arrived so far.
func (s *Sink) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Wait returns once at least n mails have arrived, or ctx ends.
func (s *Sink) Wait(ctx context.Context, n int) ([]Mail, error) {
	for {
		s.mu.Lock()
		got, ch := len(s.mails), s.added
		s.mu.Unlock()
		if got >= n {
			return s.Mails(), nil
		}
		select {
		case <-ctx.Done():
			return s.Mails(), ctx.Err()
		case <-ch:
		}
	}
}

func (s *Sink) add(m Mail) {
	s.mu.Lock()
	s.mails = append(s.mails, m)
	close(s.added)
	s.added = make(chan struct{})
	s.mu.Unlock()
}

type backend struct{ s *Sink }

func (b backend) NewSession(*gosmtp.Conn) (gosmtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s    *Sink
	from string
	to   []string
}

func (x *session) AuthPlain(string, string) error { return nil }
func (x *session) Mail(from string, _ *gosmtp.MailOptions) error {
	x.from = from
	return nil
}
func (x *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}
func (x *session) Data(r io.Reader) error {
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	x.s.add(Mail{From: x.from, To: x.to, Data: b.String(), At: time.Now()})
	return nil
}
func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }
