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
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smsgate/smsgate/smpp"
)

// Stores are what the API needs of the account store, one field per area.
// Each field's type is an interface that its area declares beside its
// routes, with only the methods those routes call, so that an area can be
// tested with a small fake and the API never depends on the whole store.
// The account store satisfies every one of them: callers wire the same
// value into each field.
//
// A nil field leaves its area unserved: the area's routes answer 503
// (problem type "unavailable"), and New logs which areas are unserved. A
// nil Auth leaves every route that needs an API key unserved.
type Stores struct {
	// Auth resolves API keys and loads accounts for authorisation.
	Auth AuthStore
	// Accounts serves /v1/me and /v1/accounts (listing, creating,
	// settings, activating and deactivating).
	Accounts AccountStore
	// Registrations serves an account's email-to-SMS domains and addresses.
	Registrations RegistrationStore
	// Policies serves an account's sender policy.
	Policies PolicyStore
	// Keys serves an account's API keys.
	Keys KeyStore
	// Money serves credit, debit and the ledger.
	Money MoneyStore
	// Messages serves the message log and its export; POST /v1/messages
	// also needs Options.Sender.
	Messages MessageStore
	// Inbox serves replies and the reply routing rules.
	Inbox InboxStore
	// Users serves members, invitations, login and users' own keys.
	Users UserStore
	// Permissions serves a sub-account's permission flags.
	Permissions PermissionStore
	// Billing serves prices, top-ups, the ledger export and deleting a
	// sub-account.
	Billing BillingStore
	// Stats serves statistics and their export.
	Stats StatsStore
	// Contacts serves contacts and groups.
	Contacts ContactStore
	// OptOuts serves the opt-out list, the STOP rule and blocked messages.
	OptOuts OptOutStore
	// Automations serves automation rules.
	Automations AutomationStore
	// Senders serves an account's numbers and sender ids.
	Senders SenderStore
	// Templates serves message templates.
	Templates TemplateStore
	// Operator serves the operator's routes (the unrouted inbox).
	Operator OperatorStore
}

// Options configures the handler built by New.
type Options struct {
	// Stores are the account store's parts, one per area; a nil one
	// leaves its area's routes answering 503 (see Stores).
	Stores Stores
	// Logger receives request errors; default discards. The caller adds
	// the component attribute.
	Logger *slog.Logger
	// Registry is served at /metrics; nil serves an empty registry.
	Registry prometheus.Gatherer
	// Registerer, if set, receives the API's own metrics
	// (smsgate_api_requests_total, smsgate_api_request_duration_seconds).
	Registerer prometheus.Registerer
	// Ready reports readiness for /readyz: nil means ready. Nil Ready is
	// always ready.
	Ready func(ctx context.Context) error
	// OperatorKeys are the SHA-256 sums of the operator keys that open
	// /v1/operator/... (ParseOperatorKeys); none: those routes answer 503.
	OperatorKeys [][]byte
	// Links reports the carrier links' state for /healthz/links; nil: the
	// instance has none (the route answers an empty list).
	Links func() []smpp.LinkStatus
	// Webhooks manages accounts' webhooks (*webhook.Service); nil: the
	// webhook routes answer 503.
	Webhooks WebhookService
	// Sender accepts messages sent with POST /v1/messages (the router's
	// pipeline); nil: that route answers 503.
	Sender MessageSender
	// AllowedSenderIDs are alphanumeric sender ids any parent may hand out
	// (dispatch.allowed_sender_ids); others need the operator's approval.
	AllowedSenderIDs []string
	// Mailer sends a plain-text mail through the relay (address
	// confirmations); nil: registering an address that needs one answers 503.
	Mailer func(ctx context.Context, to, subject, body string) error
	// LookupTXT resolves TXT records for domain verification; nil: the
	// verify route answers 503.
	LookupTXT func(ctx context.Context, name string) ([]string, error)
	// ConsoleURL is the web console's public address
	// ("https://sms.example.com"); set, invitation mails link to its
	// acceptance page.
	ConsoleURL string
	// OnPanic is told of a handler panic before the handler answers 500
	// with a reference (the caller counts it); nil: only logged.
	OnPanic func(v any)
}

// maxBody bounds request bodies.
const maxBody = 64 << 10

type server struct {
	openapiDoc []byte
	log        *slog.Logger
	ready      func(ctx context.Context) error
	metrics    *metrics
	webhooks   WebhookService
	sender     MessageSender
	onPanic    func(v any)
	links      func() []smpp.LinkStatus
	// operator routes (routes_operator.go)
	operatorKeys     [][]byte
	operatorStore    OperatorStore
	mailer           func(ctx context.Context, to, subject, body string) error
	allowedSenderIDs []string
	consoleURL       string
	lookupTXT        func(ctx context.Context, name string) ([]string, error)

	// One store per area, from Options.Stores; nil: the area is unserved.
	auth          AuthStore
	accounts      AccountStore
	registrations RegistrationStore
	policies      PolicyStore
	keys          KeyStore
	money         MoneyStore
	messages      MessageStore
	inbox         InboxStore
	users         UserStore
	permissions   PermissionStore
	billing       BillingStore
	stats         StatsStore
	contacts      ContactStore
	optouts       OptOutStore
	automations   AutomationStore
	senders       SenderStore
	templates     TemplateStore
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
		{"GET /healthz/links", false, s.linksHealth},
		{"GET /metrics", false, promhttp.HandlerFor(gather, promhttp.HandlerOpts{}).ServeHTTP},
		{"GET /v1/openapi.json", false, s.openapi},
	}, s.areaRoutes()...)
}

