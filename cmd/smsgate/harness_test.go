package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/internal/dnstest"
	"github.com/smsgate/smsgate/internal/mailsink"
	"github.com/smsgate/smsgate/internal/redistest"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// gateway is a whole smsgate running in-process against a real
// redis-server, the SMSC simulator over TCP and a mail sink.
type gateway struct {
	t        *testing.T
	cfg      *config.Config // as the daemon was started
	rdb      redis.UniversalClient
	redis    *redistest.Server // the single Redis (nil on a cluster)
	store    *redisstore.Store
	sim      *smsctest.Server
	sink     *mailsink.Sink
	dns      *dnstest.Server // the gateway's only resolver (SPF, DKIM)
	smtpAddr string
	httpAddr string
	stop     context.CancelFunc
	done     chan struct{}

	parent, sub *accounts.Account
	key         string // parent_admin key of the parent
}

// e2eWait bounds every wait of the end-to-end tests: generous, because
// CI runs packages side by side with -race on two cores; a passing test
// never waits for it.
const e2eWait = 60 * time.Second

const (
	ourNumber = "61480000000"
	smsDomain = "sms.example.com"
)

// loopbackPolicy authorises mail from 127.0.0.0/8, where the tests'
// clients connect from.
var loopbackPolicy = accounts.SenderPolicy{Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}

type gwOption func(*config.Config, *smsctest.Options)

// onCluster runs the gateway on a real Redis Cluster of three masters (and
// the default shard count of a cluster) instead of a single Redis.
func onCluster(t *testing.T) gwOption {
	c := redistest.StartCluster(t, 3)
	return func(cfg *config.Config, _ *smsctest.Options) { cfg.Redis.Cluster.Addrs = c.Addrs }
}

