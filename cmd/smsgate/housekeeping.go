package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/messages"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/config"
)

// housekeepingLease names the lease of the one instance that sweeps.
const housekeepingLease = "housekeeping"

// housekeeper removes records past their retention. Every instance with
// the dispatch role runs one; only the holder of the deployment's
// housekeeping lease sweeps, and it renews the lease each round, so that
// another takes over within three rounds when it ends.
type housekeeper struct {
	store   *redisstore.Store
	hooks   webhookLogs // nil: no webhook logs to trim
	ret     config.Retention
	holder  string
	log     *slog.Logger
	expired *prometheus.CounterVec
}

// webhookLogs trims webhooks' delivery logs (*webhook.Service).
type webhookLogs interface {
	ExpireLogs(ctx context.Context, ids []string, before time.Time) (int, error)
}

func newHousekeeper(store *redisstore.Store, hooks webhookLogs, ret config.Retention, holder string, log *slog.Logger, reg prometheus.Registerer) *housekeeper {
	h := &housekeeper{store: store, hooks: hooks, ret: ret, holder: holder, log: log,
		expired: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_daemon_expired_total",
			Help: "Records removed past their retention (retention.*), by kind: message, reply, blocked, ledger (entries folded into an opening balance), statistics (days of an account), webhook_attempt."}, []string{"kind"})}
	for _, k := range []string{"message", "reply", "blocked", "ledger", "statistics", "webhook_attempt"} {
		h.expired.WithLabelValues(k)
	}
	reg.MustRegister(h.expired)
	return h
}

// run sweeps every retention.every until ctx ends; an error is logged and
// the next round tries again (it never stops for good).
func (h *housekeeper) run(ctx context.Context) error {
	every := h.ret.Every.Std()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		h.round(ctx, time.Now())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// round takes or renews the lease and, holding it, sweeps once.
func (h *housekeeper) round(ctx context.Context, now time.Time) {
	held, err := h.store.Lease(ctx, housekeepingLease, h.holder, 3*h.ret.Every.Std())
	if err != nil {
		if ctx.Err() == nil {
			h.log.WarnContext(ctx, "housekeeping lease", "err", err)
		}
		return
	}
	if !held {
		return
	}
	got, err := h.store.ExpireOld(ctx, messages.Retention{Messages: h.ret.Messages.Std(),
		Inbox: h.ret.Inbox.Std(), Blocked: h.ret.Blocked.Std()}, now)
	h.expired.WithLabelValues("message").Add(float64(got.Messages))
	h.expired.WithLabelValues("reply").Add(float64(got.Replies))
	h.expired.WithLabelValues("blocked").Add(float64(got.Blocked))
	if got != (messages.Expired{}) {
		h.log.InfoContext(ctx, "expired records past their retention", "messages", got.Messages,
			"replies", got.Replies, "blocked", got.Blocked)
	}
	if err != nil && ctx.Err() == nil {
		h.log.WarnContext(ctx, "housekeeping", "err", err)
	}
	keepStats, keepLog, keepLedger := h.ret.Statistics.Std(), h.ret.WebhookLog.Std(), h.ret.Ledger.Std()
	if keepLedger <= 0 && keepLog <= 0 && (keepStats <= 0 || keepStats >= config.MaxStatisticsRetention) {
		return // the TTLs do the rest
	}
	ids, err := h.store.AllAccountIDs(ctx)
	if err != nil {
		h.log.WarnContext(ctx, "housekeeping: list accounts", "err", err)
		return
	}
	if keepLedger > 0 {
		h.compactLedgers(ctx, ids, now.Add(-keepLedger))
	}
	if keepStats > 0 && keepStats < config.MaxStatisticsRetention {
		n, err := h.store.ExpireStats(ctx, ids, accounts.StatsDay(now.Add(-keepStats)))
		h.expired.WithLabelValues("statistics").Add(float64(n))
		if err != nil && ctx.Err() == nil {
			h.log.WarnContext(ctx, "housekeeping: statistics", "err", err)
		}
	}
	if keepLog > 0 && h.hooks != nil {
		n, err := h.hooks.ExpireLogs(ctx, ids, now.Add(-keepLog))
		h.expired.WithLabelValues("webhook_attempt").Add(float64(n))
		if err != nil && ctx.Err() == nil {
			h.log.WarnContext(ctx, "housekeeping: webhook logs", "err", err)
		}
	}
}

// compactLedgers folds every account's ledger entries before cut into its
// opening balance, signed off by "retention".
func (h *housekeeper) compactLedgers(ctx context.Context, ids []string, cut time.Time) {
	folded := 0
	for _, id := range ids {
		n, _, err := h.store.CompactLedger(ctx, id, cut, "retention")
		folded += n
		if err != nil && !errors.Is(err, accounts.ErrNotFound) && ctx.Err() == nil {
			h.log.WarnContext(ctx, "housekeeping: compact ledger", "account", id, "err", err)
		}
	}
	h.expired.WithLabelValues("ledger").Add(float64(folded))
}
