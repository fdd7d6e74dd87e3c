package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/internal/redistest"
)

// BenchmarkLoginFlood measures what a flood of wrong-password logins does
// to every other request (issue 10: 16 concurrent bad logins took an API
// call from 3 ms to 278 ms): the latency of GET /v1/me alone, then while 16
// clients guess passwords as fast as they can (bcrypt at the production
// cost, bounded to a slot per two CPUs). It prints the percentiles.
//
//	go test ./api -run '^$' -bench LoginFlood -benchtime 1x
func BenchmarkLoginFlood(b *testing.B) {
	rdb := redistest.Start(b)
	st := redisstore.New(rdb, redisstore.Options{})
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(New(Options{Stores: storesOf(st), Registry: reg, Registerer: reg}))
	b.Cleanup(srv.Close)
	ctx := b.Context()
	_, key, err := st.Bootstrap(ctx, accounts.Account{Name: "Root", DefaultCountry: "AU"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.CreateUser(ctx, "victim@example.com", "Victim", "correct horse battery"); err != nil {
		b.Fatal(err)
	}
	me := func() time.Duration {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		start := time.Now()
		resp, err := srv.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		return time.Since(start)
	}
	sample := func(n int) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = me()
			time.Sleep(5 * time.Millisecond)
		}
		slices.Sort(out)
		return out
	}
	pct := func(d []time.Duration, p float64) time.Duration { return d[int(float64(len(d)-1)*p)] }
	for range b.N {
		quiet := sample(200)
		floodCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		var mu sync.Mutex
		logins := 0
		for c := range 16 {
			wg.Go(func() {
				body := []byte(fmt.Sprintf(`{"email":"victim@example.com","password":"guess %d"}`, c))
				for floodCtx.Err() == nil {
					req, _ := http.NewRequestWithContext(floodCtx, "POST", srv.URL+"/v1/auth/login", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					if resp, err := srv.Client().Do(req); err == nil {
						resp.Body.Close()
						mu.Lock()
						logins++
						mu.Unlock()
					}
				}
			})
		}
		time.Sleep(200 * time.Millisecond) // the flood is running
		flood := sample(200)
		stop()
		wg.Wait()
		b.Logf("GET /v1/me alone:           p50 %v p99 %v", pct(quiet, 0.5), pct(quiet, 0.99))
		b.Logf("with 16 clients guessing:   p50 %v p99 %v (%d login attempts answered)", pct(flood, 0.5), pct(flood, 0.99), logins)
		b.ReportMetric(float64(pct(flood, 0.99).Microseconds()), "flood-p99-us")
	}
}
