// Package api is smsgate's HTTP interface: the REST API under /v1 (JSON,
// API keys as bearer tokens, an OpenAPI 3.1 document at /v1/openapi.json),
// plus /healthz, /readyz and /metrics.
//
// Contract: every /v1 route except the OpenAPI document requires
// "Authorization: Bearer <secret>" (401 otherwise) and passes one
// authorisation function, authorize. An account outside the key's reach
// answers 404, never 403, so that other tenants' ids leak nothing. Every
// error is an RFC 9457 application/problem+json whose detail names what was
// wrong and where; a 500 carries only "internal error (ref <id>)" and the
// error is logged under that ref. Money is integer minor units.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smsgate/smsgate/accounts"
)

// Store is what the API needs of the account store (*redisstore.Store): the
// core below plus one interface per area, each defined beside its routes.
type Store interface {
	coreStore
	userStore
	permissionStore
	billingStore
	statsStore
	contactStore
	inboxStore
	optoutStore
	automationStore
	senderStore
	templateStore
}

// coreStore: accounts, registrations, keys, messages and inbox.
type coreStore interface {
	CreateAccount(ctx context.Context, a accounts.Account) (*accounts.Account, error)
	GetAccount(ctx context.Context, id string) (*accounts.Account, error)
	UpdateAccount(ctx context.Context, a *accounts.Account) error
	ListSubAccounts(ctx context.Context, parentID string) ([]*accounts.Account, error)
	SetStatus(ctx context.Context, id string, st accounts.Status) error
	AddDomain(ctx context.Context, accountID, domain string) error
	RemoveDomain(ctx context.Context, accountID, domain string) error
	AddAddress(ctx context.Context, accountID, address string) error
	RemoveAddress(ctx context.Context, accountID, address string) error
	Registrations(ctx context.Context, accountID string) (domains, addresses []string, err error)
	Transfer(ctx context.Context, fromID, toID string, amount int64, ref, actor string) (from, to *accounts.LedgerEntry, err error)
	Ledger(ctx context.Context, accountID string, limit int) ([]accounts.LedgerEntry, error)
	CreateKey(ctx context.Context, accountID string, role accounts.Role, name string) (secret string, key *accounts.APIKey, err error)
	Authenticate(ctx context.Context, secret string) (*accounts.APIKey, error)
	ListKeys(ctx context.Context, accountID string) ([]accounts.APIKey, error)
	RevokeKey(ctx context.Context, accountID, keyID string) error
	RotateKey(ctx context.Context, accountID, keyID string) (string, *accounts.APIKey, error)
	GetMessage(ctx context.Context, id string) (*accounts.Message, error)
	ListMessages(ctx context.Context, accountID string, limit int) ([]*accounts.Message, error)
	ListInbox(ctx context.Context, accountID string, limit int) ([]*accounts.Reply, error)
	GetReply(ctx context.Context, id string) (*accounts.Reply, error)
}

// Options configures the handler built by New.
type Options struct {
	// Store holds accounts, keys, money and messages. Required.
	Store Store
	// Logger receives request errors; default discards.
	Logger *slog.Logger
	// Registry is served at /metrics; nil serves an empty registry.
	Registry prometheus.Gatherer
	// Registerer, if set, receives the API's own metrics
	// (smsgate_api_requests_total, smsgate_api_request_duration_seconds).
	Registerer prometheus.Registerer
	// Ready reports readiness for /readyz: nil means ready. Nil Ready is
	// always ready.
	Ready func(ctx context.Context) error
	// Webhooks manages accounts' webhooks (*webhook.Service); nil: the
	// webhook routes answer 503.
	Webhooks WebhookService
	// Sender accepts messages sent with POST /v1/messages (the router's
	// pipeline); nil: that route answers 503.
	Sender MessageSender
}

// maxBody bounds request bodies.
const maxBody = 64 << 10

type server struct {
	openapiDoc []byte
	store      Store
	log        *slog.Logger
	ready      func(ctx context.Context) error
	metrics    *metrics
	webhooks   WebhookService
	sender     MessageSender
}

