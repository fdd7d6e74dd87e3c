package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/api"
	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/router"
	"github.com/smsgate/smsgate/router/automation"
	"github.com/smsgate/smsgate/router/inboxrules"
	"github.com/smsgate/smsgate/router/stoprule"
	"github.com/smsgate/smsgate/smpp"
	"github.com/smsgate/smsgate/smtp"
	"github.com/smsgate/smsgate/smtp/relay"
	"github.com/smsgate/smsgate/webhook"
)

func serveCmd(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (YAML)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file until exit (for benchmarks)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "serve:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "serve:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if *cfgPath == "" {
		fmt.Fprintln(stderr, "serve: --config is required")
		return 2
	}
	cfg, err := config.LoadFile(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	logger := newLogger(cfg.Log, stderr)
	if err := Serve(ctx, cfg, logger, nil); err != nil {
		logger.Error("smsgate stopped", "err", err)
		return 1
	}
	return 0
}

// Ready is told the addresses the daemon listens on once it does; tests use
// it to find ports chosen by the kernel (":0").
type Ready func(smtpAddr, httpAddr string)

// Serve runs the daemon until ctx ends, then shuts down in two phases: first
// it stops taking work (SMTP answers 421, dispatch stops reading), then it
// lets in-flight work finish within cfg.Shutdown.Timeout. Nothing accepted is
// lost: what was not acknowledged stays in Redis.
func Serve(ctx context.Context, cfg *config.Config, logger *slog.Logger, ready Ready) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	panics := promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
		Name: "smsgate_panics_total", Help: "Recovered panics by component.",
	}, []string{"component"})
	for _, c := range []string{"smtp", "dispatch", "http", "inbound"} {
		panics.WithLabelValues(c)
	}
	draining := make(chan struct{})

	rdb, err := newRedis(cfg.Redis)
	if err != nil {
		return err
	}
	defer rdb.Close()
	store := redisstore.New(rdb, redisstore.Options{Shards: cfg.Redis.Shards})
	{
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := store.Ping(pctx)
		cancel()
		if err != nil {
			return fmt.Errorf("redis %s: %w", cfg.Redis.Addr, err)
		}
	}
	rm := router.NewMetrics(reg)
	// Webhooks: every role may emit events (accept, receipts, replies);
	// deliveries run where the dispatch role is on.
	hooks := webhook.New(webhook.Options{Redis: rdb, Shards: cfg.Redis.Shards,
		Logger: logger.With("component", "webhook"), Metrics: webhook.NewMetrics(reg)})

	// Carrier links and the routing table. Links run (bind) only where the
	// dispatch role is on; the table also lets SMTP refuse unroutable numbers.
	var routes *router.Routes
	var links []*smpp.Link
	var inbound *router.Inbound
	if len(cfg.Links) > 0 {
		lm := smpp.NewLinkMetrics(reg)
		var rts []router.Route
		for _, lc := range cfg.Links {
			l := smpp.NewLink(smpp.LinkOptions{
				Name: lc.Name, Addr: lc.Addr, SystemID: lc.SystemID, Password: lc.Password.Value(),
				SystemType: lc.SystemType, Window: lc.Window, Rate: lc.Rate,
				EnquireLink: lc.EnquireLink.Std(), ResponseTimeout: lc.ResponseTimeout.Std(),
				OnDeliver: func(ctx context.Context, d *smpp.Deliver) (err error) {
					defer recoverTo(&err, panics, "inbound", logger)
					if inbound == nil {
						return errors.New("no inbound handler")
					}
					return inbound.HandleDeliver(ctx, d)
				},
				Logger: logger.With("component", "smpp", "link", lc.Name), Metrics: lm,
			})
			links = append(links, l)
			rts = append(rts, router.Route{Link: rdLink{l, lc.RegisteredDelivery}, Prefixes: lc.Prefixes, Priority: lc.Priority})
		}
		routes = router.NewRoutes(rts)
	}

	// Outbound mail (replies, notices) through the relay, from any role.
	relayMetrics := relay.NewMetrics(reg)
	var mailer *relay.Mailer
	if cfg.Relay.Addr != "" {
		mailer = relay.New(relay.Options{
			Addr: cfg.Relay.Addr, From: cfg.Relay.From, Hostname: cfg.Relay.Hostname,
			Username: cfg.Relay.Username, Password: cfg.Relay.Password.Value(), StartTLS: cfg.Relay.StartTLS,
			Logger: logger.With("component", "mailer"), Metrics: relayMetrics,
		})
	}

	// The accept pipeline serves SMTP, the API's send route and the
	// messages the gateway sends itself (Stop confirmations, auto-replies).
	popts := router.PipelineOptions{
		Store: store, Routes: routes, DefaultSource: cfg.Dispatch.DefaultSource,
		Logger: logger.With("component", "router"), Metrics: rm, Events: hooks,
		Templates: store, Senders: store,
	}
	if mailer != nil {
		popts.Notifier = mailer // a nil *relay.Mailer must not become a non-nil interface
	}
	pipeline := router.NewPipeline(popts)

	// Replies run through the Stop rule first (a STOP ends the chain), then
	// automation; final statuses through automation (receipt notices).
	autoOpts := automation.Options{Store: store, Sender: pipeline, Logger: logger.With("component", "automation")}
	if mailer != nil {
		autoOpts.Mailer = mailer
	}
	automator := automation.New(autoOpts)
	replyHooks := []router.ReplyHook{
		stoprule.New(stoprule.Options{Store: store, Sender: pipeline, Logger: logger.With("component", "stop")}),
		automator,
	}
	statusHooks := []router.StatusHook{automator}
	if cfg.Roles.Dispatch {
		// Inbox rules last: they may claim the reply (sender mail or webhook
		// turned off), which would skip hooks after them.
		rulesOpts := inboxrules.Options{Store: store, Events: hooks, Logger: logger.With("component", "inboxrules")}
		inOpts := router.InboundOptions{Store: store, Events: hooks, Logger: logger.With("component", "inbound"), Metrics: rm,
			StatusHooks: statusHooks}
		if mailer != nil {
			inOpts.Mailer = mailer
			rulesOpts.Mailer = mailer
		}
		inOpts.ReplyHooks = append(replyHooks, inboxrules.New(rulesOpts))
		inbound = router.NewInbound(inOpts)
	}

	var wg sync.WaitGroup
	// Phase-two context: links and inbound processing outlive the stop of
	// intake until the dispatcher has drained.
	linkCtx, cancelLinks := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelLinks()
	var dispatchDone = make(chan struct{})
	if mailer != nil {
		wg.Go(func() { mailer.Run(linkCtx) })
	}
	if cfg.Roles.Dispatch {
		for _, l := range links {
			wg.Go(func() { _ = l.Run(linkCtx) })
		}
		wg.Go(func() { inbound.Run(linkCtx) })
		wg.Go(func() { hooks.Run(linkCtx) })
		consumer := cfg.Dispatch.Consumer
		if consumer == "" {
			host, _ := os.Hostname()
			consumer = fmt.Sprintf("%s-%d", host, os.Getpid())
		}
		d := router.NewDispatcher(router.DispatcherOptions{
			Store: store, Routes: routes, Consumer: consumer,
			Workers: cfg.Dispatch.Workers, Batch: cfg.Dispatch.Batch, Block: cfg.Dispatch.Block.Std(),
			ClaimIdle: cfg.Dispatch.ClaimIdle.Std(),
			Retry: router.RetryPolicy{Initial: cfg.Dispatch.Retry.Initial.Std(), Max: cfg.Dispatch.Retry.Max.Std(),
				MaxAttempts: cfg.Dispatch.Retry.MaxAttempts, Jitter: cfg.Dispatch.Retry.Jitter},
			RefundOnFailure: cfg.Dispatch.RefundOnFailure, DrainTimeout: cfg.Shutdown.Timeout.Std(),
			Logger: logger.With("component", "dispatch"), Metrics: rm, Submitted: inbound.Submitted, Events: hooks,
			StatusHooks: statusHooks,
		})
		go func() {
			defer close(dispatchDone)
			if err := d.Run(ctx); err != nil {
				logger.Error("dispatcher stopped", "err", err)
			}
		}()
	} else {
		close(dispatchDone)
	}

	// SMTP.
	var smtpSrvs []interface{ Close() error }
	var backend *smtp.Backend
	smtpAddr := ""
	if cfg.Roles.SMTP {
		var tlsCfg *tls.Config
		if cfg.SMTP.TLS.Enabled() {
			cert, err := tls.LoadX509KeyPair(cfg.SMTP.TLS.CertFile, cfg.SMTP.TLS.KeyFile)
			if err != nil {
				return fmt.Errorf("smtp.tls: %w", err)
			}
			tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		}
		// Sessions live on linkCtx: a SIGTERM must not cut a DATA already
		// in flight; Drain refuses new transactions instead.
		backend = smtp.NewBackend(linkCtx, smtp.Options{
			Domains: cfg.SMTP.Domains, Hostname: cfg.SMTP.Hostname,
			MaxRecipients: cfg.SMTP.MaxRecipients, MaxMessageBytes: cfg.SMTP.MaxMessageBytes,
			ReadTimeout: cfg.SMTP.ReadTimeout.Std(), WriteTimeout: cfg.SMTP.WriteTimeout.Std(),
			CommandTimeout: cfg.SMTP.CommandTimeout.Std(), TLSConfig: tlsCfg,
			RequireTLS: cfg.SMTP.RequireTLS, AllowInsecureAuth: cfg.SMTP.AllowInsecureAuth,
			Resolver: smtp.CacheResolver(store, cfg.SMTP.SenderCache.Std(), nil), Keys: store, Pipeline: smtp.RouterPipeline(pipeline), Groups: store,
			Logger: logger.With("component", "smtp"), Metrics: smtp.NewMetrics(reg),
		})
		srv := backend.NewServer(cfg.SMTP.Listen)
		ln, err := net.Listen("tcp", cfg.SMTP.Listen)
		if err != nil {
			return fmt.Errorf("smtp.listen: %w", err)
		}
		smtpAddr = ln.Addr().String()
		smtpSrvs = append(smtpSrvs, srv)
		wg.Go(func() { _ = srv.Serve(ln) })
		if cfg.SMTP.TLSListen != "" && tlsCfg != nil {
			tsrv := backend.NewServer(cfg.SMTP.TLSListen)
			tln, err := tls.Listen("tcp", cfg.SMTP.TLSListen, tlsCfg)
			if err != nil {
				return fmt.Errorf("smtp.tls_listen: %w", err)
			}
			smtpSrvs = append(smtpSrvs, tsrv)
			wg.Go(func() { _ = tsrv.Serve(tln) })
		}
		logger.Info("smtp listening", "addr", smtpAddr)
	}

	// HTTP: API, metrics, health.
	var httpSrv *http.Server
	httpAddr := ""
	if cfg.Roles.HTTP {
		h := api.New(api.Options{
			// The account store serves every area of the API.
			Stores: api.Stores{Auth: store, Accounts: store, Registrations: store, Keys: store, Money: store,
				Messages: store, Inbox: store, Users: store, Permissions: store, Billing: store, Stats: store,
				Contacts: store, OptOuts: store, Automations: store, Senders: store, Templates: store},
			Logger: logger.With("component", "http"), Registry: reg, Registerer: reg,
			Webhooks: hooks, Sender: pipeline,
			Ready: func(ctx context.Context) error {
				select {
				case <-draining:
					return errors.New("shutting down")
				default:
				}
				return store.Ping(ctx)
			}})
		ln, err := net.Listen("tcp", cfg.HTTP.Listen)
		if err != nil {
			return fmt.Errorf("http.listen: %w", err)
		}
		httpAddr = ln.Addr().String()
		httpSrv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError)}
		wg.Go(func() { _ = httpSrv.Serve(ln) })
		logger.Info("http listening", "addr", httpAddr)
	}
	if ready != nil {
		ready(smtpAddr, httpAddr)
	}
	logger.Info("smsgate running", "smtp", cfg.Roles.SMTP, "dispatch", cfg.Roles.Dispatch, "http", cfg.Roles.HTTP)

	<-ctx.Done()
	start := time.Now()
	logger.Info("shutting down: new work refused, draining in-flight work", "timeout", cfg.Shutdown.Timeout.Std())
	close(draining)
	// Phase one: stop intake. New SMTP transactions get 421; the
	// dispatcher's ctx (ctx) is already done, so it reads no more.
	dctx, cancelDrain := context.WithTimeout(context.Background(), cfg.Shutdown.Timeout.Std())
	defer cancelDrain()
	if backend != nil {
		backend.Drain()
		if err := backend.WaitIdle(dctx); err != nil {
			logger.Warn("smtp transactions still open at the drain deadline")
		}
	}
	// Phase two: wait for the dispatcher to finish in-flight submits, then
	// close sessions, links and servers.
	select {
	case <-dispatchDone:
	case <-dctx.Done():
		logger.Warn("dispatcher did not drain in time")
	}
	for _, s := range smtpSrvs {
		_ = s.Close()
	}
	cancelLinks()
	if httpSrv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = httpSrv.Shutdown(sctx)
		cancel()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		logger.Warn("some goroutines did not stop in time")
	}
	logger.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// rdLink sets registered_delivery on every submit as the link's
