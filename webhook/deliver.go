package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts/store"
	"github.com/smsgate/smsgate/netguard"
)

// group is the consumer group of every shard's delivery stream.
const group = "webhooks"

// entry is one stream entry handed to a worker.
type entry struct {
	shard    int
	streamID string
	delivery string
}

// payload is a stored delivery (emit.lua writes it).
type payload struct {
	Webhook  string `json:"w"`
	Account  string `json:"a"`
	Type     string `json:"t"`
	Event    string `json:"e"`
	Body     string `json:"b"`
	Attempts int    `json:"n"` // attempts made before this one
}

// EnsureGroups creates the consumer group on every shard's delivery stream;
// existing groups are left alone. Run calls it.
func (s *Service) EnsureGroups(ctx context.Context) error {
	for shard := range s.o.Shards {
		err := s.o.Redis.XGroupCreateMkStream(ctx, s.shardKeys(shard).queue, group, "0").Err()
		if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return fmt.Errorf("create webhook group on shard %d: %w", shard, err)
		}
	}
	return nil
}

// removeDeadConsumers deletes from every shard's delivery group the
// consumers other than this instance with nothing pending and idle for at
// least idle: those restarts left behind.
func (s *Service) removeDeadConsumers(ctx context.Context, idle time.Duration) (int, error) {
	removed := 0
	for shard := range s.o.Shards {
		n, err := store.RemoveIdleConsumers(ctx, s.o.Redis, s.shardKeys(shard).queue, group, s.o.Consumer, idle)
		removed += n
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// Run delivers events until ctx ends: Options.Workers workers read the
// streams, and one loop promotes due retries and claims the entries of dead
// workers every Options.Poll. A delivery in flight when ctx ends is
// abandoned unrecorded and stays pending for another instance to claim.
func (s *Service) Run(ctx context.Context) error {
	// A Redis that refuses the groups (OOM, LOADING, a lost connection)
	// delays deliveries, never stops them for good.
	for wait := 100 * time.Millisecond; ; wait = min(wait*2, 5*time.Second) {
		err := s.EnsureGroups(ctx)
		if err == nil {
			break
		}
		s.log.WarnContext(ctx, "webhook: cannot create the delivery groups yet; retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
	if n, err := s.removeDeadConsumers(ctx, time.Hour); err != nil {
		s.log.WarnContext(ctx, "remove dead webhook consumers", "err", err)
	} else if n > 0 {
		s.log.InfoContext(ctx, "removed dead consumers from the webhook group", "count", n)
	}
	claimed := make(chan entry)
	busy := &inFlight{m: map[string]bool{}}
	var wg sync.WaitGroup
	for range s.o.Workers {
		wg.Go(func() { s.work(ctx, claimed, busy) })
	}
	s.maintain(ctx, claimed, busy)
	wg.Wait()
	return nil
}

// inFlight is the set of stream entries this Run is working on, so that
// its own claim loop never hands an entry that is merely slow to a second
// worker. (Other instances are kept off by ClaimIdle > Timeout.)
type inFlight struct {
	mu sync.Mutex
	m  map[string]bool
}

// Add marks id busy; false when it already was.
func (f *inFlight) add(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m[id] {
		return false
	}
	f.m[id] = true
	return true
}

func (f *inFlight) done(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, id)
}

// maintain promotes due retries and hands claimed stale entries to the
// workers, every Poll, until ctx ends.
func (s *Service) maintain(ctx context.Context, claimed chan<- entry, busy *inFlight) {
	t := time.NewTicker(s.o.Poll)
	defer t.Stop()
	for {
		if _, err := s.PromoteDue(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "promote webhook retries", "err", err)
		}
		es, err := s.claimStale(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "claim stale webhook deliveries", "err", err)
		}
		for _, e := range es {
			if !busy.add(e.streamID) {
				continue // one of our workers has it, slowly
			}
			s.log.WarnContext(ctx, "claimed stale webhook delivery", "delivery", e.delivery)
			select {
			case claimed <- e:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// work is one worker: it takes claimed entries first, else reads new ones.
func (s *Service) work(ctx context.Context, claimed <-chan entry, busy *inFlight) {
	for ctx.Err() == nil {
		select {
		case e := <-claimed:
			s.processSafe(ctx, e)
			busy.done(e.streamID)
			continue
		default:
		}
		es, err := s.read(ctx, s.o.Poll)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.ErrorContext(ctx, "read webhook deliveries", "err", err)
			select { // do not spin on a Redis outage
			case <-time.After(s.o.Poll):
			case <-ctx.Done():
			}
			continue
		}
		for _, e := range es {
			if busy.add(e.streamID) {
				s.processSafe(ctx, e)
				busy.done(e.streamID)
			}
		}
	}
}

// processSafe is process under recover: a panic on one delivery (a
// receiver's odd answer, a stored payload) leaves the entry pending and the
// worker running.
func (s *Service) processSafe(ctx context.Context, e entry) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if s.o.OnPanic != nil {
			s.o.OnPanic("webhook", v)
			return
		}
		s.log.ErrorContext(ctx, "panic delivering webhook", "panic", fmt.Sprint(v), "delivery", e.delivery)
	}()
	s.process(ctx, e)
}

// PromoteDue puts deliveries whose retry time has come back on their
// stream and returns how many.
func (s *Service) PromoteDue(ctx context.Context) (int, error) {
	total := 0
	for shard := range s.o.Shards {
		k := s.shardKeys(shard)
		n, err := s.db.Promote(ctx, k.retry, k.queue, "d", s.o.Now().UnixMilli(), 1000)
		if err != nil {
			return total, fmt.Errorf("promote webhook retries on shard %d: %w", shard, err)
		}
		total += n
	}
	return total, nil
}

// claimStale takes over entries another consumer has held for ClaimIdle.
func (s *Service) claimStale(ctx context.Context) ([]entry, error) {
	var out []entry
	for shard := range s.o.Shards {
		msgs, _, err := s.o.Redis.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: s.shardKeys(shard).queue, Group: group, Consumer: s.o.Consumer,
			MinIdle: s.o.ClaimIdle, Start: "0-0", Count: int64(s.o.Workers),
		}).Result()
		if err != nil && !errors.Is(err, redis.Nil) && !strings.HasPrefix(err.Error(), "NOGROUP") {
			return out, fmt.Errorf("claim on shard %d: %w", shard, err)
		}
		out = entries(out, shard, msgs)
	}
	return out, nil
}

