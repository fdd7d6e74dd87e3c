package webhook

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/internal/redistest"
)

// checkSigned verifies a request as a receiver would.
func checkSigned(t *testing.T, r received, secret, typ string) Event {
	t.Helper()
	if err := Verify(secret, r.header.Get(SignatureHeader), r.body, time.Minute, time.Now()); err != nil {
		t.Fatalf("signature: %v (header %q)", err, r.header.Get(SignatureHeader))
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if got := r.header.Get("Smsgate-Event"); got != typ {
		t.Errorf("Smsgate-Event %q, want %q", got, typ)
	}
	if !strings.HasPrefix(r.header.Get("Smsgate-Delivery"), "dlv_") {
		t.Errorf("Smsgate-Delivery %q", r.header.Get("Smsgate-Delivery"))
	}
	var ev Event
	if err := json.Unmarshal(r.body, &ev); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if ev.Type != typ || !strings.HasPrefix(ev.ID, "evt_") {
		t.Errorf("event %+v", ev)
	}
	return ev
}

// drained reports whether nothing of the shard is left queued or scheduled.
func drained(t *testing.T, s *Service, rdb *redis.Client) bool {
	k := s.shardKeys(0)
	ctx := t.Context()
	return rdb.XLen(ctx, k.queue).Val() == 0 && rdb.ZCard(ctx, k.retry).Val() == 0 && rdb.HLen(ctx, k.deliveries).Val() == 0
}

func TestRetryThenDeliveredOnce(t *testing.T) {
	rdb := redistest.Start(t)
	reg := prometheus.NewRegistry()
	o := testOptions(t, rdb)
	o.Metrics = NewMetrics(reg)
	s := newService(o)
	ctx := t.Context()
	rc := newReceiver(t, func(n int) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	const acct = "a0-retry"
	w, secret, err := s.Create(ctx, acct, rc.srv.URL+"/hook", nil)
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	m := &accounts.Message{ID: "m0-abc", AccountID: acct, To: "61412345678", Status: accounts.MsgDelivered,
		Parts: 2, Price: 16, Sender: "ceo@example.com", CreatedAt: time.Now()}
	if err := s.MessageStatus(ctx, m); err != nil {
		t.Fatal(err)
	}
	// Drained is final: the delivery's record is deleted only by the script
	// that records its last attempt, after that attempt's request, and with
	// nothing queued or scheduled no worker can send it again. So the count
	// read once drained is the count for good; no sleep is needed.
	waitFor(t, "a successful delivery", func() bool {
		rs := rc.requests()
		return len(rs) >= 3 && drained(t, s, rdb)
	})
	rs := rc.requests()
	if len(rs) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(rs))
	}
	delivery := rs[0].header.Get("Smsgate-Delivery")
	for i, r := range rs {
		ev := checkSigned(t, r, secret, TypeMessageStatus)
		if r.header.Get("Smsgate-Delivery") != delivery {
			t.Errorf("request %d: delivery id %q, want the same %q", i, r.header.Get("Smsgate-Delivery"), delivery)
		}
		data, _ := json.Marshal(ev.Data)
		var md MessageData
		_ = json.Unmarshal(data, &md)
		if md.ID != m.ID || md.Status != "delivered" || md.Price != 16 || md.To != m.To || ev.AccountID != acct {
			t.Errorf("event data %s", data)
		}
	}
	log, err := s.Deliveries(ctx, acct, w.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 3 {
		t.Fatalf("log has %d attempts, want 3: %+v", len(log), log)
	}
	for i, want := range []struct {
		attempt int
		result  string
		code    int
	}{{3, "delivered", 204}, {2, "failed", 500}, {1, "failed", 500}} {
		a := log[i]
		if a.Attempt != want.attempt || a.Result != want.result || a.StatusCode != want.code || a.DeliveryID != delivery || a.EventType != TypeMessageStatus {
			t.Errorf("log[%d] = %+v, want attempt %d %s %d", i, a, want.attempt, want.result, want.code)
		}
		if want.result == "failed" && (a.Error != "HTTP 500" || a.NextAttempt.IsZero()) {
			t.Errorf("log[%d] failure without error or next attempt: %+v", i, a)
		}
	}
	got, err := s.Get(ctx, acct, w.ID)
	if err != nil || got.Status != StatusActive || got.ConsecutiveFailures != 0 {
		t.Fatalf("after success: %+v %v", got, err)
	}
	if n := counterValue(t, o.Metrics.deliveries.WithLabelValues("failed")); n != 2 {
		t.Errorf("failed counter %v, want 2", n)
	}
	if n := counterValue(t, o.Metrics.deliveries.WithLabelValues("delivered")); n != 1 {
		t.Errorf("delivered counter %v, want 1", n)
	}
}

func TestPersistentFailureDisables(t *testing.T) {
	rdb := redistest.Start(t)
	s := newService(testOptions(t, rdb)) // 3 retries: 4 attempts
	ctx := t.Context()
	rc := newReceiver(t, always(http.StatusInternalServerError))
	const acct = "a0-fail"
	w, _, err := s.Create(ctx, acct, rc.srv.URL, []string{TypeBalanceLow})
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	if err := s.LowBalance(ctx, &accounts.Account{ID: acct, Balance: 5, LowBalance: 100, Currency: "AUD"}); err != nil {
		t.Fatal(err)
	}
	var got *Webhook
	waitFor(t, "the webhook to be disabled", func() bool {
		got, err = s.Get(ctx, acct, w.ID)
		return err == nil && got.Status == StatusDisabled && drained(t, s, rdb)
	})
	if len(rc.requests()) != 4 {
		t.Errorf("receiver got %d requests, want 4", len(rc.requests()))
	}
	evID := "evt_"
	var ev Event
	if err := json.Unmarshal(rc.requests()[0].body, &ev); err == nil {
		evID = ev.ID
	}
	want := "disabled after 4 failed attempts to deliver " + evID + ": last error: HTTP 500"
	if got.DisabledReason != want || got.ConsecutiveFailures != 4 {
		t.Fatalf("disabled: reason %q failures %d, want %q and 4", got.DisabledReason, got.ConsecutiveFailures, want)
	}
	log, err := s.Deliveries(ctx, acct, w.ID, 2)
	if err != nil || len(log) != 2 || log[0].Attempt != 4 || !log[0].NextAttempt.IsZero() {
		t.Fatalf("log (limit 2): %+v %v", log, err)
	}
	// Disabled: new events are not queued.
	if err := s.LowBalance(ctx, &accounts.Account{ID: acct}); err != nil {
		t.Fatal(err)
	}
	if !drained(t, s, rdb) {
		t.Fatal("an event was queued for a disabled webhook")
	}
	// Enabling resets the counter and the reason.
	got, err = s.Enable(ctx, acct, w.ID)
	if err != nil || got.Status != StatusActive || got.ConsecutiveFailures != 0 || got.DisabledReason != "" {
		t.Fatalf("Enable: %+v %v", got, err)
	}
}

func TestConsecutiveFailuresDisable(t *testing.T) {
	rdb := redistest.Start(t)
	o := testOptions(t, rdb)
	o.Backoff = []time.Duration{time.Hour} // each event fails once, then waits
	o.MaxConsecutiveFailures = 3
	s := newService(o)
	ctx := t.Context()
	rc := newReceiver(t, always(http.StatusBadGateway))
	const acct = "a0-consec"
	w, _, err := s.Create(ctx, acct, rc.srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	for range 3 {
		if err := s.Emit(ctx, acct, TypeBalanceLow, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the webhook to be disabled", func() bool {
		got, err := s.Get(ctx, acct, w.ID)
		return err == nil && got.Status == StatusDisabled
	})
	got, _ := s.Get(ctx, acct, w.ID)
	if got.DisabledReason != "disabled after 3 consecutive failed attempts: last error: HTTP 502" {
		t.Fatalf("reason %q", got.DisabledReason)
	}
}

func TestCrashedWorkerDeliveryClaimed(t *testing.T) {
	rdb := redistest.Start(t)
	o := testOptions(t, rdb)
	o.Timeout = 100 * time.Millisecond
	o.ClaimIdle = 50 * time.Millisecond // raised to 2 × Timeout
	s := newService(o)
	ctx := t.Context()
	rc := newReceiver(t, always(http.StatusOK))
	const acct = "a0-crash"
	_, secret, err := s.Create(ctx, acct, rc.srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureGroups(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Emit(ctx, acct, TypeReplyReceived, map[string]string{"id": "r0-1"}); err != nil {
		t.Fatal(err)
	}
	// A worker of another instance reads the entry and dies.
	res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "crashed",
		Streams: []string{s.shardKeys(0).queue, ">"}, Count: 10, Block: -1}).Result()
	if err != nil || len(res) != 1 || len(res[0].Messages) != 1 {
		t.Fatalf("crashed worker read: %v %v", res, err)
	}
	run(t, s)
	waitFor(t, "the claimed delivery", func() bool { return len(rc.requests()) == 1 && drained(t, s, rdb) })
	checkSigned(t, rc.requests()[0], secret, TypeReplyReceived)
	pending, err := rdb.XPending(ctx, s.shardKeys(0).queue, group).Result()
	if err != nil || pending.Count != 0 {
		t.Fatalf("pending after claim: %+v %v", pending, err)
	}
}

func TestPingAndDeletedWebhook(t *testing.T) {
	rdb := redistest.Start(t)
	s := newService(testOptions(t, rdb))
	ctx := t.Context()
	rc := newReceiver(t, always(http.StatusInternalServerError))
	const acct = "a0-ping"
	w, secret, err := s.Create(ctx, acct, rc.srv.URL, []string{TypeBalanceLow})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Test(ctx, acct, "wnothere"); err == nil {
		t.Fatal("Test of a missing webhook succeeded")
	}
	if _, err := s.Test(ctx, "a0-otheraccount", w.ID); err == nil {
		t.Fatal("Test of another account's webhook succeeded")
	}
	evID, err := s.Test(ctx, acct, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	// A failed ping is not retried: once drained (final, see
	// TestRetryThenDeliveredOnce) the receiver has its one request. The
	// second ping below proves the order: it must be request 2.
	waitFor(t, "the ping", func() bool { return len(rc.requests()) >= 1 && drained(t, s, rdb) })
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("ping was attempted %d times, want once", n)
	}
	if ev := checkSigned(t, rc.requests()[0], secret, TypePing); ev.ID != evID {
		t.Errorf("ping event %s, want %s", ev.ID, evID)
	}
	got, _ := s.Get(ctx, acct, w.ID)
	if got.Status != StatusActive || got.ConsecutiveFailures != 0 {
		t.Fatalf("a failed ping changed the webhook: %+v", got)
	}
	log, _ := s.Deliveries(ctx, acct, w.ID, 0)
	if len(log) != 1 || log[0].EventType != TypePing || log[0].Result != "failed" || !log[0].NextAttempt.IsZero() {
		t.Fatalf("log %+v", log)
	}

	// Rotation: the new secret signs from now on.
	_, secret2, err := s.RotateSecret(ctx, acct, w.ID)
	if err != nil || secret2 == secret {
		t.Fatalf("RotateSecret: %v", err)
	}
	ev2, err := s.Test(ctx, acct, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second ping", func() bool { return len(rc.requests()) >= 2 && drained(t, s, rdb) })
	rs := rc.requests()
	if len(rs) != 2 {
		t.Fatalf("receiver got %d requests, want the two pings once each", len(rs))
	}
	if ev := checkSigned(t, rs[1], secret2, TypePing); ev.ID != ev2 {
		t.Fatalf("request 2 is event %s, want the second ping %s: the first was sent again", ev.ID, ev2)
	}

	// Deleting removes the webhook, its secret and its log.
	if err := s.Delete(ctx, acct, w.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, acct, w.ID); err == nil {
		t.Fatal("second Delete succeeded")
	}
	if _, err := s.Deliveries(ctx, acct, w.ID, 0); err == nil {
		t.Fatal("Deliveries of a deleted webhook succeeded")
	}
	if n := rdb.Exists(ctx, s.logKey(0, w.ID), s.db.Keys.WebhookSecrets(0, acct)).Val(); n != 0 {
		t.Fatalf("%d keys of the deleted webhook remain", n)
	}
}

func TestDeletedWebhookDropsQueued(t *testing.T) {
	rdb := redistest.Start(t)
	o := testOptions(t, rdb)
	o.Metrics = NewMetrics(prometheus.NewRegistry())
	s := newService(o)
	ctx := t.Context()
	rc := newReceiver(t, always(http.StatusOK))
	const acct = "a0-deleted"
	w, _, err := s.Create(ctx, acct, rc.srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Emit(ctx, acct, TypeBalanceLow, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, acct, w.ID); err != nil {
		t.Fatal(err)
	}
	run(t, s)
	waitFor(t, "the queue to drain", func() bool { return drained(t, s, rdb) })
	// The entry leaves the queue a moment before the drop is counted.
	waitFor(t, "the drop counted", func() bool {
		return counterValue(t, o.Metrics.deliveries.WithLabelValues("dropped")) == 1
	})
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("a deleted webhook got %d requests", n)
	}
	if n := rdb.Exists(ctx, s.logKey(0, w.ID)).Val(); n != 0 {
		t.Fatal("dropping recreated the deleted webhook's log")
	}
}

// counterValue reads a counter.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestRunSurvivesRefusedGroups (issue 12): a Redis refusing the delivery
// groups at start (here out of memory) delays deliveries; once it accepts
// writes again the service delivers, it never stops for good.
func TestRunSurvivesRefusedGroups(t *testing.T) {
	rdb := redistest.Start(t)
	s := newService(testOptions(t, rdb))
	ctx := t.Context()
	rc := newReceiver(t, func(int) int { return http.StatusNoContent })
	const acct = "a0-oom"
	if _, _, err := s.Create(ctx, acct, rc.srv.URL+"/hook", nil); err != nil {
		t.Fatal(err)
	}
	if err := rdb.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureGroups(ctx); err == nil {
		t.Fatal("EnsureGroups succeeded with maxmemory 1: the test does not exercise the refusal")
	}
	run(t, s)
	if err := rdb.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	m := &accounts.Message{ID: "m0-oom", AccountID: acct, To: "61412345678", Status: accounts.MsgDelivered, CreatedAt: time.Now()}
	if err := s.MessageStatus(ctx, m); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the delivery after Redis recovered", func() bool { return len(rc.requests()) >= 1 })
}
