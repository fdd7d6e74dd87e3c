package smsctest_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/smpp"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

func start(t *testing.T, o smsctest.Options) *smsctest.Server {
	t.Helper()
	o.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := smsctest.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// bind runs a link against s until the end of the test.
func bind(t *testing.T, s *smsctest.Server, onDeliver func(context.Context, *smpp.Deliver) error) *smpp.Link {
	t.Helper()
	l := smpp.NewLink(smpp.LinkOptions{Name: "t", Addr: s.Addr(), OnDeliver: onDeliver,
		ReconnectMin: 10 * time.Millisecond, ResponseTimeout: 3 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = l.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	wctx, wcancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer wcancel()
	if err := l.WaitUp(wctx, true); err != nil {
		t.Fatal(err)
	}
	return l
}

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestReassemblyOutOfOrderAndBoundedStorage(t *testing.T) {
	s := start(t, smsctest.Options{KeepMessages: 2})
	l := bind(t, s, nil)
	ctx := ctx5(t)
	for ref := range 5 {
		for _, seq := range []int{3, 1, 2} {
			r := &smpp.SubmitRequest{Dest: "61400000001", UDH: smpp.ConcatUDH(uint8(ref), 3, seq), Payload: []byte{byte('a' + seq - 1)}}
			if _, err := l.Submit(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	msgs, err := s.WaitMessages(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) > 2 || len(msgs) == 0 {
		t.Fatalf("kept %d messages, want 1..2", len(msgs))
	}
	for _, m := range msgs {
		if m.Text != "abc" || m.Parts != 3 || len(m.PartIDs) != 3 {
			t.Fatalf("message %+v", m)
		}
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := s.WaitMessages(short, 6); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitMessages beyond total: %v", err)
	}
}

func TestInjectMONoReceiver(t *testing.T) {
	s := start(t, smsctest.Options{})
	if err := s.InjectMO(ctx5(t), smsctest.MO{Source: "1", Dest: "2", Text: "x"}); err == nil {
		t.Fatal("InjectMO without a bound receiver succeeded")
	}
}

func TestStartBadOptions(t *testing.T) {
	for _, o := range []smsctest.Options{{IDFormat: "octal"}, {ReceiptIDFormat: "base64"}, {Addr: "256.0.0.1:1"}} {
		if s, err := smsctest.Start(o); err == nil {
			_ = s.Close()
			t.Errorf("Start(%+v) succeeded", o)
		}
	}
}

func TestHTTP(t *testing.T) {
	s := start(t, smsctest.Options{})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	got := make(chan *smpp.Deliver, 1)

	do := func(method, path, body string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx5(t), method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var raw json.RawMessage
		if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
			t.Fatalf("%s %s: body is not JSON: %v", method, path, err)
		}
		return resp.StatusCode, raw
	}

	// Before any bind: MO has nowhere to go.
	if code, body := do("POST", "/mo", `{"from":"61412345678","to":"61400000000","text":"hi"}`); code != http.StatusConflict || !strings.Contains(string(body), `"error"`) {
		t.Fatalf("POST /mo unbound: %d %s", code, body)
	}
	l := bind(t, s, func(_ context.Context, d *smpp.Deliver) error { got <- d; return nil })
	for _, text := range []string{"one", "two", "three"} {
		if _, err := l.Submit(ctx5(t), &smpp.SubmitRequest{Dest: "61400000001", Payload: []byte(text)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.WaitMessages(ctx5(t), 3); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		contains                 string
	}{
		{"all messages", "GET", "/messages", "", 200, `"text":"one"`},
		{"since", "GET", "/messages?since=2", "", 200, `"text":"three"`},
		{"since past the end", "GET", "/messages?since=9", "", 200, `[]`},
		{"bad since", "GET", "/messages?since=x", "", 400, `"error"`},
		{"stats", "GET", "/stats", "", 200, `"submits":3`},
		{"mo bad json", "POST", "/mo", `{"from":`, 400, `"error"`},
		{"mo unknown field", "POST", "/mo", `{"from":"1","to":"2","txt":"x"}`, 400, `"error"`},
		{"mo missing to", "POST", "/mo", `{"from":"1","text":"x"}`, 400, `"error"`},
		{"mo", "POST", "/mo", `{"from":"61412345678","to":"61400000000","text":"reply"}`, 202, `"accepted"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := do(tc.method, tc.path, tc.body)
			if code != tc.code || !strings.Contains(string(body), tc.contains) {
				t.Fatalf("%s %s: %d %s, want %d containing %s", tc.method, tc.path, code, body, tc.code, tc.contains)
			}
			if tc.path == "/messages?since=2" && strings.Contains(string(body), `"text":"two"`) {
				t.Fatalf("since=2 returned message 1: %s", body)
			}
		})
	}
	select {
	case d := <-got:
		if d.Text != "reply" || d.Source != "61412345678" {
			t.Fatalf("MO %+v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("MO not delivered")
	}
}
