package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
	"github.com/smsgate/smsgate/accounts/storetest"
	"github.com/smsgate/smsgate/internal/redistest"
	"github.com/smsgate/smsgate/netguard"
)

// testOptions are fast options for tests: millisecond backoff and polling.
func testOptions(t *testing.T, rdb *redis.Client) Options {
	// The tests' receivers listen on loopback, which the operator allows
	// here as internal targets (ssrf_test.go runs without it).
	guard, err := netguard.New([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return Options{
		Guard:     guard,
		Redis:     rdb,
		Backoff:   []time.Duration{5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond},
		Poll:      10 * time.Millisecond,
		ClaimIdle: time.Minute,
		Timeout:   2 * time.Second,
		Workers:   2,
		Logger:    slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// newService returns New(o) with its scripts under the key guard (a script
// that touches a key missing from its KEYS fails).
func newService(o Options) *Service {
	s := New(o)
	s.db = store.NewDB(s.o.Redis, storetest.Guard(store.Options{Shards: s.o.Shards, Prefix: s.o.Prefix}))
	return s
}

// TestMain fails the package when one of its scripts never ran under the
// key guard.
func TestMain(m *testing.M) { os.Exit(storetest.Main(m, "webhook")) }

// run starts s.Run and stops it when the test ends, bounded.
func run(t *testing.T, s *Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10s of cancel")
		}
	})
}

// waitFor polls cond until it holds, failing after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// received is one request a test receiver got.
type received struct {
	header http.Header
	body   []byte
	code   int
}

// receiver is a real HTTP endpoint whose answers a test scripts.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []received
	code func(n int) int // status for the n-th request (1-based)
}

func newReceiver(t *testing.T, code func(n int) int) *receiver {
	rc := &receiver{code: code}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.got) + 1
		c := rc.code(n)
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: body, code: c})
		rc.mu.Unlock()
		w.WriteHeader(c)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

func always(code int) func(int) int { return func(int) int { return code } }

func TestEmitNoWebhooksWritesNothing(t *testing.T) {
	rdb := redistest.Start(t)
	s := newService(testOptions(t, rdb))
	ctx := t.Context()
	for _, typ := range Types() {
		if err := s.Emit(ctx, "a0-nohooks", typ, map[string]int{"x": 1}); err != nil {
			t.Fatalf("Emit %s: %v", typ, err)
		}
	}
	if err := s.MessageStatus(ctx, &accounts.Message{ID: "m0-x", AccountID: "a0-nohooks", Status: accounts.MsgDelivered}); err != nil {
		t.Fatal(err)
	}
	if n := rdb.DBSize(ctx).Val(); n != 0 {
		keys := rdb.Keys(ctx, "*").Val()
		t.Fatalf("Emit with no webhooks wrote %d keys: %v", n, keys)
	}
	if err := s.Emit(ctx, "not-an-account", TypeBalanceLow, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Emit for a malformed account id: %v, want ErrNotFound", err)
	}
}

// queued returns the deliveries waiting, as webhook id -> event types.
func queued(t *testing.T, s *Service, rdb *redis.Client) map[string][]string {
	t.Helper()
	vals, err := rdb.HVals(t.Context(), s.shardKeys(0).deliveries).Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, v := range vals {
		var p payload
		if err := json.Unmarshal([]byte(v), &p); err != nil {
			t.Fatal(err)
		}
		out[p.Webhook] = append(out[p.Webhook], p.Type)
		slices.Sort(out[p.Webhook])
	}
	return out
}

