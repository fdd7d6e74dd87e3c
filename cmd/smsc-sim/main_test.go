package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/smpp/smsctest"
)

func TestParseRule(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     smsctest.Rule
		err      bool
	}{
		{"receipt", "suffix=99,receipt=UNDELIV", smsctest.Rule{Suffix: "99", Receipt: "UNDELIV"}, false},
		{"status hex times", "suffix=98,status=0x58,times=3", smsctest.Rule{Suffix: "98", Status: 0x58, Times: 3}, false},
		{"status decimal", "status=11", smsctest.Rule{Status: 11}, false},
		{"no receipt", "suffix=1,receipt=none", smsctest.Rule{Suffix: "1", Receipt: "NONE"}, false},
		{"bad receipt", "receipt=LOST", smsctest.Rule{}, true},
		{"bad status", "status=x", smsctest.Rule{}, true},
		{"bad times", "times=-1", smsctest.Rule{}, true},
		{"unknown key", "colour=red", smsctest.Rule{}, true},
		{"not key value", "suffix", smsctest.Rule{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseRule(tc.in)
			if (err != nil) != tc.err || (!tc.err && got != tc.want) {
				t.Fatalf("parseRule(%q) = %+v, %v", tc.in, got, err)
			}
		})
	}
}

func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-http", "127.0.0.1:0", "-log-format", "json",
			"-rule", "suffix=98,status=0x58,times=3"}, pw, t.Output())
		pw.Close()
	}()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(pr).ReadString('\n')
		line <- s
		_, _ = io.Copy(io.Discard, pr)
	}()
	var l string
	select {
	case l = <-line:
	case <-time.After(5 * time.Second):
		t.Fatal("no start line")
	}
	f := strings.Fields(l)
	if len(f) != 4 || f[1] != "listening" || !strings.HasPrefix(f[2], "smpp=") || !strings.HasPrefix(f[3], "http=") {
		t.Fatalf("start line %q", l)
	}
	resp, err := http.Get("http://" + strings.TrimPrefix(f[3], "http=") + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st smsctest.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /stats: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit code %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return")
	}
}

func TestRunBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-rule", "bogus"}, {"-log-level", "loud"}, {"-log-format", "xml"}, {"-id-format", "octal", "-listen", "127.0.0.1:0", "-http", ""}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if code := run(t.Context(), args, io.Discard, io.Discard); code == 0 {
				t.Fatalf("exit code 0 for %v", args)
			}
		})
	}
}
