package webhook

import (
	"context"
	_ "embed" // Lua scripts
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts/store"
)

var (
	//go:embed lua/emit.lua
	emitLua string
	//go:embed lua/result.lua
	resultLua string
	//go:embed lua/manage.lua
	manageLua string
	//go:embed lua/trim_log.lua
	trimLogLua string

	emitScript    = store.NewScript("webhook/emit.lua", emitLua)
	resultScript  = store.NewScript("webhook/result.lua", resultLua)
	manageScript  = store.NewScript("webhook/manage.lua", manageLua)
	trimLogScript = store.NewScript("webhook/trim_log.lua", trimLogLua)
)

// logCap is how many attempts each webhook's log keeps.
const logCap = 100

// maxURL bounds a webhook URL's length.
const maxURL = 2048

// keys are the Redis keys of one account's webhooks and its shard's queue.
type keys struct {
	shard      int
	hooks      string // hash id -> record
	secrets    string // hash id -> secret
	queue      string // stream
	retry      string // zset
	deliveries string // hash delivery id -> payload
}

// shardKeys returns the per-shard keys (queue, retry, deliveries).
func (s *Service) shardKeys(shard int) keys {
	ks := s.db.Keys
	return keys{shard: shard, queue: ks.WebhookQueue(shard), retry: ks.WebhookRetry(shard),
		deliveries: ks.WebhookDeliveries(shard)}
}

// keys returns the keys of an account's webhooks; an id that names no
// shard of this deployment wraps ErrNotFound.
func (s *Service) keys(accountID string) (keys, error) {
	shard, ok := s.db.Keys.Shard(accountID)
	if !ok {
		return keys{}, fmt.Errorf("account %q: %w", accountID, ErrNotFound)
	}
	k := s.shardKeys(shard)
	k.hooks = s.db.Keys.Webhooks(shard, accountID)
	k.secrets = s.db.Keys.WebhookSecrets(shard, accountID)
	return k, nil
}

// logKey is the delivery log of a webhook.
func (s *Service) logKey(shard int, webhookID string) string {
	return s.db.Keys.WebhookLog(shard, webhookID)
}

// record is a webhook as stored (JSON in the account's hash). Lua scripts
// change Status, Reason and Failures, so Events is a comma-separated string
// (cjson would turn an empty array into an object).
type record struct {
	ID       string `json:"id"`
	Account  string `json:"account"`
	URL      string `json:"url"`
	Events   string `json:"events"`
	Status   string `json:"status"`
	Reason   string `json:"reason"`
	Created  int64  `json:"created"` // unix ms
	Failures int    `json:"failures"`
}

func (r record) webhook() *Webhook {
	w := &Webhook{ID: r.ID, AccountID: r.Account, URL: r.URL, Events: []string{}, Status: Status(r.Status),
		DisabledReason: r.Reason, CreatedAt: time.UnixMilli(r.Created).UTC(), ConsecutiveFailures: r.Failures}
	if r.Events != "" {
		w.Events = strings.Split(r.Events, ",")
	}
	return w
}

func decodeRecord(raw string) (*Webhook, error) {
	var r record
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return nil, fmt.Errorf("decode webhook record: %w", err)
	}
	return r.webhook(), nil
}

// ValidateURL checks a webhook URL: absolute http or https, a host, no
// credentials, no fragment. Its error names the field and wraps ErrInvalid.
func ValidateURL(raw string) error {
	if len(raw) > maxURL {
		return fmt.Errorf("%w: url: is longer than %d characters", ErrInvalid, maxURL)
	}
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return fmt.Errorf("%w: url: is required", ErrInvalid)
	case err != nil:
		return fmt.Errorf("%w: url: %q is not a URL", ErrInvalid, raw)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%w: url: %q must start with https:// or http://", ErrInvalid, raw)
	case u.Hostname() == "":
		return fmt.Errorf("%w: url: %q has no host", ErrInvalid, raw)
	case u.User != nil:
		return fmt.Errorf("%w: url: %q contains credentials; receivers authenticate deliveries by their signature", ErrInvalid, u.Redacted())
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fmt.Errorf("%w: url: %q has a fragment", ErrInvalid, raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%w: url: port %q is not 1-65535", ErrInvalid, p)
		}
	}
	return nil
}

