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
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/api"
	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/console"
	"github.com/smsgate/smsgate/netguard"
	"github.com/smsgate/smsgate/phone"
	"github.com/smsgate/smsgate/router"
	"github.com/smsgate/smsgate/router/automation"
	"github.com/smsgate/smsgate/router/inboxrules"
	"github.com/smsgate/smsgate/router/stoprule"
	"github.com/smsgate/smsgate/smpp"
	"github.com/smsgate/smsgate/smtp"
	"github.com/smsgate/smsgate/smtp/relay"
	"github.com/smsgate/smsgate/smtp/senderauth"
	"github.com/smsgate/smsgate/webhook"
)

func serveCmd(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (YAML)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file until exit (for benchmarks)")
	memProfile := fs.String("memprofile", "", "write the allocations profile to this file at exit (for benchmarks)")
	roles := fs.String("roles", "", "the roles to run, e.g. smtp,http (default: the configuration's roles)")
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
	if *memProfile != "" {
		defer func() {
			if err := writeAllocsProfile(*memProfile); err != nil {
				fmt.Fprintln(stderr, "serve:", err)
			}
		}()
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
	if *roles != "" {
		r, err := config.ParseRoles(*roles)
		if err != nil {
			fmt.Fprintln(stderr, "serve: --roles:", err)
			return 2
		}
		cfg.Roles = r
		if err := cfg.Validate(); err != nil { // a role may need settings the file's did not
			fmt.Fprintf(stderr, "config %s with --roles %s: %v\n", *cfgPath, *roles, err)
			return 1
		}
	}
	logger := newLogger(cfg.Log, stderr)
	if pct, ok := gcTarget(cfg.Runtime, os.Getenv); ok {
		debug.SetGCPercent(pct)
	}
	if err := Serve(ctx, cfg, logger, nil); err != nil {
		logger.Error("smsgate stopped", "err", err)
		return 1
	}
	return 0
}

// gcTarget is the garbage collector's target the daemon sets: the
// configuration's runtime.gc_percent, unless GOGC is set in the environment
// (the runtime has applied it already): then ok is false.
func gcTarget(cfg config.Runtime, getenv func(string) string) (percent int, ok bool) {
	if getenv("GOGC") != "" {
		return 0, false
	}
	return cfg.GCPercent, true
}

// Ready is told the addresses the daemon listens on once it does; tests use
// it to find ports chosen by the kernel (":0").
type Ready func(smtpAddr, httpAddr string)

// Serve runs the daemon until ctx ends, then shuts down in two phases: first
// it stops taking work (SMTP answers 421, dispatch stops reading), then it
// lets in-flight work finish within cfg.Shutdown.Timeout. Nothing accepted is
// lost: what was not acknowledged stays in Redis.
//
// Listeners are bound before any background work starts, and each component
// registers its stop right after its constructor; on any error return the
// components started so far are stopped, in reverse order and within the
// shutdown bound, so that nothing is left running.
func Serve(ctx context.Context, cfg *config.Config, logger *slog.Logger, ready Ready) (err error) {
	lc := &lifecycle{log: logger}
	defer func() {
		if err != nil {
			_ = lc.stop(cfg.Shutdown.Timeout.Std())
		}
	}()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	pc := newPanics(reg, logger)

	// Listeners first: a port in use fails here, before anything runs.
	lns, err := listen(cfg, lc)
	if err != nil {
		return err
	}

	rdb, err := newRedis(cfg.Redis)
	if err != nil {
		return err
	}
	lc.onStop("redis", func(context.Context) error { return rdb.Close() })
	reg.MustRegister(newPoolCollector(rdb))
	shards := cfg.Redis.EffectiveShards()
	var masterState func() (int64, bool)
	if w := watchMasters(ctx, cfg.Redis, logger.With("component", "redis")); w != nil {
		lc.onStop("sentinel watch", func(context.Context) error { w.close(); return nil })
		masterState = w.state
	}
	store := redisstore.New(rdb, redisstore.Options{Shards: shards, Quotas: cfg.Quotas,
		MinReplicasAck: cfg.Redis.MinReplicasAck, ReplicaAckTimeout: cfg.Redis.ReplicaAckTimeout.Std(),
		MasterState:    masterState,
		IdempotencyTTL: cfg.Retention.Idempotency.Std(), ReceiptIndexTTL: cfg.Retention.ReceiptIndex.Std(),
		EntryPerMessage: cfg.Dispatch.EntryPerMessage, KeepAccepted: keepAccepted(cfg.Roles)})
	if err := waitLoaded(ctx, store, logger); err != nil {
		return fmt.Errorf("redis %s: %w", cfg.Redis.Target(), err)
	}
	// What the first mails would otherwise wait for: the hot scripts in
	// Redis's cache, and the numbering plans of the links' countries (where
	// the accounts' numbers mostly are).
	if err := store.LoadHotScripts(ctx); err != nil {
		logger.Warn("loading the message scripts", "err", err)
	}
	{
		var regions []string
		for _, lk := range cfg.Links {
			if lk.Country != "" {
				regions = append(regions, lk.Country)
			}
		}
		phone.Warm(regions...)
	}
	{
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := store.PinShards(pctx)
		cancel()
		if err != nil {
			return fmt.Errorf("redis %s: %w", cfg.Redis.Target(), err)
		}
	}
	// Accepts (SMTP, and the API under the http role) look for retries
	// under the idempotency keys of the releases before the buckets until a
	// scan finds there are none (background: it reads every key).
	go func() {
		if !cfg.Roles.SMTP && !cfg.Roles.HTTP {
			return // this instance accepts nothing
		}
		found, err := store.CheckLegacyIdempotency(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Warn("idempotency keys of earlier releases: still looked for", "err", err)
		case found:
			logger.Info("idempotency keys of an earlier release found: looked for during one window", "window", cfg.Retention.Idempotency.Std())
		}
	}()
	rm := router.NewMetrics(reg)
	// Webhooks: every role may emit events (accept, receipts, replies);
	// deliveries run where the dispatch role is on.
	guard, err := netguard.New(cfg.Webhooks.AllowInternal)
	if err != nil {
		return fmt.Errorf("webhooks.allow_internal: %w", err)
	}
	hooks := webhook.New(webhook.Options{Redis: rdb, Shards: shards, Guard: guard, Quota: webhookQuota(store),
		Logger: logger.With("component", "webhook"), Metrics: webhook.NewMetrics(reg), OnPanic: pc.record})

	// Carrier links and the routing table. Links run (bind) only where the
	// dispatch role is on; the table also lets SMTP refuse unroutable numbers.
	var routes *router.Routes
	var links []*smpp.Link
	var inbound *router.Inbound
	if len(cfg.Links) > 0 {
		lm := smpp.NewLinkMetrics(reg)
		var rts []router.Route
		for _, lk := range cfg.Links {
			l := smpp.NewLink(smpp.LinkOptions{
				Name: lk.Name, Addr: lk.Addr, SystemID: lk.SystemID, Password: lk.Password.Value(),
				SystemType: lk.SystemType, Window: lk.Window, Rate: lk.Rate,
				EnquireLink: lk.EnquireLink.Std(), ResponseTimeout: lk.ResponseTimeout.Std(),
				TimeoutsBeforeRebind: lk.TimeoutsBeforeRebind, OutcomeWait: lk.EffectiveOutcomeWait().Std(),
				Country: lk.Country, Pair: lk.Bind == "pair",
				ReconnectMin: lk.ReconnectMin.Std(), ReconnectMax: lk.ReconnectMax.Std(),
				OnDeliverAsync: func(ctx context.Context, d *smpp.Deliver, done func(error)) {
					if inbound == nil {
						done(errors.New("no inbound handler"))
						return
					}
					// A receipt joins the next batch, on the link's reader; a
					// reply runs on a goroutine of its own; a panic in
					// either is answered as an error (InboundOptions.OnPanic).
					inbound.HandleDeliverAsync(ctx, d, done)
				},
				OnSubmitResponse: func(link, id string) {
					if inbound != nil {
						inbound.SubmitResponded(link, id)
					}
				},
				Logger: logger.With("component", "smpp", "link", lk.Name), Metrics: lm,
			})
			links = append(links, l)
			rts = append(rts, router.Route{Link: rdLink{l, lk.RegisteredDelivery}, Prefixes: lk.Prefixes, Priority: lk.Priority})
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
			Logger: logger.With("component", "mailer"), Metrics: relayMetrics, OnPanic: pc.record,
		})
	}

	// The accept pipeline serves SMTP, the API's send route and the
	// messages the gateway sends itself (Stop confirmations, auto-replies).
	popts := router.PipelineOptions{
		Store: store, Routes: routes, DefaultSource: cfg.Dispatch.DefaultSource,
		Logger: logger.With("component", "router"), Metrics: rm, Events: hooks,
		Templates: store, Senders: store,
		SourcePool: cfg.Dispatch.SourcePool, PoolTTL: cfg.Dispatch.SourcePoolTTL.Std(),
	}
	if err := checkSourcePool(ctx, store, cfg.Dispatch.SourcePool); err != nil {
		return err
	}
	if mailer != nil {
		popts.Notifier = mailer // a nil *relay.Mailer must not become a non-nil interface
	}
	pipeline := router.NewPipeline(popts)

	// Replies run through the Stop rule first (a STOP ends the chain), then
	// automation; final statuses through automation (receipt notices). Each
	// hook runs under recover: a panicking hook claims nothing.
	autoOpts := automation.Options{Store: store, Sender: pipeline, Logger: logger.With("component", "automation")}
	if mailer != nil {
		autoOpts.Mailer = mailer
	}
	automator := automation.New(autoOpts)
	replyHooks := []router.ReplyHook{
		replyHook{"stoprule", stoprule.New(stoprule.Options{Store: store, Sender: pipeline, Logger: logger.With("component", "stop")}), pc},
		replyHook{"automation", automator, pc},
	}
	statusHooks := []router.StatusHook{statusHook{"automation", automator, pc}}
	if cfg.Roles.Dispatch {
		// Inbox rules last: they may claim the reply (sender mail or webhook
		// turned off), which would skip hooks after them.
		rulesOpts := inboxrules.Options{Store: store, Events: hooks, Logger: logger.With("component", "inboxrules")}
		inOpts := router.InboundOptions{Store: store, Events: hooks, Logger: logger.With("component", "inbound"), Metrics: rm,
			StatusHooks: statusHooks, ReassemblyWait: cfg.Inbound.ReassemblyWait.Std(), OnPanic: pc.record}
		if mailer != nil {
			inOpts.Mailer = mailer
			rulesOpts.Mailer = mailer
		}
		inOpts.ReplyHooks = append(replyHooks, replyHook{"inboxrules", inboxrules.New(rulesOpts), pc})
		inbound = router.NewInbound(inOpts)
	}

	// Background work: links, inbound processing, webhook deliveries and
	// the mailer run on their own context, cancelled last, after intake has
	// stopped and the dispatcher has drained.
	linkCtx, cancelLinks := context.WithCancel(context.WithoutCancel(ctx))
	running := newLoops() // /readyz fails once one of these stops for good
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smsgate_daemon_loops_stopped",
		Help: "Long-running loops (dispatcher, inbound, webhook deliveries, housekeeping) that stopped for good; /readyz fails while it is above 0."},
		func() float64 { return float64(running.count()) }))
	var bg sync.WaitGroup
	lc.onStop("background", func(ctx context.Context) error {
		cancelLinks()
		return waitGroup(ctx, &bg)
	})
	if mailer != nil {
		bg.Go(func() { mailer.Run(linkCtx) })
	}
	// Redis memory against redis.memory_high: past it new mail is deferred
	// (452 4.3.1) while the queue drains.
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smsgate_redis_memory_used_ratio",
		Help: "Share of maxmemory Redis uses (the fullest master; 0 with no maxmemory), checked every second."},
		store.MemoryRatio))
	bg.Go(func() {
		_ = running.run(linkCtx, "redis-memory", func(ctx context.Context) error {
			return store.WatchMemory(ctx, cfg.Redis.MemoryHigh, time.Second)
		})
	})
	if cfg.Roles.Dispatch {
		for _, l := range links {
			bg.Go(func() { _ = l.Run(linkCtx) })
		}
		bg.Go(func() {
			_ = running.run(linkCtx, "inbound", func(ctx context.Context) error { inbound.Run(ctx); return nil })
		})
		bg.Go(func() { _ = running.run(linkCtx, "webhooks", hooks.Run) })
	}

	// HTTP: API, metrics, health. It serves until intake has drained, so
	// that /readyz can report the drain.
	draining := make(chan struct{})
	httpAddr := ""
	operatorKeys, err := api.ParseOperatorKeys(cfg.HTTP.OperatorKeys)
	if err != nil {
		return fmt.Errorf("http.operator_keys: %w", err)
	}
	// One DNS cache for the sender policy (SPF, DKIM) and domain verification.
	dnsCache := senderauth.NewCache(senderauth.NewResolver(cfg.DNS.Servers), senderauth.CacheOptions{
		Timeout: cfg.DNS.Timeout.Std(), TTL: cfg.DNS.CacheTTL.Std(), NegativeTTL: cfg.DNS.NegativeCacheTTL.Std(),
	})
	if lns.http != nil {
		h := api.New(api.Options{
			Mailer: noticeMailer(mailer, cfg.SMTP.Hostname), LookupTXT: verifyLookup(cfg),
			AllowedSenderIDs: cfg.Dispatch.AllowedSenderIDs,
			// The account store serves every area of the API.
			Stores: api.Stores{Auth: store, Accounts: store, Registrations: store, Policies: store, Keys: store, Money: store,
				Messages: store, Inbox: store, Users: store, Permissions: store, Billing: store, Stats: store,
				Contacts: store, OptOuts: store, Automations: store, Senders: store, Templates: store, Operator: store},
			OperatorKeys: operatorKeys, ConsoleURL: cfg.HTTP.PublicURL,
			Logger: logger.With("component", "http"), Registry: reg, Registerer: reg,
			Webhooks: hooks, Sender: pipeline,
			// The API logs the panic under the reference it answered with.
			OnPanic: func(any) { pc.total.WithLabelValues("http").Inc() },
			Links: func() []smpp.LinkStatus {
				out := make([]smpp.LinkStatus, len(links))
				for i, l := range links {
					out[i] = l.Status()
				}
				return out
			},
			Ready: func(ctx context.Context) error {
				select {
				case <-draining:
					return errors.New("shutting down")
				default:
				}
				if err := running.check(); err != nil {
					return err
				}
				return store.Ping(ctx)
			}})
		web, err := console.New(console.Options{API: h, PublicURL: cfg.HTTP.PublicURL, Logger: logger.With("component", "console")})
		if err != nil {
			return fmt.Errorf("console: %w", err)
		}
		httpAddr = lns.http.Addr().String()
		httpSrv := &http.Server{Handler: pc.recoverHTTP(withConsole(h, web)), ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout.Std(),
			ReadTimeout: cfg.HTTP.ReadTimeout.Std(), WriteTimeout: cfg.HTTP.WriteTimeout.Std(), IdleTimeout: cfg.HTTP.IdleTimeout.Std(),
			ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError)}
		served := make(chan struct{})
		go func() { defer close(served); _ = httpSrv.Serve(lns.http) }()
		lc.onStop("http", func(ctx context.Context) error {
			sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			err := httpSrv.Shutdown(sctx)
			<-served
			return err
		})
		logger.Info("http listening", "addr", httpAddr)
	}

	// The dispatcher stops reading when ctx ends (phase one) and then
	// drains its in-flight submits within cfg.Shutdown.Timeout.
	if cfg.Roles.Dispatch {
		consumer := cfg.Dispatch.Consumer
		if consumer == "" {
			host, _ := os.Hostname()
			consumer = fmt.Sprintf("%s-%d", host, os.Getpid())
		}
		d := router.NewDispatcher(router.DispatcherOptions{
			Store: store, Routes: routes, Consumer: consumer,
			Workers: cfg.Dispatch.Workers, Batch: cfg.Dispatch.Batch, Block: cfg.Dispatch.Block.Std(),
			BatchWait: cfg.Dispatch.BatchWait.Std(),
			ClaimIdle: cfg.Dispatch.ClaimIdle.Std(),
			Retry: router.RetryPolicy{Initial: cfg.Dispatch.Retry.Initial.Std(), Max: cfg.Dispatch.Retry.Max.Std(),
				MaxAttempts: cfg.Dispatch.Retry.MaxAttempts, Jitter: cfg.Dispatch.Retry.Jitter},
			RefundOnFailure: cfg.Dispatch.RefundOnFailure, DrainTimeout: cfg.Shutdown.Timeout.Std(),
			ExpireAfter: cfg.Dispatch.ExpireAfter.Std(),
			Logger:      logger.With("component", "dispatch"), Metrics: rm, Submitted: inbound.Submitted, Events: hooks,
			StatusHooks: statusHooks, OnPanic: pc.record,
		})
		hk := newHousekeeper(store, hooks, cfg.Retention, consumer, logger.With("component", "housekeeping"), reg)
		bg.Go(func() { _ = running.run(linkCtx, "housekeeping", hk.run) })
		dctx, stopReading := context.WithCancel(ctx)
		dispatchDone := make(chan struct{})
		go func() {
			defer close(dispatchDone)
			if err := running.run(dctx, "dispatch", d.Run); err != nil {
				logger.Error("dispatcher stopped", "err", err)
			}
		}()
		lc.onStop("dispatch", func(ctx context.Context) error {
			stopReading()
			select {
			case <-dispatchDone:
				return nil
			case <-ctx.Done():
				return fmt.Errorf("dispatcher did not drain: %w", ctx.Err())
			}
		})
	}

	// SMTP, last: intake starts once everything behind it runs, and stops
	// first.
	smtpAddr := ""
	var backend *smtp.Backend
	if lns.smtp != nil {
		// Sessions live on linkCtx: a SIGTERM must not cut a DATA already
		// in flight; Drain refuses new transactions instead.
		backend = smtp.NewBackend(linkCtx, smtp.Options{
			Domains: cfg.SMTP.Domains, Hostname: cfg.SMTP.Hostname,
			MaxRecipients: cfg.SMTP.MaxRecipients, MaxMessageBytes: cfg.SMTP.MaxMessageBytes,
			ReadTimeout: cfg.SMTP.ReadTimeout.Std(), WriteTimeout: cfg.SMTP.WriteTimeout.Std(),
			CommandTimeout: cfg.SMTP.CommandTimeout.Std(), TLSConfig: lns.tlsConfig,
			RequireTLS: cfg.SMTP.RequireTLS, AllowInsecureAuth: cfg.SMTP.AllowInsecureAuth,
			Resolver: smtp.CacheResolver(store, cfg.SMTP.SenderCache.Std(), nil), Keys: store, Pipeline: smtp.RouterPipeline(pipeline), Groups: store,
			Postmaster: postmasterForwarder(cfg, mailer),
			SenderAuth: senderauth.New(dnsCache),
			Logger:     logger.With("component", "smtp"), Metrics: smtp.NewMetrics(reg), OnPanic: pc.record,
		})
		var srvs sync.WaitGroup
		var closers []func() error
		for _, ln := range []net.Listener{lns.smtp, lns.smtpTLS} {
			if ln == nil {
				continue
			}
			srv := backend.NewServer(ln.Addr().String())
			closers = append(closers, srv.Close)
			srvs.Go(func() { _ = srv.Serve(ln) })
		}
		smtpAddr = lns.smtp.Addr().String()
		lc.onStop("smtp", func(ctx context.Context) error {
			// Transactions under way finish within the drain bound.
			wctx, cancel := context.WithTimeout(ctx, cfg.Shutdown.Timeout.Std())
			defer cancel()
			if err := backend.WaitIdle(wctx); err != nil {
				logger.Warn("smtp transactions still open at the drain deadline")
			}
			for _, c := range closers {
				_ = c()
			}
			return waitGroup(ctx, &srvs)
		})
		logger.Info("smtp listening", "addr", smtpAddr)
	}
	// Phase one of the shutdown, first of the stops: new SMTP transactions
	// get 421 and /readyz reports the drain.
	lc.onStop("intake", func(context.Context) error {
		if backend != nil {
			backend.Drain()
		}
		close(draining)
		return nil
	})

	if ready != nil {
		ready(smtpAddr, httpAddr)
	}
	logger.Info("smsgate running", "smtp", cfg.Roles.SMTP, "dispatch", cfg.Roles.Dispatch, "http", cfg.Roles.HTTP)

	<-ctx.Done()
	start := time.Now()
	logger.Info("shutting down: new work refused, draining in-flight work", "timeout", cfg.Shutdown.Timeout.Std())
	// Reverse order. Phase one: SMTP answers 421 to new transactions and
	// /readyz 503, open transactions finish, and the dispatcher (its ctx
	// done, it reads no more) finishes its in-flight submits. Phase two:
	// HTTP closes and the links, inbound and mail work is cancelled. The
	// bound leaves phase two some seconds beyond the drain.
	if err := lc.stop(cfg.Shutdown.Timeout.Std() + 10*time.Second); err != nil {
		logger.Warn("shutdown incomplete", "err", err)
	}
	logger.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// listeners are the daemon's bound sockets; nil for a role that is off.