// read returns up to one new entry, waiting up to block. Every shard is
// polled once without blocking, then each blocks in turn for a slice of
// block (a Redis Cluster cannot read streams of several slots at once).
func (s *Service) read(ctx context.Context, block time.Duration) ([]entry, error) {
	for shard := range s.o.Shards {
		es, err := s.readShard(ctx, shard, -1)
		if err != nil || len(es) > 0 {
			return es, err
		}
	}
	slice := max(block/time.Duration(s.o.Shards), time.Millisecond)
	for shard := range s.o.Shards {
		es, err := s.readShard(ctx, shard, slice)
		if err != nil || len(es) > 0 {
			return es, err
		}
	}
	return nil, nil
}

// readShard runs one XREADGROUP (block < 0: do not block), creating the
// group when it is missing.
func (s *Service) readShard(ctx context.Context, shard int, block time.Duration) ([]entry, error) {
	args := &redis.XReadGroupArgs{Group: group, Consumer: s.o.Consumer, Count: 1, Block: block,
		Streams: []string{s.shardKeys(shard).queue, ">"}}
	res, err := s.o.Redis.XReadGroup(ctx, args).Result()
	if err != nil && strings.HasPrefix(err.Error(), "NOGROUP") {
		if err := s.EnsureGroups(ctx); err != nil {
			return nil, err
		}
		res, err = s.o.Redis.XReadGroup(ctx, args).Result()
	}
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read webhook stream of shard %d: %w", shard, err)
	}
	var out []entry
	for _, st := range res {
		out = entries(out, shard, st.Messages)
	}
	return out, nil
}