func TestEmitFiltersBySubscription(t *testing.T) {
	rdb := redistest.Start(t)
	s := newService(testOptions(t, rdb))
	ctx := t.Context()
	const acct = "a0-filter"
	all, _, err := s.Create(ctx, acct, "https://example.com/all", nil)
	if err != nil {
		t.Fatal(err)
	}
	status, _, err := s.Create(ctx, acct, "https://example.com/status", []string{TypeMessageStatus})
	if err != nil {
		t.Fatal(err)
	}
	replies, _, err := s.Create(ctx, acct, "https://example.com/replies", []string{TypeReplyReceived, TypeBalanceLow, TypeReplyReceived})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(replies.Events, []string{TypeBalanceLow, TypeReplyReceived}) {
		t.Fatalf("events not normalised: %v", replies.Events)
	}
	other, _, err := s.Create(ctx, "a0-other", "https://example.com/other", nil)
	if err != nil {
		t.Fatal(err)
	}
	// A disabled webhook gets nothing.
	disabled, _, err := s.Create(ctx, acct, "https://example.com/disabled", nil)
	if err != nil {
		t.Fatal(err)
	}
	rdb.HSet(ctx, s.db.Keys.Webhooks(0, acct), disabled.ID, `{"id":"`+disabled.ID+`","account":"`+acct+`","url":"https://example.com/disabled","events":"","status":"disabled","reason":"test","created":1,"failures":0}`)

	if err := s.MessageStatus(ctx, &accounts.Message{ID: "m0-1", AccountID: acct, Status: accounts.MsgDelivered}); err != nil {
		t.Fatal(err)
	}
	if err := s.Reply(ctx, &accounts.Reply{ID: "r0-1", AccountID: acct, From: "61400000000", Text: "hi"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.LowBalance(ctx, &accounts.Account{ID: acct, Balance: 50, LowBalance: 100, Currency: "AUD"}); err != nil {
		t.Fatal(err)
	}
	got := queued(t, s, rdb)
	want := map[string][]string{
		all.ID:     {TypeBalanceLow, TypeMessageStatus, TypeReplyReceived},
		status.ID:  {TypeMessageStatus},
		replies.ID: {TypeBalanceLow, TypeReplyReceived},
	}
	for _, w := range []*Webhook{all, status, replies, other, disabled} {
		if !slices.Equal(got[w.ID], want[w.ID]) {
			t.Errorf("webhook %s (%s): queued %v, want %v", w.ID, w.URL, got[w.ID], want[w.ID])
		}
	}
	if n := rdb.XLen(ctx, s.shardKeys(0).queue).Val(); n != 6 {
		t.Errorf("stream length %d, want 6", n)
	}
}

func TestCreateValidationAndLimit(t *testing.T) {
	rdb := redistest.Start(t)
	o := testOptions(t, rdb)
	o.MaxPerAccount = 2
	s := newService(o)
	ctx := t.Context()
	cases := []struct {
		name    string
		url     string
		events  []string
		wantErr error
		inErr   string
	}{
		{"ok", "https://example.com/a", nil, nil, ""},
		{"bad url", "gopher://x", nil, ErrInvalid, "url: "},
		{"bad event", "https://example.com/b", []string{"message.status", "sms.sent"}, ErrInvalid, `events[1]: "sms.sent"`},
		{"ping not subscribable", "https://example.com/b", []string{"ping"}, ErrInvalid, "events[0]"},
		{"second ok", "https://example.com/b", []string{"balance.low"}, nil, ""},
		{"over limit", "https://example.com/c", nil, ErrLimit, "quota of 2 webhooks"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, secret, err := s.Create(ctx, "a0-lim", c.url, c.events)
			if c.wantErr == nil {
				if err != nil || w == nil || !strings.HasPrefix(secret, "whsec_") || w.Status != StatusActive {
					t.Fatalf("Create: %+v %q %v", w, secret, err)
				}
				return
			}
			if !errors.Is(err, c.wantErr) || !strings.Contains(err.Error(), c.inErr) {
				t.Fatalf("Create: %v, want %v containing %q", err, c.wantErr, c.inErr)
			}
		})
	}
	if _, _, err := s.Create(ctx, "a5-x", "https://example.com/", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Create on a shard beyond the deployment: %v", err)
	}
}

func TestMetricsNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewMetrics(reg)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	for _, want := range []string{"smsgate_webhook_deliveries_total", "smsgate_webhook_events_enqueued_total",
		"smsgate_webhook_delivery_duration_seconds"} {
		if !slices.Contains(names, want) {
			t.Errorf("metric %s missing from %v", want, names)
		}
	}
}

