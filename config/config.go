// Package config is smsgate's YAML configuration: the schema, its defaults
// and its validation.
//
// Contract:
//   - Load decodes strictly over Default(): every key not in the schema is an
//     error, keys left out keep their defaults (links get DefaultLink), and
//     the result is normalised (domains lower-cased) and validated.
//   - Every problem is reported at once, as *Errors, each entry naming its
//     field path ("links[1].addr: required") and, for decode problems, the
//     YAML line. Validate applies the same rules to a Config built in code.
//   - Secrets are of type Secret and never print: String, LogValue, JSON and
//     YAML all show "<secret>" ("" when unset). Redacted is the config as
//     YAML, safe to show, and loads back.
//
// The package imports none of smsgate's own packages.
package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/smsgate/smsgate/accounts"
)

// Config is the whole daemon configuration, one YAML document.
type Config struct {
	Log      Log      `yaml:"log"`
	Roles    Roles    `yaml:"roles"`
	Redis    Redis    `yaml:"redis"`
	SMTP     SMTP     `yaml:"smtp"`
	HTTP     HTTP     `yaml:"http"`
	Dispatch Dispatch `yaml:"dispatch"`
	Links    []Link   `yaml:"links"`
	Relay    Relay    `yaml:"relay"`
	DNS      DNS      `yaml:"dns"`
	Inbound  Inbound  `yaml:"inbound"`
	Webhooks Webhooks `yaml:"webhooks"`
	Shutdown Shutdown `yaml:"shutdown"`
	Runtime  Runtime  `yaml:"runtime"`
	// Retention is how long records are kept, by age.
	Retention Retention `yaml:"retention"`
	// Quotas are the default quotas of every account (what one account may
	// store: counts, and the sizes of its inbox and blocked log); 0 means
	// the built-in default. The operator overrides them per parent account
	// (smsgate admin quotas).
	Quotas accounts.Quotas `yaml:"quotas"`
}

// Webhooks configures outbound webhook deliveries.
type Webhooks struct {
	// AllowInternal are internal targets tenants' webhooks may reach (IP
	// addresses, CIDR networks or host names); every other loopback,
	// private, link-local, unique-local, CGNAT, multicast or unspecified
	// address is refused, checked on the resolved address at dial time.
	AllowInternal []string `yaml:"allow_internal"`
}

// Inbound configures what carriers send: replies and receipts.
type Inbound struct {
	// ReassemblyWait is how long the parts of a long reply wait for the
	// others; then it is delivered with what came, marked incomplete.
	ReassemblyWait Duration `yaml:"reassembly_wait"`
}

// DNS configures the lookups of the sender policy (SPF, DKIM keys).
type DNS struct {
	// Servers are resolvers to ask, host:port, tried in order; empty: the
	// system's (/etc/resolv.conf).
	Servers []string `yaml:"servers"`
	// Timeout bounds each lookup; a mail whose check times out is
	// deferred (451), never accepted.
	Timeout Duration `yaml:"timeout"`
	// CacheTTL is how long an answer is remembered; NegativeCacheTTL how
	// long "no such record" is. Failures are never remembered.
	CacheTTL         Duration `yaml:"cache_ttl"`
	NegativeCacheTTL Duration `yaml:"negative_cache_ttl"`
}

// Log configures log/slog output.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn or error
	Format string `yaml:"format"` // json or text
}

// Roles turns the parts of the daemon on or off per instance, so that one
// binary can run as an SMTP front end, a dispatcher, an API server or all of
// them. At least one must be on.
type Roles struct {
	SMTP     bool `yaml:"smtp"`
	Dispatch bool `yaml:"dispatch"`
	HTTP     bool `yaml:"http"`
}

// ParseRoles turns a comma-separated list of role names ("smtp,http") into
// Roles: how `smsgate serve --roles` lets one configuration file serve
// instances of different roles (a Kubernetes Deployment per role).
func ParseRoles(list string) (Roles, error) {
	var r Roles
	for _, name := range strings.Split(list, ",") {
		switch strings.TrimSpace(name) {
		case "smtp":
			r.SMTP = true
		case "dispatch":
			r.Dispatch = true
		case "http":
			r.HTTP = true
		default:
			return Roles{}, fmt.Errorf("unknown role %q: the roles are smtp, dispatch and http", strings.TrimSpace(name))
		}
	}
	return r, nil
}