// entries appends stream messages as entries, skipping deleted ones.
func entries(out []entry, shard int, msgs []redis.XMessage) []entry {
	for _, m := range msgs {
		if d, ok := m.Values["d"].(string); ok {
			out = append(out, entry{shard: shard, streamID: m.ID, delivery: d})
		}
	}
	return out
}

// process makes one delivery attempt and records its outcome.
func (s *Service) process(ctx context.Context, e entry) {
	k := s.shardKeys(e.shard)
	raw, err := s.o.Redis.HGet(ctx, k.deliveries, e.delivery).Result()
	if errors.Is(err, redis.Nil) { // already finished by a worker that died before acknowledging
		s.finish(ctx, e, payload{}, "drop", nil, 0, "", "")
		return
	}
	if err != nil {
		s.log.ErrorContext(ctx, "load webhook delivery", "delivery", e.delivery, "err", err)
		return // stays pending; claimed again later
	}
	var p payload
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		s.log.ErrorContext(ctx, "decode webhook delivery", "delivery", e.delivery, "err", err)
		s.finish(ctx, e, payload{}, "drop", nil, 0, "", "")
		return
	}
	k, err = s.keys(p.Account)
	if err != nil {
		s.finish(ctx, e, p, "drop", nil, 0, "", "")
		return
	}
	hook, secret, err := s.target(ctx, k, p.Webhook)
	if err != nil {
		s.log.ErrorContext(ctx, "load webhook", "webhook", p.Webhook, "err", err)
		return
	}
	if hook == nil || (hook.Status != StatusActive && p.Type != TypePing) {
		s.finish(ctx, e, p, "drop", nil, 0, "", "")
		return
	}

	att := Attempt{At: s.o.Now().UTC(), DeliveryID: e.delivery, EventID: p.Event, EventType: p.Type, Attempt: p.Attempts + 1}
	start := time.Now()
	code, perr := s.post(ctx, hook.URL, secret, e.delivery, p)
	elapsed := time.Since(start)
	if ctx.Err() != nil {
		return // shutting down: unrecorded, claimed again later
	}
	att.elapsed, att.DurationMS = elapsed, elapsed.Milliseconds()
	att.StatusCode = code
	if s.o.Metrics != nil {
		s.o.Metrics.duration.Observe(elapsed.Seconds())
	}
	if perr == nil {
		att.Result = "delivered"
		s.finish(ctx, e, p, "ok", &att, 0, "", "")
		return
	}
	att.Result = "failed"
	att.Error = perr.Error()
	var due int64
	if p.Type != TypePing && p.Attempts < len(s.o.Backoff) {
		att.retryIn = s.o.Backoff[p.Attempts]
		next := s.o.Now().Add(att.retryIn)
		att.NextAttempt = next.UTC()
		due = next.UnixMilli()
	}
	exhausted := fmt.Sprintf("disabled after %d failed attempts to deliver %s: last error: %s", att.Attempt, p.Event, att.Error)
	consecutive := fmt.Sprintf("disabled after %d consecutive failed attempts: last error: %s", s.o.MaxConsecutiveFailures, att.Error)
	s.finish(ctx, e, p, "fail", &att, due, exhausted, consecutive)
}

// target loads a webhook and its secret; a deleted webhook is nil.
func (s *Service) target(ctx context.Context, k keys, id string) (*Webhook, string, error) {
	var rec, sec *redis.StringCmd
	_, err := s.o.Redis.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		rec = pipe.HGet(ctx, k.hooks, id)
		sec = pipe.HGet(ctx, k.secrets, id)
		return nil
	})
	if errors.Is(err, redis.Nil) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("load webhook %s: %w", id, err)
	}
	w, err := decodeRecord(rec.Val())
	return w, sec.Val(), err
}