// configuration says.
type rdLink struct {
	*smpp.Link
	rd bool
}

func (l rdLink) Submit(ctx context.Context, r *smpp.SubmitRequest) (string, error) {
	r.RegisteredDelivery = l.rd
	return l.Link.Submit(ctx, r)
}

// recoverTo turns a panic into an error and counts it.
func recoverTo(err *error, panics *prometheus.CounterVec, component string, logger *slog.Logger) {
	if r := recover(); r != nil {
		panics.WithLabelValues(component).Inc()
		logger.Error("panic", "component", component, "panic", fmt.Sprint(r))
		*err = fmt.Errorf("panic: %v", r)
	}
}

// newRedis connects to a single Redis (TCP or unix socket) or, when a
// Sentinel master is named, to whichever server the sentinels say is master.
func newRedis(c config.Redis) (redis.UniversalClient, error) {
	if c.Sentinel.Master != "" {
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: c.Sentinel.Master, SentinelAddrs: c.Sentinel.Addrs,
			Username: c.Username, Password: c.Password.Value(), DB: c.DB, PoolSize: c.PoolSize,
		}), nil
	}
	opts := &redis.Options{Network: "tcp", Addr: c.Addr, Username: c.Username,
		Password: c.Password.Value(), DB: c.DB, PoolSize: c.PoolSize}
	if p, ok := strings.CutPrefix(c.Addr, "unix:"); ok {
		opts.Network, opts.Addr = "unix", p
	}
	return redis.NewClient(opts), nil
}

// newLogger builds the slog logger the configuration asks for.
func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
