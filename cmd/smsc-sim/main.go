// Command smsc-sim is a carrier SMSC simulator (SMPP 3.4 server) for demos,
// tests and benchmarks, with a small HTTP API to read the messages it got
// and inject replies. It is a thin main over package smpp/smsctest.
//
//	smsc-sim -listen 127.0.0.1:2775 -http 127.0.0.1:2776 \
//	    -rule suffix=99,receipt=UNDELIV -rule suffix=98,status=0x58,times=3
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/smsgate/smsgate/internal/mailsink"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args, serves until ctx ends and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("smsc-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o smsctest.Options
	fs.StringVar(&o.Addr, "listen", "127.0.0.1:2775", "SMPP listen address")
	httpAddr := fs.String("http", "127.0.0.1:2776", "HTTP API listen address (empty: none)")
	fs.StringVar(&o.SystemID, "system-id", "", "required system_id (empty: any)")
	fs.StringVar(&o.Password, "password", "", "required password (empty: any)")
	fs.DurationVar(&o.DLRDelay, "dlr-delay", 0, "delay before each delivery receipt")
	fs.StringVar(&o.IDFormat, "id-format", "hex", "message ids in submit_sm_resp: hex or decimal")
	fs.StringVar(&o.ReceiptIDFormat, "receipt-id-format", "", "message ids in receipts: hex or decimal (default: as -id-format)")
	fs.Func("rule", `rule by destination suffix, repeatable: "suffix=99,receipt=UNDELIV" or "suffix=98,status=0x58,times=3"`,
		func(v string) error {
			r, err := parseRule(v)
			if err == nil {
				o.Rules = append(o.Rules, r)
			}
			return err
		})
	mailAddr := fs.String("mail-listen", "", "also run a staff mailbox (SMTP sink) here, shown at GET /mail (empty: none)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	format := fs.String("log-format", "text", "text or json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "smsc-sim: -log-level: %v\n", err)
		return 2
	}
	hopts := &slog.HandlerOptions{Level: lv}
	switch *format {
	case "text":
		o.Logger = slog.New(slog.NewTextHandler(stderr, hopts))
	case "json":
		o.Logger = slog.New(slog.NewJSONHandler(stderr, hopts))
	default:
		fmt.Fprintf(stderr, "smsc-sim: -log-format %q: want text or json\n", *format)
		return 2
	}
	srv, err := smsctest.Start(o)
	if err != nil {
		fmt.Fprintf(stderr, "smsc-sim: %v\n", err)
		return 1
	}
	defer srv.Close()
	handler := srv.Handler()
	if *mailAddr != "" {
		sink, err := mailsink.Start(*mailAddr)
		if err != nil {
			fmt.Fprintf(stderr, "smsc-sim: mail: %v\n", err)
			return 1
		}
		defer sink.Close()
		mux := http.NewServeMux()
		mux.Handle("/", handler)
		mux.HandleFunc("GET /mail", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(sink.Mails())
		})
		mux.HandleFunc("GET /mail.txt", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			for _, m := range sink.Mails() {
				fmt.Fprintf(w, "MAIL FROM:<%s> RCPT TO:%v at %s\n%s\n", m.From, m.To, m.At.Format(time.RFC3339), strings.ReplaceAll(m.Data, "\r\n", "\n"))
			}
		})
		handler = mux
		fmt.Fprintf(stdout, "smsc-sim mailbox smtp=%s\n", sink.Addr())
	}
	httpShown := "off"
	if *httpAddr != "" {
		ln, err := net.Listen("tcp", *httpAddr)
		if err != nil {
			fmt.Fprintf(stderr, "smsc-sim: http: %v\n", err)
			return 1
		}
		hs := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				o.Logger.Error("http", "err", err)
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = hs.Shutdown(sctx)
		}()
		httpShown = ln.Addr().String()
	}
	fmt.Fprintf(stdout, "smsc-sim listening smpp=%s http=%s\n", srv.Addr(), httpShown)
	<-ctx.Done()
	o.Logger.Info("shutting down", "stats", srv.Stats())
	return 0
}

// parseRule parses "suffix=98,receipt=UNDELIV,status=0x58,times=3".
func parseRule(v string) (smsctest.Rule, error) {
	var r smsctest.Rule
	for kv := range strings.SplitSeq(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return r, fmt.Errorf("rule %q: %q is not key=value", v, kv)
		}
		switch k {
		case "suffix":
			r.Suffix = val
		case "receipt":
			switch val = strings.ToUpper(val); val {
			case "DELIVRD", "UNDELIV", "EXPIRED", "REJECTD", "NONE":
				r.Receipt = val
			default:
				return r, fmt.Errorf("rule %q: receipt %q: want DELIVRD, UNDELIV, EXPIRED, REJECTD or NONE", v, val)
			}
		case "status":
			n, err := strconv.ParseUint(val, 0, 32)
			if err != nil {
				return r, fmt.Errorf("rule %q: status: %w", v, err)
			}
			r.Status = uint32(n)
		case "times":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return r, fmt.Errorf("rule %q: times %q: want a non-negative integer", v, val)
			}
			r.Times = n
		default:
			return r, fmt.Errorf("rule %q: unknown key %q", v, k)
		}
	}
	return r, nil
}