// metrics are the API's Prometheus metrics.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "smsgate_api_requests_total",
			Help: "HTTP API requests by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "smsgate_api_request_duration_seconds",
			Help:    "HTTP API request duration by route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
	}
}

// route is one entry of the route table: an http.ServeMux pattern
// ("GET /v1/accounts/{id}") and its handler. auth says whether the route
// needs an API key.
type route struct {
	pattern string
	auth    bool
	h       http.HandlerFunc
}

// routes is the route table; the OpenAPI document covers every entry (a
// test checks it).
func (s *server) routes(gather prometheus.Gatherer) []route {
	return append([]route{
		{"GET /healthz", false, s.healthz},
		{"GET /readyz", false, s.readyz},
		{"GET /metrics", false, promhttp.HandlerFor(gather, promhttp.HandlerOpts{}).ServeHTTP},
		{"GET /v1/openapi.json", false, s.openapi},
	}, s.areaRoutes()...)
}

// areaRoutes collects the routes of each area, each defined in its own file.
func (s *server) areaRoutes() []route {
	var rs []route
	for _, area := range [][]route{s.accountRoutes(), s.registrationRoutes(), s.moneyRoutes(), s.keyRoutes(),
		s.messageRoutes(), s.inboxRoutes(), s.userRoutes(), s.permissionRoutes(), s.billingRoutes(),
		s.webhookRoutes(), s.statsRoutes(), s.contactRoutes(), s.optoutRoutes(), s.automationRoutes(),
		s.senderRoutes(), s.templateRoutes()} {
		rs = append(rs, area...)
	}
	return rs
}

// h adapts a handler that returns an error: a *Problem is sent as it is,
// anything else goes through toProblem (and so becomes a logged 500 unless
// it is a known store error).
func (s *server) h(fn func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			writeProblem(w, s.toProblem(r.Context(), err, "request", ""))
		}
	}
}

// New returns the HTTP handler of the API.
func New(opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	doc, err := buildOpenAPI()
	if err != nil {
		panic(err) // the embedded document is broken: a test catches it first
	}
	s := &server{store: opts.Store, log: opts.Logger.With("component", "api"), ready: opts.Ready, openapiDoc: doc,
		webhooks: opts.Webhooks, sender: opts.Sender}
	if opts.Registerer != nil {
		s.metrics = newMetrics(opts.Registerer)
	}
	mux := http.NewServeMux()
	for _, rt := range s.routes(opts.Registry) {
		var h http.Handler = rt.h
		if rt.auth {
			h = s.authenticate(h)
		}
		mux.Handle(rt.pattern, s.instrument(rt.pattern, h))
	}
	// Unmatched paths and methods answer with a problem, not text/plain.
	mux.Handle("/", s.instrument("other", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, problemf(http.StatusNotFound, "not-found", "no route for %s %s (see /v1/openapi.json)", r.Method, r.URL.Path))
	})))
	return mux
}

// statusWriter records the status code of a response.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument recovers panics, logs each request at debug level and records
// metrics under the route pattern (a bounded label).
func (s *server) instrument(pattern string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				ref := newRef()
				s.log.ErrorContext(r.Context(), "handler panic", "ref", ref, "route", pattern, "panic", v)
				if sw.code == 0 {
					writeProblem(sw, problemf(http.StatusInternalServerError, "internal", "internal error (ref %s)", ref))
				}
			}
			code := sw.code
			if code == 0 {
				code = http.StatusOK
			}
			if s.metrics != nil {
				s.metrics.requests.WithLabelValues(pattern, strconv.Itoa(code)).Inc()
				s.metrics.duration.WithLabelValues(pattern).Observe(time.Since(start).Seconds())
			}
			s.log.DebugContext(r.Context(), "request", "route", pattern, "code", code,
				"duration", time.Since(start))
		}()
		h.ServeHTTP(sw, r)
	})
}

func (s *server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			ref := newRef()
			s.log.WarnContext(r.Context(), "not ready", "ref", ref, "err", err)
			writeProblem(w, problemf(http.StatusServiceUnavailable, "not-ready", "not ready (ref %s)", ref))
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ready\n"))
}

func (s *server) openapi(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.openapiDoc)
}
