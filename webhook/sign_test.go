package webhook

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	secret := newSecret()
	other := newSecret()
	body := []byte(`{"id":"evt_1","type":"message.status"}`)
	now := time.Unix(1_750_000_000, 0)
	good := Sign(secret, body, now)
	ts := strconv.FormatInt(now.Unix(), 10)
	cases := []struct {
		name    string
		secret  string
		header  string
		body    []byte
		now     time.Time
		tol     time.Duration
		wantErr error
	}{
		{"valid", secret, good, body, now, time.Minute, nil},
		{"valid within tolerance", secret, good, body, now.Add(4 * time.Minute), 0, nil},
		{"tampered body", secret, good, []byte(`{"id":"evt_1","type":"message.status "}`), now, time.Minute, ErrSignature},
		{"wrong secret", other, good, body, now, time.Minute, ErrSignature},
		{"old timestamp", secret, good, body, now.Add(10 * time.Minute), 5 * time.Minute, ErrTimestamp},
		{"future timestamp", secret, good, body, now.Add(-10 * time.Minute), 5 * time.Minute, ErrTimestamp},
		{"timestamp changed", secret, strings.Replace(good, "t="+ts, "t="+strconv.FormatInt(now.Unix()+1, 10), 1), body, now, time.Minute, ErrSignature},
		{"empty header", secret, "", body, now, time.Minute, ErrSignature},
		{"no v1", secret, "t=" + ts, body, now, time.Minute, ErrSignature},
		{"no t", secret, "v1=" + sign(secret, now.Unix(), body), body, now, time.Minute, ErrSignature},
		{"bad t", secret, "t=x,v1=00", body, now, time.Minute, ErrSignature},
		{"one of several v1 matches", secret, "t=" + ts + ",v1=deadbeef,v1=" + sign(secret, now.Unix(), body), body, now, time.Minute, nil},
		{"unknown scheme ignored", secret, good + ",v0=abc", body, now, time.Minute, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Verify(c.secret, c.header, c.body, c.tol, c.now)
			if c.wantErr == nil && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Fatalf("Verify: %v, want %v", err, c.wantErr)
			}
		})
	}
}

func TestSecretFormat(t *testing.T) {
	a, b := newSecret(), newSecret()
	if !strings.HasPrefix(a, "whsec_") || len(a) != len("whsec_")+43 || a == b {
		t.Fatalf("secrets %q %q", a, b)
	}
}

func TestValidateURL(t *testing.T) {
	cases := []struct {
		name, url string
		ok        bool
	}{
		{"https", "https://hooks.example.com/sms?x=1", true},
		{"http with port", "http://127.0.0.1:8080/h", true},
		{"empty", "", false},
		{"ftp", "ftp://example.com/", false},
		{"relative", "/hooks", false},
		{"no host", "https:///x", false},
		{"credentials", "https://u:p@example.com/", false},
		{"fragment", "https://example.com/#x", false},
		{"bad port", "https://example.com:99999/", false},
		{"javascript", "javascript:alert(1)", false},
		{"too long", "https://example.com/" + strings.Repeat("a", 3000), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateURL(c.url)
			if (err == nil) != c.ok {
				t.Fatalf("ValidateURL(%q) = %v, want ok=%v", c.url, err, c.ok)
			}
			if err != nil && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "url: ")) {
				t.Fatalf("error %q does not name the field or wrap ErrInvalid", err)
			}
			if err != nil && strings.Contains(err.Error(), "u:p@") {
				t.Fatalf("error %q echoes credentials", err)
			}
		})
	}
}
