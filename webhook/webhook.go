// Package webhook delivers account events (message status changes, inbound
// replies, low balance) to the HTTPS endpoints an account registers, signed,
// retried with backoff and logged per webhook.
//
// Model: an account has up to MaxPerAccount webhooks {ID "w...", URL
// (http or https), Events (a subset of the event types; empty means all),
// Status active|disabled, DisabledReason, CreatedAt, ConsecutiveFailures}.
// Each has a signing secret ("whsec_" and 32 random bytes) that is returned
// once, when the webhook is created or its secret rotated; it is stored in
// Redis because every delivery must be signed with it, and it is never
// logged nor returned again.
//
// Keyspace: every key lives under the hash tag of the account's shard (the
// shard is named by the account id, keyspace.ShardOf), so that one Lua
// script sees an account's webhooks and its shard's queue together, on one
// Redis, under Sentinel or on a Redis Cluster:
//
//	P:{sN}:wh:<account>        hash  webhook id -> JSON record
//	P:{sN}:whsec:<account>     hash  webhook id -> signing secret
//	P:{sN}:whlog:<webhook>     list  the last 100 delivery attempts (JSON), newest first
//	P:{sN}:whq                 stream of deliveries due now (field d = delivery id), group "webhooks"
//	P:{sN}:whretry             zset  delivery id -> due time (unix ms)
//	P:{sN}:whd                 hash  delivery id -> payload (webhook, event, body, attempts)
//
// Contract:
//   - Emit enqueues durably: one Lua script reads the account's webhooks and,
//     for each active one subscribed to the type, stores a delivery and adds
//     it to the shard's stream. With no webhooks it is one round trip that
//     writes nothing. Emit never touches the network.
//   - Run's workers read the streams as one consumer group (several
//     instances share it) and POST each event as JSON with Content-Type,
//     Smsgate-Event, Smsgate-Delivery and Smsgate-Signature (see Sign and
//     Verify). A 2xx answer is success; any other status (redirects are
//     not followed), a timeout or a connection error is a failure, retried
//     after Options.Backoff (10s, 30s, 2m, 10m, 1h, 4h, 18h: 8 attempts over
//     about a day). Every attempt is recorded in the webhook's log, its
//     outcome and the next step written by one Lua script.
//   - Delivery is at least once: a worker that dies mid-delivery leaves its
//     entry pending and another claims it after ClaimIdle; a receiver may
//     see a delivery again and should deduplicate on Smsgate-Delivery.
//   - A webhook is disabled, with a reason, when one event exhausts every
//     attempt or after MaxConsecutiveFailures failed attempts in a row;
//     deliveries still queued for it are then dropped. Enabling it again
//     resets the counter. "ping" test events get one attempt and neither
//     count as failures nor disable anything.
//   - Security: only http and https URLs without credentials are accepted,
//     but smsgate cannot know which addresses are internal: operators should
//     run the workers where the network policy lets them reach only the
//     outside world (SSRF). Errors recorded in the log are classified
//     ("timeout", "connection refused", ...) rather than raw, so the log does
//     not map the internal network either.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
	"github.com/smsgate/smsgate/netguard"
)

// Event types an account may subscribe to, and the test event.
const (
	TypeMessageStatus = "message.status"
	TypeReplyReceived = "reply.received"
	TypeBalanceLow    = "balance.low"
	// TypePing is sent only by Test, to one webhook, whatever it subscribes to.
	TypePing = "ping"
)

// Types lists the event types a webhook may subscribe to.
func Types() []string { return []string{TypeMessageStatus, TypeReplyReceived, TypeBalanceLow} }

// Status is a webhook's state.
type Status string

// Webhook states.
const (
	StatusActive   Status = "active"
	StatusDisabled Status = "disabled"
)

