package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/router"
)

// fakeResolver resolves senders from a map: exact address, then domain.
type fakeResolver struct {
	byAddr     map[string]*accounts.Account
	ResolveErr error
}

func (f *fakeResolver) ResolveSender(_ context.Context, addr string) (*accounts.Sender, error) {
	if f.ResolveErr != nil {
		return nil, f.ResolveErr
	}
	// The policy in force is the account's own (the fakes have no
	// parents), as the store resolves it.
	if a, ok := f.byAddr[addr]; ok {
		return &accounts.Sender{Account: a, Address: addr, Match: "address", Policy: accounts.EffectivePolicy(a.ID, a.SenderPolicy, "", nil)}, nil
	}
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		if a, ok := f.byAddr[addr[at:]]; ok {
			return &accounts.Sender{Account: a, Address: addr, Match: "domain", Policy: accounts.EffectivePolicy(a.ID, a.SenderPolicy, "", nil)}, nil
		}
	}
	return nil, fmt.Errorf("resolve %s: %w", addr, accounts.ErrUnknownSender)
}

// fakeKeys knows one secret per key.
type fakeKeys struct {
	keys    map[string]*accounts.APIKey
	users   map[string]map[string]accounts.Role // email: account id: role
	AuthErr error
}

// AuthenticateSMTP maps keys as the store does: a relay key, a user's key,
// an account key; "user@x" with password "pw-<user@x>" is a user of the
// accounts in users.
func (f *fakeKeys) AuthenticateSMTP(_ context.Context, username, secret string) (*accounts.Identity, error) {
	if f.AuthErr != nil {
		return nil, f.AuthErr
	}
	if k, ok := f.keys[secret]; ok {
		id := &accounts.Identity{Kind: accounts.IdentityAccountKey, AccountID: k.AccountID, KeyID: k.ID}
		switch {
		case k.Scope == accounts.ScopeSMTPRelay:
			id.Kind = accounts.IdentityRelay
		case k.UserID != "":
			id.Kind, id.UserID, id.UserEmail = accounts.IdentityUserKey, k.UserID, k.UserEmail
		}
		return id, nil
	}
	if m, ok := f.users[username]; ok && secret == "pw-"+username {
		return &accounts.Identity{Kind: accounts.IdentityUserPassword, UserID: "u-" + username, UserEmail: username, Memberships: m}, nil
	}
	return nil, accounts.ErrBadKey
}

// fakePipeline starts fake transactions and records the mails committed,
// with an error knob per stage (maddy's testutils target): StartErr at MAIL
// FROM, RcptErr per number at RCPT TO, AcceptErr at the commit. Block, when
// Set, holds Commit until it is closed or the context ends.
type fakePipeline struct {
	mu        sync.Mutex
	got       []*router.Mail
	StartErr  error
	RcptErr   map[string]error
	AcceptErr error
	Block     chan struct{}
}

func (f *fakePipeline) Start(_ context.Context, sender *accounts.Sender) (Transaction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.StartErr != nil {
		return nil, f.StartErr
	}
	return &fakeTxn{f: f, sender: sender, seen: map[string]bool{}}, nil
}

// fakeTxn is a transaction of fakePipeline.
type fakeTxn struct {
	f      *fakePipeline
	sender *accounts.Sender
	rcpts  []string
	seen   map[string]bool
}

func (t *fakeTxn) AddRcpt(_ context.Context, n string) error {
	t.f.mu.Lock()
	err := t.f.RcptErr[n]
	t.f.mu.Unlock()
	if err != nil {
		return err
	}
	if !t.seen[n] {
		t.seen[n] = true
		t.rcpts = append(t.rcpts, n)
	}
	return nil
}

func (t *fakeTxn) AddGroup(ctx context.Context, nums []string) (int, error) {
	fresh := 0
	for _, n := range nums {
		if !t.seen[n] {
			fresh++
			t.seen[n] = true
			t.rcpts = append(t.rcpts, n)
		}
	}
	return fresh, nil
}

func (t *fakeTxn) Recipients() []string { return t.rcpts }

func (t *fakeTxn) Has(n string) bool { return t.seen[n] }

func (t *fakeTxn) Abort() {}

func (t *fakeTxn) Commit(ctx context.Context, m *router.Mail) ([]string, error) {
	f := t.f
	if f.Block != nil {
		select {
		case <-f.Block:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for queue: %w", ctx.Err())
		}
	}
	m.Sender, m.Recipients = t.sender, t.rcpts
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, m)
	if f.AcceptErr != nil {
		return nil, f.AcceptErr
	}
	ids := make([]string, len(m.Recipients))
	for i := range ids {
		ids[i] = fmt.Sprintf("m%d", i+1)
	}
	return ids, nil
}