// finish runs result.lua for an attempt (att nil: no attempt was made) and
// logs and counts the outcome.
func (s *Service) finish(ctx context.Context, e entry, p payload, outcome string, att *Attempt, due int64, exhausted, consecutive string) {
	k := s.shardKeys(e.shard)
	if p.Account != "" {
		if ak, err := s.keys(p.Account); err == nil {
			k = ak
		}
	}
	logJSON := ""
	if att != nil {
		b, err := json.Marshal(att)
		if err != nil {
			s.log.ErrorContext(ctx, "encode delivery attempt", "err", err)
		}
		logJSON = string(b)
	}
	counts := "1"
	if p.Type == TypePing {
		counts = "0"
	}
	keys := []string{k.hooks, k.queue, k.retry, k.deliveries, s.logKey(e.shard, p.Webhook)}
	if k.hooks == "" { // no account: only the stream and delivery are touched
		keys[0] = s.db.Keys.Webhooks(e.shard, "-")
	}
	res, err := s.db.Run(ctx, resultScript, keys, p.Webhook, e.streamID, e.delivery, outcome, logJSON, due,
		s.o.MaxConsecutiveFailures, exhausted, consecutive, counts, logCap).Text()
	if err != nil {
		s.log.ErrorContext(ctx, "record webhook delivery", "delivery", e.delivery, "err", err)
		return
	}
	result := map[string]string{"ok": "delivered", "fail": "failed", "drop": "dropped"}[outcome]
	if s.o.Metrics != nil {
		s.o.Metrics.deliveries.WithLabelValues(result).Inc()
	}
	attrs := []any{"account", p.Account, "webhook", p.Webhook, "delivery", e.delivery, "event", p.Event, "type", p.Type}
	if att != nil {
		attrs = append(attrs, "attempt", att.Attempt, "duration", att.elapsed)
	}
	switch res {
	case "delivered":
		s.log.DebugContext(ctx, "webhook delivered", attrs...)
	case "retry":
		s.log.InfoContext(ctx, "webhook delivery failed, will retry", append(attrs, "err", att.Error, "retry_in", att.retryIn)...)
	case "exhausted":
		s.log.WarnContext(ctx, "webhook delivery gave up", append(attrs, "err", att.Error)...)
	case "disabled":
		s.log.WarnContext(ctx, "webhook disabled", append(attrs, "err", att.Error)...)
	case "dropped":
		s.log.DebugContext(ctx, "webhook delivery dropped", attrs...)
	}
}

// post sends one delivery. It returns the status code (0 when there was no
// answer) and an error for anything but a 2xx answer, classified so that it
// says what went wrong without echoing internal addresses.
func (s *Service) post(ctx context.Context, url, secret, delivery string, p payload) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	body := []byte(p.Body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("invalid URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "smsgate-webhook/1")
	req.Header.Set("Smsgate-Event", p.Type)
	req.Header.Set("Smsgate-Delivery", delivery)
	req.Header.Set(SignatureHeader, Sign(secret, body, s.o.Now()))
	resp, err := s.o.HTTPClient.Do(req)
	if err != nil {
		s.log.InfoContext(ctx, "webhook delivery: no response", "err", err, "blocked", errors.Is(err, netguard.ErrBlocked))
		return 0, classify(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, errors.New("HTTP " + strconv.Itoa(resp.StatusCode))
	}
	return resp.StatusCode, nil
}

// errTransport is the one description tenants see of a delivery that got
// no HTTP response: a refused destination, DNS, refused, reset, timeout and
// TLS failures read alike, so that webhooks cannot map the operator's
// network (the log keeps the detail for the operator).
var errTransport = errors.New("no response from the receiver (connection failed or timed out)")

// classify turns a transport error into what the tenant sees.
func classify(err error) error {
	if err == nil {
		return nil
	}
	return errTransport
}