// area is one API area: its routes, defined in its own file, and whether
// its store was given. name is its field of Stores.
type area struct {
	name   string
	served bool
	routes []route
}

// areas lists the API's areas.
func (s *server) areas() []area {
	return []area{
		{"Accounts", s.accounts != nil, s.accountRoutes()},
		{"Registrations", s.registrations != nil, s.registrationRoutes()},
		{"Policies", s.policies != nil, s.policyRoutes()},
		{"Operator", s.operatorStore != nil, s.operatorRoutes()},
		{"Money", s.money != nil, s.moneyRoutes()},
		{"Keys", s.keys != nil, s.keyRoutes()},
		{"Messages", s.messages != nil, s.messageRoutes()},
		{"Inbox", s.inbox != nil, s.inboxRoutes()},
		{"Users", s.users != nil, s.userRoutes()},
		{"Permissions", s.permissions != nil, s.permissionRoutes()},
		{"Billing", s.billing != nil, s.billingRoutes()},
		// Webhooks need no account store; without a webhook service its
		// routes answer 503 themselves (webhookTarget).
		{"Webhooks", true, s.webhookRoutes()},
		{"Stats", s.stats != nil, s.statsRoutes()},
		{"Contacts", s.contacts != nil, s.contactRoutes()},
		{"OptOuts", s.optouts != nil, s.optoutRoutes()},
		{"Automations", s.automations != nil, s.automationRoutes()},
		{"Senders", s.senders != nil, s.senderRoutes()},
		{"Templates", s.templates != nil, s.templateRoutes()},
	}
}

// areaRoutes collects the routes of every area; those of an unserved area
// answer 503.
func (s *server) areaRoutes() []route {
	var rs []route
	for _, a := range s.areas() {
		for _, rt := range a.routes {
			if !a.served {
				rt.h = unserved(a.name)
			}
			rs = append(rs, rt)
		}
	}
	return rs
}

// unserved answers the routes of an area whose store was not given.
func unserved(area string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, problemf(http.StatusServiceUnavailable, "unavailable",
			"this instance does not serve the %s routes", strings.ToLower(area)))
	}
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
	st := opts.Stores
	s := &server{log: opts.Logger, ready: opts.Ready, openapiDoc: doc,
		webhooks: opts.Webhooks, sender: opts.Sender, onPanic: opts.OnPanic,
		mailer: opts.Mailer, allowedSenderIDs: opts.AllowedSenderIDs, consoleURL: opts.ConsoleURL, lookupTXT: opts.LookupTXT, links: opts.Links,
		operatorKeys: opts.OperatorKeys, operatorStore: st.Operator,
		auth: st.Auth, accounts: st.Accounts, registrations: st.Registrations, policies: st.Policies, keys: st.Keys, money: st.Money,
		messages: st.Messages, inbox: st.Inbox, users: st.Users, permissions: st.Permissions, billing: st.Billing,
		stats: st.Stats, contacts: st.Contacts, optouts: st.OptOuts, automations: st.Automations,
		senders: st.Senders, templates: st.Templates}
	var off []string
	if s.auth == nil {
		off = append(off, "Auth")
	}
	for _, a := range s.areas() {
		if !a.served {
			off = append(off, a.name)
		}
	}
	if len(off) > 0 {
		s.log.Warn("api areas not served: their stores are nil", "areas", off)
	}
	if opts.Registerer != nil {
		s.metrics = newMetrics(opts.Registerer)
	}
	mux := http.NewServeMux()
	params, err := queryParams(doc)
	if err != nil {
		panic(err) // the embedded document is broken: a test catches it first
	}
	for _, rt := range s.routes(opts.Registry) {
		var h http.Handler = knownQuery(rt.pattern, params[rt.pattern], rt.h)
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
				if s.onPanic != nil { // before the answer, which ends the request for the client
					s.onPanic(v)
				}
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

// readyz answers 200 "ready" while the instance can take work (Redis
// answers, every loop runs, it is not draining), else 503. Either way it
// lists the carrier links' state, which does not decide readiness (mail is
// still accepted and queued while a link is down; /healthz/links fails
// then): "link <name>: up" or "down".
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	var links strings.Builder
	if s.links != nil {
		for _, l := range s.links() {
			state := "down"
			if l.Up {
				state = "up"
			}
			fmt.Fprintf(&links, "link %s: %s\n", l.Name, state)
		}
	}
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			ref := newRef()
			s.log.WarnContext(r.Context(), "not ready", "ref", ref, "err", err)
			detail := "not ready (ref " + ref + ")"
			if links.Len() > 0 {
				detail += "; " + strings.ReplaceAll(strings.TrimSuffix(links.String(), "\n"), "\n", ", ")
			}
			writeProblem(w, problemf(http.StatusServiceUnavailable, "not-ready", "%s", detail))
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ready\n" + links.String()))
}

// linksHealth answers each carrier link's state: 200 when every link is
// up, 503 when one is down (a load balancer or an alert can use either).
func (s *server) linksHealth(w http.ResponseWriter, _ *http.Request) {
	out := struct {
		Links []smpp.LinkStatus `json:"links"`
	}{Links: []smpp.LinkStatus{}}
	if s.links != nil {
		out.Links = s.links()
	}
	code := http.StatusOK
	for _, l := range out.Links {
		if !l.Up {
			code = http.StatusServiceUnavailable
		}
	}
	writeJSON(w, code, out)
}

func (s *server) openapi(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.openapiDoc)
}
