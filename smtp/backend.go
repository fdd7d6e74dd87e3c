// Package smtp is smsgate's SMTP listener: a go-smtp backend that turns
// mail to <number>@<sms-domain> into SMS.
//
// Contract: MAIL FROM resolves the sender to an account (Resolver), RCPT TO
// accepts only addresses in the configured SMS domains whose local part
// normalises to an E.164 number (package phone, with the account's default
// country), and DATA extracts the text (TextFromMIME) and hands the mail to
// the Pipeline. The client gets 250 only after Pipeline.Accept returned nil,
// that is after the messages are safely queued; every refusal is a reply
// whose text says why (toSMTPError, the one mapping). AUTH PLAIN/LOGIN take
// an API key as the password, or a user's email and password; the sender
// policy (policy.go) decides who may send for an account. Drain stops new transactions with 421 while
// transactions in flight complete.
package smtp

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/router"
)

// Resolver maps a MAIL FROM address to its account: an exact address
// registration first, then the sender's domain. It returns
// accounts.ErrUnknownSender or accounts.ErrDeactivated when it cannot.
type Resolver interface {
	ResolveSender(ctx context.Context, addr string) (*accounts.Sender, error)
}

// KeyChecker checks the credentials of SMTP AUTH: an API key as the
// password (an account key, a user's key, a relay key), or a user's email
// and password. It returns accounts.ErrBadKey for anything wrong, and
// accounts.ErrTooManyAttempts while the user's login is throttled.
type KeyChecker interface {
	AuthenticateSMTP(ctx context.Context, username, password string) (*accounts.Identity, error)
}

// Pipeline starts a mail's transaction once MAIL FROM has resolved the
// sender.
type Pipeline interface {
	Start(ctx context.Context, sender *accounts.Sender) (Transaction, error)
}

// Transaction is one mail in steps (maddy's delivery model): each RCPT TO
// is checked and added on its own, so that one bad recipient is refused
// alone; Commit prices, debits and queues one SMS per recipient atomically
// and returns the message ids; Abort drops the transaction (RSET, QUIT, a
// dropped connection). Refusals are *exterr.Error values.
type Transaction interface {
	AddRcpt(ctx context.Context, number string) error
	AddGroup(ctx context.Context, numbers []string) (fresh int, err error)
	Recipients() []string
	Has(number string) bool
	Commit(ctx context.Context, m *router.Mail) ([]string, error)
	Abort()
}

// RouterPipeline adapts the router's pipeline to Pipeline.
func RouterPipeline(p *router.Pipeline) Pipeline { return routerPipeline{p} }

type routerPipeline struct{ p *router.Pipeline }