type listeners struct {
	smtp, smtpTLS, http net.Listener
	tlsConfig           *tls.Config // SMTP's certificate, nil without TLS
}

// listen binds every listener the configuration asks for and registers
// their closing: a listener that is never served is closed on an error
// return, and closing one that a server already closed is harmless.
func listen(cfg *config.Config, lc *lifecycle) (*listeners, error) {
	var lns listeners
	// SMTP listeners hold replies until the server reads again, beneath
	// TLS: a pipelining client's replies go out in one write.
	bind := func(name, addr string, tlsCfg *tls.Config, coalesce bool) (net.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if coalesce {
			ln = smtp.CoalescingListener(ln)
		}
		if tlsCfg != nil {
			ln = tls.NewListener(ln, tlsCfg)
		}
		lc.onStop(name, func(context.Context) error {
			if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				return err
			}
			return nil
		})
		return ln, nil
	}
	var err error
	if cfg.Roles.SMTP {
		if cfg.SMTP.TLS.Enabled() {
			cert, err := tls.LoadX509KeyPair(cfg.SMTP.TLS.CertFile, cfg.SMTP.TLS.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("smtp.tls: %w", err)
			}
			lns.tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		}
		if lns.smtp, err = bind("smtp.listen", cfg.SMTP.Listen, nil, true); err != nil {
			return nil, err
		}
		if cfg.SMTP.TLSListen != "" && lns.tlsConfig != nil {
			if lns.smtpTLS, err = bind("smtp.tls_listen", cfg.SMTP.TLSListen, lns.tlsConfig, true); err != nil {
				return nil, err
			}
		}
	}
	if cfg.Roles.HTTP {
		if lns.http, err = bind("http.listen", cfg.HTTP.Listen, nil, false); err != nil {
			return nil, err
		}
	}
	return &lns, nil
}

