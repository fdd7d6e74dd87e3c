package smpp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/smsgate/smsgate/smpp"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a link's
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// duplicateKey returns the first key that appears twice in one JSON object
// of line, at any depth (slog groups are nested objects), or "".
func duplicateKey(line string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	dup, err := scanValue(dec, "")
	if err != nil {
		return "", err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("trailing data after the object (%v)", err)
	}
	return dup, nil
}

// scanValue reads one JSON value token by token and reports the first
// repeated key of any object in it, as a dotted path.
func scanValue(dec *json.Decoder, path string) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		dup := ""
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return "", err
			}
			k, ok := kt.(string)
			if !ok {
				return "", fmt.Errorf("object key %v is not a string", kt)
			}
			if seen[k] && dup == "" {
				dup = path + k
			}
			seen[k] = true
			d, err := scanValue(dec, path+k+".")
			if err != nil {
				return "", err
			}
			if dup == "" {
				dup = d
			}
		}
		_, err := dec.Token() // '}'
		return dup, err
	case json.Delim('['):
		dup := ""
		for dec.More() {
			d, err := scanValue(dec, path)
			if err != nil {
				return "", err
			}
			if dup == "" {
				dup = d
			}
		}
		_, err := dec.Token() // ']'
		return dup, err
	}
	return "", nil
}

func TestDuplicateKey(t *testing.T) {
	for _, tc := range []struct{ name, line, want string }{
		{"none", `{"a":1,"b":{"a":2},"c":[{"a":1,"b":2}]}`, ""},
		{"top level", `{"a":1,"b":2,"a":3}`, "a"},
		{"in a group", `{"g":{"x":1,"x":2}}`, "g.x"},
		{"in an array", `{"l":[{"y":1},{"y":1,"y":2}]}`, "l.y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := duplicateKey(tc.line)
			if err != nil || got != tc.want {
				t.Fatalf("duplicateKey(%s) = %q, %v; want %q", tc.line, got, err, tc.want)
			}
		})
	}
}

// TestLinkLogKeysOnce drives a link through a failed bind, a bind, a failing
// OnDeliver, a dropped connection and a shutdown, with a logger built the
// way cmd/smsgate builds it, and fails on any line that repeats a key.
func TestLinkLogKeysOnce(t *testing.T) {
	var buf syncBuffer
	base := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))

	sim := startSim(t, smsctest.Options{SystemID: "smsgate", Password: "secret"})
	lo := linkOpts(sim)
	lo.Logger = base.With("component", "smpp", "link", lo.Name)
	lo.OnDeliver = func(context.Context, *smpp.Deliver) error { return errors.New("store down") }
	ctx := testCtx(t)

	// A bind with the wrong password, then the link with the right one.
	lo.Password = "wrong"
	bad := smpp.NewLink(lo)
	bctx, bcancel := context.WithCancel(ctx)
	bdone := make(chan error, 1)
	go func() { bdone <- bad.Run(bctx) }()
	if err := bad.WaitBindAttempts(ctx, 2); err != nil {
		t.Fatal(err)
	}
	bcancel()
	if err := <-bdone; err != nil {
		t.Fatal(err)
	}

	lo.Password = "secret"
	l := smpp.NewLink(lo)
	lctx, lcancel := context.WithCancel(ctx)
	ldone := make(chan error, 1)
	go func() { ldone <- l.Run(lctx) }()
	if err := l.WaitUp(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := sim.InjectMO(ctx, smsctest.MO{Source: "61412345678", Dest: "61400000000", Text: "hi"}); err == nil {
		t.Fatal("InjectMO succeeded; the handler fails, so the SMSC should get a temporary error")
	}
	if err := sim.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.WaitUp(ctx, false); err != nil {
		t.Fatal(err)
	}
	startSim(t, smsctest.Options{Addr: sim.Addr(), SystemID: "smsgate", Password: "secret"})
	if err := l.WaitUp(ctx, true); err != nil {
		t.Fatal(err)
	}
	lcancel()
	if err := <-ldone; err != nil {
		t.Fatal(err)
	}

	msgs := map[string]int{}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	for _, line := range lines {
		dup, err := duplicateKey(line)
		if err != nil {
			t.Fatalf("undecodable log line %s: %v", line, err)
		}
		if dup != "" {
			t.Errorf("key %q repeated in %s", dup, line)
		}
		var rec struct {
			Msg       string `json:"msg"`
			Component string `json:"component"`
			Link      string `json:"link"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Component != "smpp" || rec.Link != lo.Name {
			t.Errorf("line without component=smpp link=%s: %s", lo.Name, line)
		}
		// Durations are slog durations: a JSON number of nanoseconds, never
		// a string or milliseconds.
		var attrs map[string]any
		if err := json.Unmarshal([]byte(line), &attrs); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"retry_in", "bound_for"} {
			if v, ok := attrs[k]; ok {
				if _, num := v.(float64); !num {
					t.Errorf("%s is %T, want a duration (number): %s", k, v, line)
				}
			}
		}
		msgs[rec.Msg]++
	}
	// The test is only as good as the lines it saw.
	for _, m := range []string{"link bind", "link bound", "deliver handler", "link down", "link closed"} {
		if msgs[m] == 0 {
			t.Errorf("no %q line among %d lines: %v", m, len(lines), msgs)
		}
	}
}