func startGateway(t *testing.T, opts ...gwOption) *gateway {
	t.Helper()
	g := &gateway{t: t, done: make(chan struct{})}

	simOpts := smsctest.Options{Rules: []smsctest.Rule{
		{Suffix: "999", Receipt: "UNDELIV"},
		{Suffix: "998", Status: 0x0B}, // invalid destination: permanent
	}}
	cfg := config.Default()
	cfg.SMTP.Listen = "127.0.0.1:0"
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.SMTP.Domains = []string{smsDomain}
	cfg.SMTP.MaxRecipients = 5
	cfg.SMTP.MaxMessageBytes = 64 << 10
	cfg.SMTP.AllowInsecureAuth = true
	cfg.Dispatch.DefaultSource = ourNumber
	cfg.Dispatch.Block = config.Duration(100 * time.Millisecond)
	cfg.Dispatch.Retry.Initial = config.Duration(50 * time.Millisecond)
	cfg.Shutdown.Timeout = config.Seconds(5)
	g.dns = dnstest.Start(t)
	cfg.DNS.Servers = []string{g.dns.Addr}
	cfg.DNS.Timeout = config.Seconds(2)
	for _, o := range opts {
		o(cfg, &simOpts)
	}
	switch {
	case len(cfg.Redis.Cluster.Addrs) > 0: // onCluster started one
		g.rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: cfg.Redis.Cluster.Addrs})
		t.Cleanup(func() { g.rdb.Close() })
	case cfg.Redis.Sentinel.Master != "": // a test started sentinels
		g.rdb = redis.NewFailoverClient(&redis.FailoverOptions{MasterName: cfg.Redis.Sentinel.Master, SentinelAddrs: cfg.Redis.Sentinel.Addrs})
		t.Cleanup(func() { g.rdb.Close() })
	default:
		rs := redistest.StartServer(t, redistest.Options{AOF: false})
		cfg.Redis.Addr = rs.Addr
		g.rdb, g.redis = rs.Client(t), rs
	}
	g.cfg = cfg
	g.store = redisstore.New(g.rdb, redisstore.Options{Shards: cfg.Redis.EffectiveShards()})
	sim, err := smsctest.Start(simOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	g.sim = sim
	sink, err := mailsink.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	g.sink = sink
	cfg.Relay = config.Relay{Addr: sink.Addr(), From: "smsgate@" + smsDomain, Hostname: "smsgate.test"}
	if len(cfg.Links) == 0 {
		l := config.DefaultLink()
		l.Name = "sim"
		cfg.Links = []config.Link{l}
	}
	for i := range cfg.Links { // options may shape links; they all reach the simulator
		if l := &cfg.Links[i]; l.Addr == "" {
			l.Addr, l.SystemID, l.Password = sim.Addr(), "smsgate", "secret"
		}
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	g.stop = cancel
	ready := make(chan struct{})
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() {
		defer close(g.done)
		if err := Serve(ctx, cfg, logger, func(s, h string) {
			g.smtpAddr, g.httpAddr = s, h
			close(ready)
		}); err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	select {
	case <-ready:
	case <-g.done:
		t.Fatal("serve returned before it was ready")
	case <-time.After(10 * time.Second):
		t.Fatal("serve not ready within 10s")
	}
	t.Cleanup(g.shutdown)
	toSim := false // options may point every link elsewhere (an outage)
	for _, l := range cfg.Links {
		toSim = toSim || l.Addr == sim.Addr()
	}
	if toSim {
		g.waitFor("link bound", func() bool { return g.sim.Stats().Binds > 0 })
	}
	g.setupAccounts()
	return g
}

func (g *gateway) shutdown() {
	g.stop()
	select {
	case <-g.done:
	case <-time.After(15 * time.Second):
		g.t.Error("serve did not stop within 15s")
	}
}

// setupAccounts makes a parent with 10.00 AUD and a sub-account owning
// example.com with 1.00 AUD at 0.05 a part. The parent's sender policy
// allows the loopback network (the tests' mail clients), as an operator
// allows an office network; the sub-account inherits it.
func (g *gateway) setupAccounts() {
	ctx := context.Background()
	t := g.t
	p, key, err := g.store.Bootstrap(ctx, accounts.Account{Name: "Parent", DefaultCountry: "AU"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.store.Credit(ctx, p.ID, 1000, "test", "operator"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.store.SetSenderPolicy(ctx, p.ID, &loopbackPolicy); err != nil {
		t.Fatal(err)
	}
	sub, err := g.store.CreateAccount(ctx, accounts.Account{ParentID: p.ID, Name: "Sales",
		DefaultCountry: "AU", PricePerPart: 5, MaxParts: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.store.Transfer(ctx, p.ID, sub.ID, 100, "test", "operator"); err != nil {
		t.Fatal(err)
	}
	if err := g.store.AddDomain(ctx, sub.ID, "example.com"); err != nil {
		t.Fatal(err)
	}
	g.parent, g.sub, g.key = p, sub, key
}

// waitFor polls a condition that nothing can notify us of (state in Redis),
// bounded by 10 seconds.
func (g *gateway) waitFor(what string, cond func() bool) {
	g.t.Helper()
	deadline := time.Now().Add(e2eWait)
	for !cond() {
		if time.Now().After(deadline) {
			g.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (g *gateway) message(id string) *accounts.Message {
	g.t.Helper()
	m, err := g.store.GetMessage(context.Background(), id)
	if err != nil {
		g.t.Fatalf("message %s: %v", id, err)
	}
	return m
}

func (g *gateway) balance(id string) int64 {
	g.t.Helper()
	a, err := g.store.GetAccount(context.Background(), id)
	if err != nil {
		g.t.Fatal(err)
	}
	return a.Balance
}

func (g *gateway) get(path string) (int, string) {
	g.t.Helper()
	return g.do("GET", path, "")
}

// do calls the API with the parent's admin key.
func (g *gateway) do(method, path, body string) (int, string) {
	g.t.Helper()
	req, _ := http.NewRequest(method, "http://"+g.httpAddr+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+g.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func smsMO(src, dst, text string) smsctest.MO { return smsctest.MO{Source: src, Dest: dst, Text: text} }

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

// waitSentOnce waits until the simulator has n messages and fails the test
// unless they are n different texts (none sent twice).
func (g *gateway) waitSentOnce(n int) {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	if _, err := g.sim.WaitMessages(ctx, n); err != nil {
		g.t.Fatalf("simulator: %v", err)
	}
	if got := g.checkSentOnce(); got != n {
		g.t.Errorf("%d different SMS, want %d", got, n)
	}
}

// checkSentOnce fails the test for each text the simulator got more than
// once, and returns how many different texts it got.
func (g *gateway) checkSentOnce() int {
	g.t.Helper()
	seen := map[string]int{}
	for _, m := range g.sim.Messages() {
		seen[m.Text]++
	}
	for text, k := range seen {
		if k != 1 {
			g.t.Errorf("%q sent %d times", text, k)
		}
	}
	return len(seen)
}
