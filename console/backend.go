package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/smsgate/smsgate/api"
)

// backend calls the REST API in the same process: the console is one more
// client of it. Every read and write of a page goes through the API handler
// with the signed-in user's session key, so authorisation (the one rule
// table), validation, hide_pricing and the error texts are the API's own.
type backend struct{ api http.Handler }

// maxAnswer bounds what one API answer may hold in memory; CSV exports
// stream (proxy) instead.
const maxAnswer = 8 << 20

// apiRequest builds the in-process request of a call made for the browser's
// request r: the browser's address goes with it (the login throttle counts
// failures per source) and the session key as the bearer token.
func apiRequest(ctx context.Context, r *http.Request, secret, method, path string, body io.Reader, contentType string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, path, body)
	if err != nil {
		return nil, fmt.Errorf("console: request %s %s: %w", method, path, err)
	}
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	req.Header.Set("Accept", "application/json")
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req, nil
}

// call sends method path (with query q, body in as JSON when not nil) and
// decodes a 2xx answer into out (when not nil). An error answer is returned
// as an *api.Problem.
func (b *backend) call(r *http.Request, secret, method, path string, q url.Values, in, out any) error {
	var rd io.Reader
	ct := ""
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("console: encode %s %s: %w", method, path, err)
		}
		rd, ct = bytes.NewReader(data), "application/json"
	}
	return b.send(r, secret, method, path, q, rd, ct, out, nil)
}

// callIdem is call with an Idempotency-Key (a form sent twice acts once).
func (b *backend) callIdem(r *http.Request, secret, method, path, key string, in, out any) error {
	data, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("console: encode %s %s: %w", method, path, err)
	}
	return b.send(r, secret, method, path, nil, bytes.NewReader(data), "application/json", out, http.Header{"Idempotency-Key": {key}})
}

// send is call with a raw body of type ct (a CSV import) and extra
// headers.
func (b *backend) send(r *http.Request, secret, method, path string, q url.Values, body io.Reader, ct string, out any, hdr http.Header) error {
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	req, err := apiRequest(r.Context(), r, secret, method, path, body, ct)
	if err != nil {
		return err
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	rec := &recorder{header: http.Header{}}
	b.api.ServeHTTP(rec, req)
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	if rec.code >= 400 {
		return toProblem(rec.code, rec.body.Bytes())
	}
	if out == nil || rec.code == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
		return fmt.Errorf("console: decode the answer of %s %s: %w", method, path, err)
	}
	return nil
}

// toProblem decodes an error answer; one that is not a problem document
// gets its status text.
func toProblem(code int, body []byte) *api.Problem {
	p := &api.Problem{}
	if json.Unmarshal(body, p) != nil || p.Detail == "" {
		p = &api.Problem{Title: http.StatusText(code), Detail: http.StatusText(code)}
	}
	p.Status = code
	return p
}

// recorder is the in-memory http.ResponseWriter of an in-process call.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if w.body.Len()+len(p) > maxAnswer {
		return 0, fmt.Errorf("console: an API answer is larger than %d bytes", maxAnswer)
	}
	return w.body.Write(p)
}

// download passes an API export (CSV) through to the browser as it is
// written, headers included; an error answer is returned as an
// *api.Problem instead, for the console to show as a page.
func (b *backend) download(w http.ResponseWriter, r *http.Request, secret, path string, q url.Values) error {
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	req, err := apiRequest(r.Context(), r, secret, http.MethodGet, path, nil, "")
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/csv")
	pw := &passWriter{w: w}
	b.api.ServeHTTP(pw, req)
	if pw.failed != nil {
		return pw.failed
	}
	return nil
}

// passWriter writes a successful answer straight through and holds back
// an error answer.
type passWriter struct {
	w      http.ResponseWriter
	code   int
	held   bytes.Buffer
	failed *api.Problem
}

func (p *passWriter) Header() http.Header { return p.w.Header() }

func (p *passWriter) WriteHeader(code int) {
	if p.code != 0 {
		return
	}
	p.code = code
	if code < 400 {
		p.w.WriteHeader(code)
	}
}

func (p *passWriter) Write(b []byte) (int, error) {
	if p.code == 0 {
		p.WriteHeader(http.StatusOK)
	}
	if p.code >= 400 {
		n, _ := p.held.Write(b)
		p.failed = toProblem(p.code, p.held.Bytes())
		return n, nil
	}
	return p.w.Write(b)
}

// Flush lets a long export reach the browser as it goes.
func (p *passWriter) Flush() {
	if f, ok := p.w.(http.Flusher); ok && p.code < 400 {
		f.Flush()
	}
}

// problemOf returns err as an *api.Problem, or nil when it is another error.
func problemOf(err error) *api.Problem {
	p, _ := err.(*api.Problem)
	return p
}

// esc escapes one path segment.
func esc(s string) string { return url.PathEscape(strings.TrimSpace(s)) }
