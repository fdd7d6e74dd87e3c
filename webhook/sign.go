package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries the signature of every delivery:
//
//	Smsgate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// The scheme is Stripe's: the timestamp is signed with the body, so that a
// captured request cannot be replayed after the receiver's tolerance. The
// HMAC key is the secret exactly as it was shown ("whsec_..."), as bytes.
const SignatureHeader = "Smsgate-Signature"

// DefaultTolerance is how old (or how far in the future) a signature's
// timestamp may be when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// secretPrefix starts every signing secret.
const secretPrefix = "whsec_"

// Errors of Verify, tested with errors.Is.
var (
	// ErrSignature: the header is missing, malformed, or no v1 signature
	// matches the body under the secret.
	ErrSignature = errors.New("webhook signature does not match")
	// ErrTimestamp: the signature is valid but its timestamp is outside the
	// tolerance (a replay, or a clock far off).
	ErrTimestamp = errors.New("webhook signature timestamp outside tolerance")
)

// newSecret returns a new signing secret: "whsec_" and 32 random bytes.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return secretPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// sign returns the hex HMAC-SHA256 of "<t>.<body>" under secret.
func sign(secret string, t int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(t, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Sign returns the value of the Smsgate-Signature header for body sent at
// Now.
func Sign(secret string, body []byte, now time.Time) string {
	t := now.Unix()
	return "t=" + strconv.FormatInt(t, 10) + ",v1=" + sign(secret, t, body)
}

// Verify checks a delivery as a receiver should: header is the
// Smsgate-Signature value, body the raw request body (before any JSON
// decoding), secret the webhook's signing secret. It returns nil when a v1
// signature matches and the timestamp is within tolerance of now
// (tolerance <= 0 means DefaultTolerance); otherwise an error wrapping
// ErrSignature or ErrTimestamp. Several v1 values are accepted, any of which
// may match. Comparison is constant-time.
func Verify(secret string, header string, body []byte, tolerance time.Duration, now time.Time) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var (
		t     int64
		haveT bool
		sigs  []string
	)
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%s: element %q is not key=value: %w", SignatureHeader, part, ErrSignature)
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("%s: t=%q is not a unix time: %w", SignatureHeader, v, ErrSignature)
			}
			t, haveT = n, true
		case "v1":
			sigs = append(sigs, v)
		}
		// Other schemes (v0, future versions) are ignored.
	}
	if !haveT || len(sigs) == 0 {
		return fmt.Errorf("%s: t and v1 are required: %w", SignatureHeader, ErrSignature)
	}
	want := []byte(sign(secret, t, body))
	match := false
	for _, s := range sigs {
		if hmac.Equal([]byte(strings.ToLower(s)), want) {
			match = true
		}
	}
	if !match {
		return fmt.Errorf("%s: no v1 signature matches: %w", SignatureHeader, ErrSignature)
	}
	if age := now.Sub(time.Unix(t, 0)); age > tolerance || age < -tolerance {
		return fmt.Errorf("%s: timestamp %d is %s from now, tolerance %s: %w",
			SignatureHeader, t, age.Round(time.Second), tolerance, ErrTimestamp)
	}
	return nil
}