// Redis locates the shared Redis: a single server, a Sentinel-managed
// master when Sentinel.Master is set, or a Redis Cluster when Cluster.Addrs
// is set.
type Redis struct {
	Addr     string   `yaml:"addr"` // host:port, or unix:/path/to/redis.sock
	Username string   `yaml:"username"`
	Password Secret   `yaml:"password"`
	DB       int      `yaml:"db"`
	Sentinel Sentinel `yaml:"sentinel"`
	Cluster  Cluster  `yaml:"cluster"`
	// Shards is the number of keyspace shards (hash tags). It is fixed for
	// the life of a deployment (the daemon records it in Redis and refuses
	// another): changing it re-homes account trees. 0, the default, means
	// 1 on a single Redis or under Sentinel and DefaultClusterShards on a
	// cluster; see EffectiveShards.
	Shards   int `yaml:"shards"`
	PoolSize int `yaml:"pool_size"` // 0 means the go-redis default
	// Timeout bounds each Redis command's read and write (3s): a command
	// that outlasts it fails (a read is retried by the client, a script
	// never is: its caller answers 451).
	Timeout Duration `yaml:"timeout"`
	// MemoryHigh is the share of Redis's maxmemory (on the fullest master)
	// past which new mail is deferred (452 4.3.1) while queued work drains,
	// rather than accepted and then refused halfway by an OOM; checked every
	// second. 0.9 by default; 0 turns it off (Redis without maxmemory is
	// never full).
	MemoryHigh float64 `yaml:"memory_high"`
	// MinReplicasAck is how many replicas must have an accepted mail before
	// it is answered 250 (Redis WAIT), waiting at most ReplicaAckTimeout;
	// fewer in time is a 451 (the retry is recognised by its Message-ID).
	// 0 (the default): 250 once the master has it.
	MinReplicasAck    int      `yaml:"min_replicas_ack"`
	ReplicaAckTimeout Duration `yaml:"replica_ack_timeout"`
}

// Retention is how long each kind of record is kept, by age ("90d",
// "720h"); 0 keeps it for ever (the inbox and the blocked log stay bounded
// by their count quotas). One instance of the deployment sweeps (a Redis
// lease), every Every. Statistics expire by themselves after 400 days; the
// ledger is never expired.
type Retention struct {
	Messages Duration `yaml:"messages"` // the message log with each message's record (90d)
	Inbox    Duration `yaml:"inbox"`    // replies, routed and unrouted (90d)
	Blocked  Duration `yaml:"blocked"`  // recipients blocked by an opt-out (90d)
	// Ledger folds ledger entries older than this into each account's
	// opening balance (signed off by "retention"); 0, the default, keeps
	// every entry (compact by hand: smsgate admin ledger compact).
	Ledger Duration `yaml:"ledger"`
	// Idempotency is how long a mail's Message-ID (or digest, or an API
	// request's Idempotency-Key) recognises its retry (24h); ReceiptIndex
	// how long a submitted part's SMSC id finds its message for a late
	// receipt (7d). Both expire by Redis TTL.
	Idempotency  Duration `yaml:"idempotency"`
	ReceiptIndex Duration `yaml:"receipt_index"`
	// Statistics is how long each day's statistics are kept (400d, the
	// longest: a day's counters expire by Redis TTL then); at least
	// receipt_index, so that a late receipt never counts into a day
	// already swept. WebhookLog is how long a webhook's delivery log
	// keeps an attempt (30d; 0 keeps its last 100 whatever their age).
	Statistics Duration `yaml:"statistics"`
	WebhookLog Duration `yaml:"webhook_log"`
	Every      Duration `yaml:"every"` // how often the sweep runs (10m)
}

// MaxStatisticsRetention is the longest retention.statistics: a day's
// statistics expire by Redis TTL 400 days after their first count.
const MaxStatisticsRetention = 400 * 24 * time.Hour

// Cluster lists nodes of a Redis Cluster (any of its masters or replicas;
// the client learns the rest from them).
type Cluster struct {
	Addrs []string `yaml:"addrs"` // host:port of each seed node
}

// DefaultClusterShards is the shard count on a Redis Cluster when
// redis.shards is not set: enough hash tags that tenants spread over the
// masters of a small cluster (16 tags fall 6/4/6 on three equal masters).
const DefaultClusterShards = 16