// waitGroup waits for wg, or until ctx ends.
func waitGroup(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("goroutines still running: %w", ctx.Err())
	}
}

// keepAccepted is how many accepted messages the store keeps for the
// dispatcher of this instance, which takes each as it reads its queue entry
// (a few milliseconds later under load, so a few thousand suffice); none
// when the instance accepts nothing or does not dispatch.
func keepAccepted(r config.Roles) int {
	if r.Dispatch && (r.SMTP || r.HTTP) {
		return 4096
	}
	return 0
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

func (l rdLink) SubmitAsync(ctx context.Context, r *smpp.SubmitRequest, done func(string, error)) bool {
	r.RegisteredDelivery = l.rd
	return l.Link.SubmitAsync(ctx, r, done)
}

// waitLoaded pings Redis at start-up: an unreachable Redis fails the start
// at once (within 10 s), but one that answers LOADING (restarted, reading
// its dataset, which can take minutes) is waited for until it has loaded or
// ctx ends.
func waitLoaded(ctx context.Context, store *redisstore.Store, logger *slog.Logger) error {
	logged := false
	for {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := store.Ping(pctx)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "LOADING") {
			return err
		}
		if !logged {
			logger.WarnContext(ctx, "redis is loading its dataset; waiting for it", "err", err)
			logged = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for redis to load: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// newRedis connects to a single Redis (TCP or unix socket), to whichever
// server the sentinels say is master when a Sentinel master is named, or to
// a Redis Cluster when its nodes are listed.
func newRedis(c config.Redis) (redis.UniversalClient, error) {
	to := c.Timeout.Std()
	if len(c.Cluster.Addrs) > 0 {
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Cluster.Addrs,
			Username: c.Username, Password: c.Password.Value(), PoolSize: c.PoolSize,
			ReadTimeout: to, WriteTimeout: to}), nil
	}
	if c.Sentinel.Master != "" {
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: c.Sentinel.Master, SentinelAddrs: c.Sentinel.Addrs,
			Username: c.Username, Password: c.Password.Value(), DB: c.DB, PoolSize: c.PoolSize,
			ReadTimeout: to, WriteTimeout: to,
		}), nil
	}
	opts := &redis.Options{Network: "tcp", Addr: c.Addr, Username: c.Username,
		Password: c.Password.Value(), DB: c.DB, PoolSize: c.PoolSize, ReadTimeout: to, WriteTimeout: to}
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

// withConsole serves the REST API and the operations endpoints from api and
// every other path (the web console's pages) from web.
func withConsole(api, web http.Handler) http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/v1/", "/healthz", "/healthz/", "/readyz", "/metrics"} {
		mux.Handle(p, api)
	}
	mux.Handle("/", web)
	return mux
}

// writeAllocsProfile writes every allocation since start (pprof's allocs
// profile) to path.
func writeAllocsProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("memprofile: %w", err)
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("memprofile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("memprofile: %w", err)
	}
	return nil
}
