package promvec

import (
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func value(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestCache(t *testing.T) {
	two := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "two_total", Help: "h"}, []string{"link", "result"})
	c2 := New(two.WithLabelValues)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				c2.Get("a", "ok").Inc()
				c2.Get("b", "ok").Inc()
			}
		})
	}
	wg.Wait()
	for _, lv := range [][2]string{{"a", "ok"}, {"b", "ok"}} {
		if v := value(t, two.WithLabelValues(lv[0], lv[1])); v != 800 {
			t.Errorf("two_total%v = %v, want 800", lv, v)
		}
	}
	if n := testing.AllocsPerRun(100, func() { c2.Get("a", "ok").Inc() }); n != 0 {
		t.Errorf("Get of a known child allocates %v times, want 0", n)
	}
}

func BenchmarkGet(b *testing.B) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_total", Help: "h"}, []string{"link", "result"})
	c := New(vec.WithLabelValues)
	b.Run("cache", func(b *testing.B) {
		for b.Loop() {
			c.Get("carrier-a", "ok").Inc()
		}
	})
	b.Run("WithLabelValues", func(b *testing.B) {
		for b.Loop() {
			vec.WithLabelValues("carrier-a", "ok").Inc()
		}
	})
}