func (r routerPipeline) Start(ctx context.Context, sender *accounts.Sender) (Transaction, error) {
	t, err := r.p.Start(ctx, sender)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Options configure a Backend and the servers it makes.
type Options struct {
	Domains         []string // SMS recipient domains, matched case-insensitively
	Hostname        string   // announced in the greeting
	MaxRecipients   int      // distinct recipients per mail; 0 means no limit
	MaxMessageBytes int64    // 0 means no limit

	// ReadTimeout and WriteTimeout bound each network read and write;
	// CommandTimeout bounds each backend call (resolve, authenticate,
	// accept). Zero means none.
	ReadTimeout, WriteTimeout, CommandTimeout time.Duration

	TLSConfig         *tls.Config // nil: no STARTTLS
	RequireTLS        bool        // refuse MAIL FROM before STARTTLS
	AllowInsecureAuth bool        // offer AUTH without TLS (tests, trusted networks)

	Resolver Resolver
	Keys     KeyChecker // nil: no AUTH
	Pipeline Pipeline
	Groups   GroupResolver // nil: no group recipients (groups.go)
	// SenderAuth checks SPF and DKIM for the sender policy (policy.go);
	// nil: neither can authorise a sender.
	SenderAuth SenderAuth
	// Postmaster forwards mail for postmaster@<sms-domain> to the operator
	// (postmaster.go); envelopeFrom is the MAIL FROM address. nil: such mail
	// is accepted and logged only.
	Postmaster func(ctx context.Context, envelopeFrom string, data []byte) error

	Logger  *slog.Logger // nil: discard; the caller adds the component attribute
	Metrics *Metrics     // nil: a private registry
	// OnPanic is told of a panic recovered in a session command (the
	// client gets 451 and loses its transaction); it logs and counts it.
	// nil: the backend logs it.
	OnPanic func(component string, v any)
}

// Backend implements gosmtp.Backend. It is safe for concurrent use by any
// number of servers and sessions.
type Backend struct {
	ctx      context.Context
	opts     Options
	log      *slog.Logger
	metrics  *Metrics
	domains  map[string]bool
	draining atomic.Bool

	txMu   sync.Mutex
	txOpen int           // transactions between MAIL FROM and their end
	txIdle chan struct{} // closed when txOpen drops to zero; nil when nobody waits
}

var _ gosmtp.Backend = (*Backend)(nil)

// NewBackend returns a backend whose sessions derive their contexts from
// ctx: cancelling it cancels every backend call in flight.
func NewBackend(ctx context.Context, opts Options) *Backend {
	b := &Backend{ctx: ctx, opts: opts, log: opts.Logger, metrics: opts.Metrics, domains: map[string]bool{}}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.metrics == nil {
		b.metrics = NewMetrics(prometheus.NewRegistry())
	}
	for _, d := range opts.Domains {
		b.domains[strings.ToLower(strings.TrimSuffix(d, "."))] = true
	}
	return b
}

// NewServer returns a go-smtp server for addr configured from the options.
// The recipient limit is enforced by the session (after collapsing
// duplicates), so the server's own MaxRecipients stays 0.
func (b *Backend) NewServer(addr string) *gosmtp.Server {
	s := gosmtp.NewServer(b)
	s.Addr = addr
	s.Domain = b.opts.Hostname
	s.ReadTimeout = b.opts.ReadTimeout
	s.WriteTimeout = b.opts.WriteTimeout
	s.MaxMessageBytes = b.opts.MaxMessageBytes
	s.MaxLineLength = maxLineBytes // quoted by the refusal (errors.go)
	s.TLSConfig = b.opts.TLSConfig
	s.AllowInsecureAuth = b.opts.AllowInsecureAuth
	s.EnableSMTPUTF8 = true
	s.ErrorLog = slog.NewLogLogger(b.log.Handler(), slog.LevelError)
	return s
}

// Drain makes every new transaction (MAIL FROM) fail with 421 4.3.2 from now
// on; DATA already in progress completes. Call it first when shutting down,
// then close the servers.
func (b *Backend) Drain() { b.draining.Store(true) }

// WaitIdle returns once no transaction is open (every MAIL FROM has ended in
// A reply to DATA, RSET or a closed connection), or when ctx ends. With
// Drain, it lets in-flight mail finish before the servers close.
func (b *Backend) WaitIdle(ctx context.Context) error {
	b.txMu.Lock()
	if b.txOpen == 0 {
		b.txMu.Unlock()
		return nil
	}
	if b.txIdle == nil {
		b.txIdle = make(chan struct{})
	}
	ch := b.txIdle
	b.txMu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *Backend) beginTxn() {
	b.txMu.Lock()
	b.txOpen++
	b.txMu.Unlock()
}

func (b *Backend) endTxn() {
	b.txMu.Lock()
	b.txOpen--
	if b.txOpen == 0 && b.txIdle != nil {
		close(b.txIdle)
		b.txIdle = nil
	}
	b.txMu.Unlock()
}

// NewSession implements gosmtp.Backend.
func (b *Backend) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	if b.ctx.Err() != nil {
		return nil, toSMTPError(errShuttingDown, replyContext{}).err
	}
	id := newSessionID()
	ctx, cancel := context.WithCancel(b.ctx)
	b.metrics.sessions.Inc()
	s := &session{
		b:      b,
		conn:   c,
		ip:     peerIP(c),
		id:     id,
		ctx:    ctx,
		cancel: cancel,
		log:    b.log.With("session_id", id, "remote", remoteAddr(c)),
	}
	s.log.Debug("session started", "helo", c.Hostname())
	return recoveringSession{s}, nil
}

func remoteAddr(c *gosmtp.Conn) string {
	if nc := c.Conn(); nc != nil {
		return nc.RemoteAddr().String()
	}
	return ""
}

// peerIP is the address of c's client (the zero Addr when unknown).
func peerIP(c *gosmtp.Conn) netip.Addr {
	if c == nil || c.Conn() == nil {
		return netip.Addr{}
	}
	if ta, ok := c.Conn().RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	ap, err := netip.ParseAddrPort(c.Conn().RemoteAddr().String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