func (f *fakePipeline) mails() []*router.Mail {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*router.Mail(nil), f.got...)
}

// Accounts and keys of the test world. The test clients connect from
// loopback, which the sender policies of a1 and b1 allow, as an operator
// allows the office network; policy_test.go tests the other ways.
var (
	loopbackPolicy = &accounts.SenderPolicy{Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	acctA          = &accounts.Account{ID: "a1", Status: accounts.StatusActive, DefaultCountry: "AU", SenderPolicy: loopbackPolicy}
	acctB          = &accounts.Account{ID: "b1", Status: accounts.StatusActive, DefaultCountry: "GB", SenderPolicy: loopbackPolicy}
	acctX          = &accounts.Account{ID: "x1", Status: accounts.StatusDeactivated, DefaultCountry: "AU", SenderPolicy: loopbackPolicy}
)

type harness struct {
	addr     string
	backend  *Backend
	resolver *fakeResolver
	keys     *fakeKeys
	pipeline *fakePipeline
	reg      *prometheus.Registry
	cancel   context.CancelFunc // ends the backend's root context
}

// start runs a real server on 127.0.0.1:0, over CoalescingListener as the
// daemon does; edit adjusts the options first.
func start(t *testing.T, edit func(*Options)) *harness {
	t.Helper()
	return startOn(t, edit, nil)
}

// startOn is start with the raw listener wrapped by wrap (nil: as is)
// beneath the CoalescingListener.
func startOn(t *testing.T, edit func(*Options), wrap func(net.Listener) net.Listener) *harness {
	t.Helper()
	h := &harness{
		resolver: &fakeResolver{byAddr: map[string]*accounts.Account{
			"@a.example":      acctA,
			"boss@b.example":  acctB,
			"@gone.example":   acctX,
			"other@a.example": acctB, // exact address beats the domain
		}},
		keys: &fakeKeys{keys: map[string]*accounts.APIKey{
			"secret-a": {ID: "ka", AccountID: "a1", Role: accounts.RoleBasic},
			"secret-b": {ID: "kb", AccountID: "b1", Role: accounts.RoleBasic},
		}},
		pipeline: &fakePipeline{},
		reg:      prometheus.NewRegistry(),
	}
	opts := Options{
		Domains:           []string{"SMS.test"},
		Hostname:          "gw.test",
		MaxRecipients:     3,
		MaxMessageBytes:   64 << 10,
		ReadTimeout:       5 * time.Second,
		WriteTimeout:      5 * time.Second,
		CommandTimeout:    2 * time.Second,
		AllowInsecureAuth: true,
		Resolver:          h.resolver,
		Keys:              h.keys,
		Pipeline:          h.pipeline,
		Logger:            slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics:           NewMetrics(h.reg),
	}
	if edit != nil {
		edit(&opts)
	}
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	h.cancel = cancel
	h.backend = NewBackend(ctx, opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	if wrap != nil {
		ln = wrap(ln)
	}
	ln = CoalescingListener(ln)
	srv := h.backend.NewServer(h.addr)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("server did not stop")
		}
	})
	return h
}

// dial connects a client with a bounded deadline and says EHLO.
func (h *harness) dial(t *testing.T, tlsConfig *tls.Config) *gosmtp.Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", h.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var c *gosmtp.Client
	if tlsConfig != nil {
		if c, err = gosmtp.NewClientStartTLS(conn, tlsConfig); err != nil {
			t.Fatal(err)
		}
	} else {
		c = gosmtp.NewClient(conn)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	return c
}

// send writes body as DATA and returns the final reply text.
func send(c *gosmtp.Client, body string) (string, error) {
	w, err := c.Data()
	if err != nil {
		return "", err
	}
	if _, err := w.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n"))); err != nil {
		return "", err
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", err
	}
	return resp.StatusText, nil
}

// wantReply checks that err is an SMTP reply with the given codes and text.
func wantReply(t *testing.T, err error, code int, enh gosmtp.EnhancedCode, text string) {
	t.Helper()
	var se *gosmtp.SMTPError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want SMTP reply %d %v %q", err, code, enh, text)
	}
	if se.Code != code || se.EnhancedCode != enh || !strings.Contains(se.Message, text) {
		t.Fatalf("got %d %v %q, want %d %v containing %q", se.Code, se.EnhancedCode, se.Message, code, enh, text)
	}
}

const plainMail = `From: someone@a.example
To: 0412345678@sms.test
Subject: Hello
Message-ID: <abc@a.example>
Content-Type: text/plain; charset=utf-8

Meeting moved to 3pm.
`
