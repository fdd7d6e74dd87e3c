package main

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// poolCollector exports the Redis client's connection pool on each scrape:
// connections in use and idle, and the waits that found none free in time
// (the first sign of a Redis that stalls or a pool too small).
type poolCollector struct {
	stats                         func() *redis.PoolStats
	conns, hits, misses, timeouts *prometheus.Desc
}

func newPoolCollector(rdb redis.UniversalClient) *poolCollector {
	return &poolCollector{
		stats: rdb.PoolStats,
		conns: prometheus.NewDesc("smsgate_redis_pool_connections",
			"Connections of the Redis client's pool, by state (idle or in_use).", []string{"state"}, nil),
		hits: prometheus.NewDesc("smsgate_redis_pool_hits_total",
			"Times a free connection was found in the Redis client's pool.", nil, nil),
		misses: prometheus.NewDesc("smsgate_redis_pool_misses_total",
			"Times the Redis client's pool had no free connection and opened or waited for one.", nil, nil),
		timeouts: prometheus.NewDesc("smsgate_redis_pool_timeouts_total",
			"Times a command waited for a pool connection longer than the pool timeout and failed.", nil, nil),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.conns
	ch <- c.hits
	ch <- c.misses
	ch <- c.timeouts
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(s.IdleConns), "idle")
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(s.TotalConns-s.IdleConns), "in_use")
	ch <- prometheus.MustNewConstMetric(c.hits, prometheus.CounterValue, float64(s.Hits))
	ch <- prometheus.MustNewConstMetric(c.misses, prometheus.CounterValue, float64(s.Misses))
	ch <- prometheus.MustNewConstMetric(c.timeouts, prometheus.CounterValue, float64(s.Timeouts))
}