// normEvents validates a subscription list and returns it sorted without
// duplicates; empty means every type.
func normEvents(events []string) ([]string, error) {
	out := []string{}
	for i, e := range events {
		e = strings.TrimSpace(e)
		if !slices.Contains(Types(), e) {
			return nil, fmt.Errorf("%w: events[%d]: %q is not one of %s", ErrInvalid, i, e, strings.Join(Types(), ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out, nil
}

// validID reports whether id can be a webhook id (so that junk from a URL
// path never reaches a key name).
func validID(id string) bool {
	if len(id) < 2 || len(id) > 40 || id[0] != 'w' {
		return false
	}
	for _, c := range id[1:] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// manage runs manage.lua and maps its NOTFOUND and LIMIT answers to errors.
func (s *Service) manage(ctx context.Context, k keys, op, id string, args ...any) (string, error) {
	res, err := s.db.Run(ctx, manageScript, []string{k.hooks, k.secrets, s.logKey(k.shard, id)},
		append([]any{op, id}, args...)...).Result()
	if err != nil {
		return "", fmt.Errorf("%s webhook %s: %w", op, id, err)
	}
	str, _ := res.(string)
	switch str {
	case "NOTFOUND":
		return "", fmt.Errorf("%s webhook %s: %w", op, id, ErrNotFound)
	case "LIMIT":
		max := args[len(args)-1]
		return "", fmt.Errorf("%w: webhooks: account has its quota of %v webhooks; delete one, or ask the operator to raise it", ErrLimit, max)
	}
	return str, nil
}

// Create registers a webhook for an account and returns it with its signing
// secret, which is never shown again. Validation errors wrap ErrInvalid and
// name the field.
func (s *Service) Create(ctx context.Context, accountID, rawURL string, events []string) (*Webhook, string, error) {
	defer s.setQuiet(accountID, false)
	rawURL = strings.TrimSpace(rawURL)
	if err := ValidateURL(rawURL); err != nil {
		return nil, "", err
	}
	if u, _ := url.Parse(rawURL); s.o.Guard.CheckHost(u.Hostname()) != nil {
		return nil, "", fmt.Errorf("%w: url: %s is a loopback, private or otherwise internal address; webhooks go to addresses on the Internet (the operator can allow internal targets: webhooks.allow_internal)", ErrInvalid, u.Hostname())
	}
	evs, err := normEvents(events)
	if err != nil {
		return nil, "", err
	}
	k, err := s.keys(accountID)
	if err != nil {
		return nil, "", err
	}
	r := record{ID: store.NewID("w", 10), Account: accountID, URL: rawURL, Events: strings.Join(evs, ","),
		Status: string(StatusActive), Created: s.o.Now().UnixMilli()}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, "", fmt.Errorf("encode webhook: %w", err)
	}
	secret := newSecret()
	max := s.o.MaxPerAccount
	if s.o.Quota != nil {
		if max, err = s.o.Quota(ctx, accountID); err != nil {
			return nil, "", fmt.Errorf("create webhook: %w", err)
		}
	}
	if _, err := s.manage(ctx, k, "create", r.ID, b, secret, max); err != nil {
		return nil, "", err
	}
	s.log.InfoContext(ctx, "webhook created", "account", accountID, "webhook", r.ID)
	return r.webhook(), secret, nil
}

// List returns an account's webhooks, oldest first.
func (s *Service) List(ctx context.Context, accountID string) ([]*Webhook, error) {
	k, err := s.keys(accountID)
	if err != nil {
		return nil, err
	}
	vals, err := s.o.Redis.HVals(ctx, k.hooks).Result()
	if err != nil {
		return nil, fmt.Errorf("list webhooks of %s: %w", accountID, err)
	}
	out := make([]*Webhook, 0, len(vals))
	for _, v := range vals {
		w, err := decodeRecord(v)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b *Webhook) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Get returns one webhook of an account; another account's webhook is
// ErrNotFound.
func (s *Service) Get(ctx context.Context, accountID, id string) (*Webhook, error) {
	k, err := s.keys(accountID)
	if err != nil {
		return nil, err
	}
	if !validID(id) {
		return nil, fmt.Errorf("webhook %q: %w", id, ErrNotFound)
	}
	raw, err := s.o.Redis.HGet(ctx, k.hooks, id).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("webhook %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get webhook %s: %w", id, err)
	}
	return decodeRecord(raw)
}

// change runs a manage.lua operation on an existing webhook and decodes the
// record it returns.
func (s *Service) change(ctx context.Context, accountID, id, op string, args ...any) (*Webhook, error) {
	k, err := s.keys(accountID)
	if err != nil {
		return nil, err
	}
	if !validID(id) {
		return nil, fmt.Errorf("webhook %q: %w", id, ErrNotFound)
	}
	raw, err := s.manage(ctx, k, op, id, args...)
	if err != nil {
		return nil, err
	}
	if op == "delete" {
		return nil, nil
	}
	return decodeRecord(raw)
}

// Delete removes a webhook, its secret and its log. Deliveries still queued
// for it are dropped when their turn comes.
func (s *Service) Delete(ctx context.Context, accountID, id string) error {
	_, err := s.change(ctx, accountID, id, "delete")
	if err == nil {
		s.log.InfoContext(ctx, "webhook deleted", "account", accountID, "webhook", id)
	}
	return err
}

// Enable makes a webhook active again and resets its failure counter.
func (s *Service) Enable(ctx context.Context, accountID, id string) (*Webhook, error) {
	defer s.setQuiet(accountID, false)
	w, err := s.change(ctx, accountID, id, "enable")
	if err == nil {
		s.log.InfoContext(ctx, "webhook enabled", "account", accountID, "webhook", id)
	}
	return w, err
}

// RotateSecret gives a webhook a new signing secret, effective for every
// delivery from now on, and returns it (shown only here).
func (s *Service) RotateSecret(ctx context.Context, accountID, id string) (*Webhook, string, error) {
	secret := newSecret()
	w, err := s.change(ctx, accountID, id, "rotate", secret)
	if err != nil {
		return nil, "", err
	}
	s.log.InfoContext(ctx, "webhook secret rotated", "account", accountID, "webhook", id)
	return w, secret, nil
}

// Test enqueues a "ping" event for one webhook, whatever its status and
// subscriptions, and returns the event id. It gets one attempt.
func (s *Service) Test(ctx context.Context, accountID, id string) (string, error) {
	if !validID(id) {
		return "", fmt.Errorf("webhook %q: %w", id, ErrNotFound)
	}
	return s.emit(ctx, accountID, TypePing, map[string]string{"webhook_id": id, "message": "test event from smsgate"}, id)
}

// Deliveries returns the last attempts of a webhook, newest first, at most
// limit (<= 0 or above the log's cap: the whole log).
func (s *Service) Deliveries(ctx context.Context, accountID, id string, limit int) ([]Attempt, error) {
	if _, err := s.Get(ctx, accountID, id); err != nil {
		return nil, err
	}
	k, _ := s.keys(accountID) // Get checked the id
	if limit <= 0 || limit > logCap {
		limit = logCap
	}
	vals, err := s.o.Redis.LRange(ctx, s.logKey(k.shard, id), 0, int64(limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("delivery log of %s: %w", id, err)
	}
	out := make([]Attempt, 0, len(vals))
	for _, v := range vals {
		var a Attempt
		if err := json.Unmarshal([]byte(v), &a); err != nil {
			return nil, fmt.Errorf("decode delivery log of %s: %w", id, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// ExpireLogs drops from the delivery logs of every webhook of the accounts
// in ids the attempts made before before (each log also keeps at most its
// last 100). It returns how many attempts it dropped.
func (s *Service) ExpireLogs(ctx context.Context, ids []string, before time.Time) (int, error) {
	dropped := 0
	for _, acct := range ids {
		hooks, err := s.List(ctx, acct)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return dropped, err
		}
		k, _ := s.keys(acct) // List checked the id
		for _, w := range hooks {
			key := s.logKey(k.shard, w.ID)
			vals, err := s.o.Redis.LRange(ctx, key, 0, -1).Result()
			if err != nil {
				return dropped, fmt.Errorf("delivery log of %s: %w", w.ID, err)
			}
			var old []any // oldest first
			for i := len(vals) - 1; i >= 0; i-- {
				var a Attempt
				if json.Unmarshal([]byte(vals[i]), &a) != nil || !a.At.Before(before) {
					break
				}
				old = append(old, vals[i])
			}
			if len(old) == 0 {
				continue
			}
			n, err := s.db.Run(ctx, trimLogScript, []string{key}, old...).Int()
			dropped += n
			if err != nil {
				return dropped, fmt.Errorf("trim the delivery log of %s: %w", w.ID, err)
			}
		}
	}
	return dropped, nil
}