// EffectiveShards is the shard count the daemon uses: Shards when set,
// otherwise 1, or DefaultClusterShards on a cluster.
func (r Redis) EffectiveShards() int {
	switch {
	case r.Shards > 0:
		return r.Shards
	case len(r.Cluster.Addrs) > 0:
		return DefaultClusterShards
	}
	return 1
}

// Target describes where the daemon's Redis is, for errors and logs.
func (r Redis) Target() string {
	switch {
	case len(r.Cluster.Addrs) > 0:
		return "cluster " + strings.Join(r.Cluster.Addrs, ",")
	case r.Sentinel.Master != "":
		return "sentinel master " + r.Sentinel.Master
	}
	return r.Addr
}

// Sentinel names the master and the sentinels that watch it.
type Sentinel struct {
	Master string   `yaml:"master"`
	Addrs  []string `yaml:"addrs"` // host:port of each sentinel
}

// SMTP configures the listener that accepts mail for SMS.
type SMTP struct {
	Listen    string `yaml:"listen"`     // plain SMTP with optional STARTTLS
	TLSListen string `yaml:"tls_listen"` // implicit TLS (port 465 style); needs TLS
	Hostname  string `yaml:"hostname"`   // greeting and EHLO name
	// Domains are the SMS recipient domains: mail to <number>@<domain>.
	// Lower-cased by Load.
	Domains         []string `yaml:"domains"`
	MaxRecipients   int      `yaml:"max_recipients"`
	MaxMessageBytes int64    `yaml:"max_message_bytes"`
	ReadTimeout     Duration `yaml:"read_timeout"`
	WriteTimeout    Duration `yaml:"write_timeout"`
	// CommandTimeout bounds the Redis work done for one SMTP command.
	CommandTimeout Duration `yaml:"command_timeout"`
	// SenderCache is how long a resolved sender (or an unknown one) is
	// remembered; a removed registration may be honoured that long. 0 turns
	// the cache off. Account state is checked again when the mail is accepted.
	SenderCache       Duration `yaml:"sender_cache"`
	TLS               TLS      `yaml:"tls"`
	RequireTLS        bool     `yaml:"require_tls"`
	AllowInsecureAuth bool     `yaml:"allow_insecure_auth"`
	// Postmaster is the operator address to which mail for
	// postmaster@<sms-domain> is forwarded through the relay (RFC 5321
	// §4.5.1). Empty: such mail is still accepted, and only logged.
	Postmaster string `yaml:"postmaster"`
}

// TLS names a certificate and its key, PEM files. STARTTLS is offered when
// both are set.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether a certificate is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" && t.KeyFile != "" }

// HTTP configures the REST API, /metrics and the health endpoints.
type HTTP struct {
	Listen string `yaml:"listen"`
	// Timeouts of the HTTP server: reading a request's header, reading a
	// whole request (header and body), writing a response, and keeping an
	// idle keep-alive connection. A client that sends slowly is cut off.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	ReadTimeout       Duration `yaml:"read_timeout"`
	WriteTimeout      Duration `yaml:"write_timeout"`
	IdleTimeout       Duration `yaml:"idle_timeout"`
	// OperatorKeys open the operator's routes (/v1/operator/...): the
	// SHA-256 of each key as "sha256:<hex>" (`smsgate admin operator-key`
	// makes a key and its line); the keys themselves are never stored.
	OperatorKeys []string `yaml:"operator_keys"`
	// PublicURL is where users reach the web console and API
	// ("https://sms.example.com", usually a TLS proxy in front): with
	// https the console's cookies are Secure, and invitation mails link to
	// its acceptance page. Empty: the console still serves; links are not
	// mailed and cookies are Secure only on TLS requests.
	PublicURL string `yaml:"public_url"`
}

