package smpp

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// WaitBindAttempts waits until n binds were attempted or ctx ends (for tests).
func (l *Link) WaitBindAttempts(ctx context.Context, n int) error {
	return l.waitFor(ctx, func() bool { return l.attempts >= n })
}

// Binds returns the binds_total counter of one link and result (for tests).
func (m *LinkMetrics) Binds(link, result string) prometheus.Metric {
	return m.binds.WithLabelValues(link, result)
}

// Up returns the link_up gauge of one link (for tests).
func (m *LinkMetrics) Up(link string) prometheus.Metric { return m.up.WithLabelValues(link) }

// Value returns the value of a counter or gauge (for tests).
func Value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return -1
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}