// Webhook is one endpoint of an account. The secret is not part of it.
type Webhook struct {
	ID                  string    `json:"id"`
	AccountID           string    `json:"account_id"`
	URL                 string    `json:"url"`
	Events              []string  `json:"events"` // empty: every event type
	Status              Status    `json:"status"`
	DisabledReason      string    `json:"disabled_reason,omitempty"`
	CreatedAt           time.Time `json:"created_at"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
}

// Event is what a delivery carries, as its JSON body.
type Event struct {
	ID        string    `json:"id"` // "evt_..."
	Type      string    `json:"type"`
	AccountID string    `json:"account_id"`
	CreatedAt time.Time `json:"created_at"`
	Data      any       `json:"data"`
}

// Attempt is one delivery attempt, as the webhook's log records it.
type Attempt struct {
	At          time.Time `json:"at"`
	DeliveryID  string    `json:"delivery_id"`
	EventID     string    `json:"event_id"`
	EventType   string    `json:"event_type"`
	Attempt     int       `json:"attempt"` // 1 for the first
	Result      string    `json:"result"`  // "delivered" or "failed"
	StatusCode  int       `json:"status_code,omitempty"`
	Error       string    `json:"error,omitempty"`
	DurationMS  int64     `json:"duration_ms"`
	NextAttempt time.Time `json:"next_attempt_at,omitzero"` // when a retry is scheduled

	elapsed time.Duration // the request's duration, for the log line
	retryIn time.Duration // the wait before the retry at NextAttempt, for the log line
}

// Errors, tested with errors.Is.
var (
	ErrNotFound = errors.New("webhook not found")
	ErrInvalid  = errors.New("invalid webhook")
	ErrLimit    = errors.New("too many webhooks")
)

// defaultBackoff is the delay before each retry: 8 attempts over about a day.
var defaultBackoff = []time.Duration{10 * time.Second, 30 * time.Second, 2 * time.Minute,
	10 * time.Minute, time.Hour, 4 * time.Hour, 18 * time.Hour}

// DefaultBackoff returns the default retry schedule (a fresh copy).
func DefaultBackoff() []time.Duration { return append([]time.Duration(nil), defaultBackoff...) }

// Options configures a Service. Only Redis is required.
type Options struct {
	Redis redis.UniversalClient
	// Shards and Prefix must equal the account store's (redisstore.Options).
	Shards int    // default 1
	Prefix string // default "smsgate"
	// Workers is how many deliveries run at once in Run; default 4.
	Workers int
	// Consumer names this instance in the consumer group; default
	// "webhook-<random>".
	Consumer string
	// Backoff is the delay before each retry; attempts = len(Backoff)+1.
	// Default DefaultBackoff().
	Backoff []time.Duration
	// MaxConsecutiveFailures disables a webhook after that many failed
	// attempts in a row (any events); default 50, negative: never.
	MaxConsecutiveFailures int
	// Timeout bounds one delivery request; default 10s.
	Timeout time.Duration
	// Poll is how long a worker blocks waiting for work and how often due
	// retries are promoted and stale entries claimed; default 1s.
	Poll time.Duration
	// ClaimIdle: an entry read by a worker that has not finished it for
	// this long is taken over by another (its worker died); default 1m,
	// and never less than twice Timeout, so that a slow delivery is not
	// sent twice.
	ClaimIdle time.Duration
	// MaxPerAccount bounds an account's webhooks; default 10. Quota, if
	// set, gives each account's bound instead (the account quotas).
	MaxPerAccount int
	Quota         func(ctx context.Context, accountID string) (int, error)
	// HTTPClient sends deliveries; default a client that follows no
	// redirects, uses no proxy and dials through Guard. Its own timeout, if
	// any, applies besides Timeout.
	HTTPClient *http.Client
	// Guard refuses internal destinations, at creation (literal addresses,
	// localhost names) and at every dial (the resolved address); default
	// netguard.New(nil): every internal address refused.
	Guard *netguard.Guard
	// Logger receives the service's log lines as is: the caller adds the
	// component attribute (cmd/smsgate passes logger.With("component",
	// "webhook")), so each key appears once in a line. Nil discards.
	Logger  *slog.Logger
	Metrics *Metrics // nil: none
	Now     func() time.Time
	// QuietFor is how long an account found to have no active webhook is
	// remembered as such, so that receipts and sends of the (many) accounts
	// without webhooks cost no Redis round trip. A webhook created or
	// enabled through another instance starts receiving events at most this
	// late. Default 2s; negative: always ask Redis.
	QuietFor time.Duration
	// OnPanic is told of a panic recovered while delivering an event
	// (component "webhook"); it logs and counts it. The delivery stays
	// pending and is claimed again after ClaimIdle. nil: the service logs
	// it.
	OnPanic func(component string, v any)
}

// Service manages webhooks and delivers their events. It is safe for
// concurrent use; its only state is the short-lived memory of accounts
// without webhooks (Options.QuietFor).
type Service struct {
	o   Options
	db  *store.DB // the Redis client and keyspace (Options.Redis, Shards, Prefix)
	log *slog.Logger

	mu    sync.Mutex
	quiet map[string]time.Time // account id -> until when it is known to have no webhook
}

// New returns a Service.
func New(o Options) *Service {
	if o.Shards <= 0 {
		o.Shards = 1
	}
	if o.QuietFor == 0 {
		o.QuietFor = 2 * time.Second
	}
	if o.Prefix == "" {
		o.Prefix = "smsgate"
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Consumer == "" {
		o.Consumer = store.NewID("webhook-", 8)
	}
	if len(o.Backoff) == 0 {
		o.Backoff = DefaultBackoff()
	}
	if o.MaxConsecutiveFailures == 0 {
		o.MaxConsecutiveFailures = 50
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.ClaimIdle <= 0 {
		o.ClaimIdle = time.Minute
	}
	o.ClaimIdle = max(o.ClaimIdle, 2*o.Timeout)
	if o.MaxPerAccount <= 0 {
		o.MaxPerAccount = 10
	}
	if o.Guard == nil {
		o.Guard, _ = netguard.New(nil) // no allow list: cannot fail
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{
			Transport: &http.Transport{
				Proxy:               nil, // never an environment proxy: the guard must see the destination
				DialContext:         o.Guard.DialContext,
				ForceAttemptHTTP2:   true,
				MaxIdleConns:        100,
				IdleConnTimeout:     90 * time.Second,
				TLSHandshakeTimeout: 10 * time.Second,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	db := store.NewDB(o.Redis, store.Options{Shards: o.Shards, Prefix: o.Prefix})
	return &Service{o: o, db: db, log: o.Logger, quiet: map[string]time.Time{}}
}

// Metrics are the package's Prometheus metrics.
type Metrics struct {
	deliveries *prometheus.CounterVec
	duration   prometheus.Histogram
	enqueued   *prometheus.CounterVec
}

// NewMetrics registers the metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		deliveries: f.NewCounterVec(prometheus.CounterOpts{
			Name: "smsgate_webhook_deliveries_total",
			Help: "Webhook delivery attempts by result: delivered, failed (will retry or gave up), dropped (webhook disabled or deleted).",
		}, []string{"result"}),
		duration: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "smsgate_webhook_delivery_duration_seconds",
			Help:    "Duration of webhook delivery requests.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		enqueued: f.NewCounterVec(prometheus.CounterOpts{
			Name: "smsgate_webhook_events_enqueued_total",
			Help: "Webhook deliveries enqueued by event type.",
		}, []string{"type"}),
	}
	for _, r := range []string{"delivered", "failed", "dropped"} {
		m.deliveries.WithLabelValues(r)
	}
	for _, t := range append(Types(), TypePing) {
		m.enqueued.WithLabelValues(t)
	}
	return m
}

// Emit enqueues an event of type typ for every active webhook of the
// account subscribed to it. It does not deliver: Run does. With no
// webhooks it writes nothing.
func (s *Service) Emit(ctx context.Context, accountID, typ string, data any) error {
	_, err := s.emit(ctx, accountID, typ, data, "")
	return err
}

// emit enqueues an event for the account's matching webhooks, or for the
// webhook only alone (any status and subscription) when only is set. It
// returns the event id and how many deliveries it enqueued.
func (s *Service) emit(ctx context.Context, accountID, typ string, data any, only string) (string, error) {
	if only == "" && s.isQuiet(accountID) {
		return "", nil
	}
	k, err := s.keys(accountID)
	if err != nil {
		return "", fmt.Errorf("emit %s: %w", typ, err)
	}
	ev := Event{ID: store.NewID("evt_", 12), Type: typ, AccountID: accountID, CreatedAt: s.o.Now().UTC(), Data: data}
	body, err := json.Marshal(ev)
	if err != nil {
		return "", fmt.Errorf("emit %s: encode: %w", typ, err)
	}
	n, err := s.db.Run(ctx, emitScript, []string{k.hooks, k.queue, k.deliveries},
		typ, body, store.NewID("dlv_", 10), only, ev.ID, accountID, s.o.Now().UnixMilli()).Int()
	if err != nil {
		return "", fmt.Errorf("emit %s for account %s: %w", typ, accountID, err)
	}
	if n < 0 {
		return "", fmt.Errorf("emit %s: webhook %s: %w", typ, only, ErrNotFound)
	}
	if n == 0 && only == "" {
		s.setQuiet(accountID, true)
	}
	if s.o.Metrics != nil && n > 0 {
		s.o.Metrics.enqueued.WithLabelValues(typ).Add(float64(n))
	}
	return ev.ID, nil
}

// isQuiet reports whether accountID was recently found to have no webhook.
func (s *Service) isQuiet(accountID string) bool {
	if s.o.QuietFor < 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.quiet[accountID]
	return ok && s.o.Now().Before(until)
}

// setQuiet remembers (or forgets) that accountID has no active webhook.
func (s *Service) setQuiet(accountID string, quiet bool) {
	if s.o.QuietFor < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !quiet {
		delete(s.quiet, accountID)
		return
	}
	if len(s.quiet) >= 100_000 {
		clear(s.quiet)
	}
	s.quiet[accountID] = s.o.Now().Add(s.o.QuietFor)
}

// MessageData is the data of a message.status event.
type MessageData struct {
	ID          string    `json:"id"`
	AccountID   string    `json:"account_id"`
	To          string    `json:"to"`
	Status      string    `json:"status"`
	Error       string    `json:"error,omitempty"`
	Parts       int       `json:"parts"`
	Price       int64     `json:"price"`
	Sender      string    `json:"sender"`
	CreatedAt   time.Time `json:"created_at"`
	SubmittedAt time.Time `json:"submitted_at,omitzero"`
	DoneAt      time.Time `json:"done_at,omitzero"`
}

// ReplyData is the data of a reply.received event. Message summarises the
// message it answers, when known.
type ReplyData struct {
	ID         string       `json:"id"`
	AccountID  string       `json:"account_id"`
	From       string       `json:"from"`
	To         string       `json:"to"`
	Text       string       `json:"text"`
	ReceivedAt time.Time    `json:"received_at"`
	Sender     string       `json:"sender,omitempty"`
	Message    *MessageData `json:"message,omitempty"`
}

// BalanceData is the data of a balance.low event; amounts in minor units.
type BalanceData struct {
	AccountID string `json:"account_id"`
	Balance   int64  `json:"balance"`
	Threshold int64  `json:"threshold"`
	Currency  string `json:"currency"`
}

func messageData(m *accounts.Message) *MessageData {
	return &MessageData{ID: m.ID, AccountID: m.AccountID, To: m.To, Status: string(m.Status), Error: m.Error,
		Parts: m.Parts, Price: m.Price, Sender: m.Sender, CreatedAt: m.CreatedAt, SubmittedAt: m.SubmittedAt, DoneAt: m.DoneAt}
}

// WantsStatus reports whether m's account may have a webhook for its final
// status: false only while the account is known to have none (router's
// StatusInterest, so that the message is not read for nothing).
func (s *Service) WantsStatus(_ context.Context, m *accounts.Message) bool {
	return !s.isQuiet(m.AccountID)
}

// MessageStatus emits message.status for m.
func (s *Service) MessageStatus(ctx context.Context, m *accounts.Message) error {
	return s.Emit(ctx, m.AccountID, TypeMessageStatus, messageData(m))
}

// Reply emits reply.received for r, which answers orig (nil when unknown).
func (s *Service) Reply(ctx context.Context, r *accounts.Reply, orig *accounts.Message) error {
	d := ReplyData{ID: r.ID, AccountID: r.AccountID, From: r.From, To: r.To, Text: r.Text,
		ReceivedAt: r.ReceivedAt, Sender: r.Sender}
	if orig != nil {
		d.Message = messageData(orig)
	}
	return s.Emit(ctx, r.AccountID, TypeReplyReceived, d)
}

// LowBalance emits balance.low for acct.
func (s *Service) LowBalance(ctx context.Context, acct *accounts.Account) error {
	return s.Emit(ctx, acct.ID, TypeBalanceLow, BalanceData{AccountID: acct.ID, Balance: acct.Balance,
		Threshold: acct.LowBalance, Currency: acct.Currency})
}