// Dispatch configures the workers that take messages from the queue and
// submit them to carrier links.
type Dispatch struct {
	// Consumer is this instance's name in the Redis consumer group. Empty
	// means "<hostname>-<pid>", filled in at run time.
	Consumer string   `yaml:"consumer"`
	Workers  int      `yaml:"workers"` // submits in flight across all links
	Batch    int      `yaml:"batch"`   // entries read per XREADGROUP
	Block    Duration `yaml:"block"`   // XREADGROUP BLOCK
	// BatchWait is how long the dispatcher lets the queue fill after a read
	// that was not a full batch (0s: none).
	BatchWait Duration `yaml:"batch_wait"`
	ClaimIdle Duration `yaml:"claim_idle"` // pending longer than this: claimed from a dead worker
	// EntryPerMessage queues each accepted message as a stream entry of its
	// own; by default the messages of one accept call (the concurrent
	// sessions' mails of a shard stored together) are one entry. A release
	// before grouped entries leaves them pending, so set it during a rolling
	// upgrade from one, until every instance runs this release.
	EntryPerMessage bool  `yaml:"entry_per_message"`
	Retry           Retry `yaml:"retry"`
	// DefaultSource is the source address when the account sets none.
	DefaultSource string `yaml:"default_source"`
	// SourcePool are shared numbers used instead of DefaultSource, so that
	// accounts texting the same phone never share a conversation: each
	// (account, sender, phone) keeps one pool number no one else has an
	// open conversation with that phone on. Empty: DefaultSource.
	SourcePool []string `yaml:"source_pool"`
	// ExpireAfter fails a message not sent within this long of being
	// accepted, like an SMS validity period (waiting for a carrier link uses
	// no attempts, so an outage ends in expiry). 0: never.
	ExpireAfter Duration `yaml:"expire_after"`
	// SourcePoolTTL is how long a conversation keeps its pool number after
	// its last send; 0: 720h (as long as replies are routed to it).
	SourcePoolTTL   Duration `yaml:"source_pool_ttl"`
	RefundOnFailure bool     `yaml:"refund_on_failure"`
	// AllowedSenderIDs are alphanumeric sender ids any parent account may
	// hand out (its own brand names are approved per parent by the
	// operator: smsgate admin sender-id add).
	AllowedSenderIDs []string `yaml:"allowed_sender_ids"`
}

// Retry is the backoff for temporary submit failures: Initial doubling up to
// Max, each delay varied by ±Jitter (a fraction), at most MaxAttempts tries.
type Retry struct {
	Initial     Duration `yaml:"initial"`
	Max         Duration `yaml:"max"`
	MaxAttempts int      `yaml:"max_attempts"`
	Jitter      float64  `yaml:"jitter"`
}

// Link is one SMPP 3.4 client bind to a carrier's SMSC.
type Link struct {
	Name       string `yaml:"name"` // [a-z0-9_-]+, unique; used as a metric label
	Addr       string `yaml:"addr"` // host:port
	SystemID   string `yaml:"system_id"`
	Password   Secret `yaml:"password"`
	SystemType string `yaml:"system_type"`
	// Prefixes are the destination prefixes (digits of E.164 numbers) this
	// link serves; empty makes it a default route.
	Prefixes []string `yaml:"prefixes"`
	// Priority orders failover among links serving a prefix: lower first.
	Priority           int      `yaml:"priority"`
	Window             int      `yaml:"window"` // unacknowledged submits in flight
	Rate               float64  `yaml:"rate"`   // submits per second; 0 is unlimited
	EnquireLink        Duration `yaml:"enquire_link"`
	ResponseTimeout    Duration `yaml:"response_timeout"`
	RegisteredDelivery bool     `yaml:"registered_delivery"` // ask for delivery receipts
	// A submit unanswered after response_timeout is still waited for (a
	// late response is recorded; nothing is sent again on a live session).
	// An SMSC silent for TimeoutsBeforeRebind x response_timeout while
	// submits wait loses the session (rebind; those submits go again, at a
	// duplicate risk);
	// OutcomeWait bounds the wait for one lost response (0: 6 x
	// response_timeout), after which the part counts as sent.
	TimeoutsBeforeRebind int      `yaml:"timeouts_before_rebind"`
	OutcomeWait          Duration `yaml:"outcome_wait"`
	// Bind is "transceiver" (one session, the default) or "pair": a
	// transmitter for submits and a separate receiver for receipts and
	// replies, as some carriers require.
	Bind string `yaml:"bind"`
	// Country (ISO 3166-1 alpha-2, e.g. AU) is where the carrier's national
	// numbers belong: an MO from "0412..." (TON 2, or a trunk 0) is read in
	// it before the conversation is looked up. Empty: such numbers are
	// taken as they come.
	Country string `yaml:"country"`
	// ReconnectMin and ReconnectMax bound the backoff between binds after
	// a session ends or a bind fails: it starts at ReconnectMin and doubles
	// (with jitter) up to ReconnectMax. 0: 500ms and 30s.
	ReconnectMin Duration `yaml:"reconnect_min"`
	ReconnectMax Duration `yaml:"reconnect_max"`
}