// TestEmitRemembersQuietAccounts: an account without webhooks costs one
// Redis call per QuietFor, not one per event; creating a webhook ends that
// at once on this instance.
func TestEmitRemembersQuietAccounts(t *testing.T) {
	rdb := redistest.Start(t)
	now := time.Unix(1_000_000, 0)
	o := testOptions(t, rdb)
	o.QuietFor = 2 * time.Second
	o.Now = func() time.Time { return now }
	s := newService(o)
	ctx := t.Context()
	// Scripts run as EVALSHA, or EVAL after NOSCRIPT: count both.
	evals := func() int {
		total := 0
		for _, line := range strings.Split(rdb.Info(ctx, "commandstats").Val(), "\n") {
			if strings.HasPrefix(line, "cmdstat_evalsha:") || strings.HasPrefix(line, "cmdstat_eval:") {
				var calls int
				fmt.Sscanf(line[strings.Index(line, "calls=")+6:], "%d", &calls)
				total += calls
			}
		}
		return total
	}
	// Load the script first (the first call may be EVALSHA, NOSCRIPT, EVAL).
	if err := s.Emit(ctx, "a0-warm", TypeMessageStatus, nil); err != nil {
		t.Fatal(err)
	}
	base := evals()
	acct := "a0-quiet"
	for range 10 {
		if err := s.Emit(ctx, acct, TypeMessageStatus, map[string]int{"x": 1}); err != nil {
			t.Fatal(err)
		}
	}
	if n := evals() - base; n != 1 {
		t.Errorf("10 events for a quiet account made %d script calls, want 1", n)
	}
	now = now.Add(3 * time.Second)
	_ = s.Emit(ctx, acct, TypeMessageStatus, nil)
	if n := evals() - base; n != 2 {
		t.Errorf("after QuietFor: %d script calls, want 2", n)
	}
	if _, _, err := s.Create(ctx, acct, "https://example.com/hook", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Emit(ctx, acct, TypeMessageStatus, map[string]int{"x": 2}); err != nil {
		t.Fatal(err)
	}
	if q := queued(t, s, rdb); len(q) != 1 {
		t.Errorf("after creating a webhook the event was not queued: %v", q)
	}
}

// TestCreatePerAccountQuota: with Quota set, each account's own quota
// bounds its webhooks instead of MaxPerAccount.
func TestCreatePerAccountQuota(t *testing.T) {
	rdb := redistest.Start(t)
	o := testOptions(t, rdb)
	o.Quota = func(_ context.Context, id string) (int, error) {
		if id == "a0-big" {
			return 3, nil
		}
		return 1, nil
	}
	s := newService(o)
	ctx := t.Context()
	for i, acct := range []string{"a0-small", "a0-big", "a0-big", "a0-big"} {
		if _, _, err := s.Create(ctx, acct, fmt.Sprintf("https://example.com/%d", i), nil); err != nil {
			t.Fatalf("create %d for %s: %v", i, acct, err)
		}
	}
	for _, acct := range []string{"a0-small", "a0-big"} {
		if _, _, err := s.Create(ctx, acct, "https://example.com/x", nil); !errors.Is(err, ErrLimit) {
			t.Fatalf("%s over its quota: %v", acct, err)
		}
	}
}

// TestRemoveDeadWebhookConsumers: consumers restarts left in a delivery
// group go when nothing is pending; this instance's own name stays.
func TestRemoveDeadWebhookConsumers(t *testing.T) {
	rdb := redistest.Start(t)
	o := testOptions(t, rdb)
	o.Consumer = "webhook-self"
	s := newService(o)
	ctx := t.Context()
	if err := s.EnsureGroups(ctx); err != nil {
		t.Fatal(err)
	}
	q := s.shardKeys(0).queue
	for _, c := range []string{"webhook-old", "webhook-self"} {
		if err := rdb.XGroupCreateConsumer(ctx, q, group, c).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.removeDeadConsumers(ctx, 0); err != nil || n != 1 {
		t.Fatalf("removed %d, %v", n, err)
	}
	cs, err := rdb.XInfoConsumers(ctx, q, group).Result()
	if err != nil || len(cs) != 1 || cs[0].Name != "webhook-self" {
		t.Fatalf("consumers left %+v, %v", cs, err)
	}
}
