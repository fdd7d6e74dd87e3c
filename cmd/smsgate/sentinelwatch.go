package main

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/config"
)

// masterWatch counts the Redis master's changes as the sentinels announce
// them (+switch-master on each sentinel; one failover may count once per
// sentinel, which only makes an accept in flight then safe to retry).
// The store refuses to confirm an accept that waited for its replicas
// across a change (store.Options.MasterState).
type masterWatch struct {
	n    atomic.Int64
	last atomic.Int64 // unix ns of the last announcement
	subs []*redis.PubSub
	wg   sync.WaitGroup
}

// masterSettle is how long after a master change accepts are not
// confirmed: long enough for every sentinel (and the Redis client, which
// listens to one) to know the new master, and for the sentinels to demote
// an old master that comes back.
const masterSettle = 10 * time.Second

// watchMasters subscribes to +switch-master on every sentinel of c; nil
// when c names no sentinels. The subscriptions reconnect by themselves;
// close ends them.
func watchMasters(ctx context.Context, c config.Redis, log *slog.Logger) *masterWatch {
	if c.Sentinel.Master == "" {
		return nil
	}
	w := &masterWatch{}
	for _, addr := range c.Sentinel.Addrs {
		// As the Redis client (newRedis) reaches the sentinels: without the
		// servers' credentials.
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr})
		ps := sc.Subscribe(ctx, "+switch-master")
		w.subs = append(w.subs, ps)
		w.wg.Go(func() {
			defer sc.Close()
			for m := range ps.Channel() {
				w.last.Store(time.Now().UnixNano())
				w.n.Add(1)
				log.WarnContext(ctx, "redis master changed", "sentinel", addr, "switch", m.Payload)
			}
		})
	}
	return w
}

// state is how many master changes the sentinels have announced, and
// whether masterSettle has passed since the last.
func (w *masterWatch) state() (int64, bool) {
	n := w.n.Load()
	last := w.last.Load()
	return n, last == 0 || time.Since(time.Unix(0, last)) >= masterSettle
}

// close ends the subscriptions.
func (w *masterWatch) close() {
	for _, ps := range w.subs {
		_ = ps.Close()
	}
	w.wg.Wait()
}