// EffectiveOutcomeWait is OutcomeWait, or its default of 6 x
// ResponseTimeout.
func (l Link) EffectiveOutcomeWait() Duration {
	if l.OutcomeWait > 0 {
		return l.OutcomeWait
	}
	return 6 * l.ResponseTimeout
}

// Relay is the outbound SMTP server through which replies are mailed back to
// the staff who sent the original message. An empty Addr disables it.
type Relay struct {
	Addr     string `yaml:"addr"`     // host:port
	From     string `yaml:"from"`     // envelope and header sender
	Hostname string `yaml:"hostname"` // HELO name; Load defaults it to smtp.hostname
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	StartTLS bool   `yaml:"starttls"`
}

// MaxSourcePool bounds dispatch.source_pool (each send checks every number
// for the recipient).
const MaxSourcePool = 100

// Runtime tunes the Go runtime.
type Runtime struct {
	// GCPercent is the garbage collector's target, as GOGC: how much the
	// heap grows between collections, in percent of what was live. smsgate
	// keeps little live (its state is in Redis) and allocates per mail, so
	// a target above Go's 100 buys CPU with a few tens of MB. The GOGC
	// environment variable wins when set (and GOMEMLIMIT bounds the heap
	// either way).
	GCPercent int `yaml:"gc_percent"`
}

// Shutdown bounds the graceful drain.
type Shutdown struct {
	Timeout Duration `yaml:"timeout"`
}

// Default returns the configuration that Load decodes over: every default
// lives here. It has no SMS domains and no links, which a deployment must
// supply while the smtp and dispatch roles are on.
func Default() *Config {
	return &Config{
		Log:   Log{Level: "info", Format: "json"},
		Roles: Roles{SMTP: true, Dispatch: true, HTTP: true},
		Redis: Redis{Addr: "127.0.0.1:6379", ReplicaAckTimeout: Seconds(1), Timeout: Seconds(3), MemoryHigh: 0.9},
		SMTP: SMTP{
			Listen:          "127.0.0.1:2525",
			Hostname:        "localhost",
			MaxRecipients:   50,
			MaxMessageBytes: 1 << 20,
			ReadTimeout:     Seconds(60),
			WriteTimeout:    Seconds(60),
			CommandTimeout:  Seconds(30),
			SenderCache:     Seconds(2),
		},
		HTTP: HTTP{Listen: "127.0.0.1:8080", ReadHeaderTimeout: Seconds(10), ReadTimeout: Seconds(30),
			WriteTimeout: Seconds(120), IdleTimeout: Seconds(120)},
		Dispatch: Dispatch{
			Workers:   64,
			Batch:     200,
			Block:     Seconds(1),
			BatchWait: Duration(5 * time.Millisecond),
			ClaimIdle: Seconds(120), // > the links' default outcome_wait (60s)
			Retry: Retry{
				Initial:     Seconds(1),
				Max:         Seconds(300),
				MaxAttempts: 20,
				Jitter:      0.2,
			},
			ExpireAfter:     Seconds(48 * 3600),
			DefaultSource:   "smsgate",
			RefundOnFailure: true,
		},
		Inbound:  Inbound{ReassemblyWait: Seconds(120)},
		DNS:      DNS{Timeout: Seconds(5), CacheTTL: Seconds(300), NegativeCacheTTL: Seconds(60)},
		Shutdown: Shutdown{Timeout: Seconds(30)},
		Runtime:  Runtime{GCPercent: 400},
		Retention: Retention{Messages: Duration(90 * 24 * time.Hour), Inbox: Duration(90 * 24 * time.Hour),
			Blocked: Duration(90 * 24 * time.Hour), Every: Duration(10 * time.Minute),
			Idempotency: Duration(24 * time.Hour), ReceiptIndex: Duration(7 * 24 * time.Hour),
			Statistics: Duration(MaxStatisticsRetention), WebhookLog: Duration(30 * 24 * time.Hour)},
	}
}

// DefaultLink is what each entry of links starts from before its keys are
// decoded over it.
func DefaultLink() Link {
	return Link{
		Window:               10,
		EnquireLink:          Seconds(30),
		ResponseTimeout:      Seconds(10),
		RegisteredDelivery:   true,
		TimeoutsBeforeRebind: 3,
	}
}
