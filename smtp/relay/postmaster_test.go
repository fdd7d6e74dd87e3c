package relay

import (
	"strings"
	"testing"
	"time"
)

func TestPostmasterMail(t *testing.T) {
	now := time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC)
	orig := "From: a@b.example\r\nSubject: hi\r\n\r\nbody\r\n"
	// A client-chosen envelope sender cannot add a header line.
	got := string(PostmasterMail("smsgate@gw.example", "ops@example.net", "x@y.example\r\nBcc: victim@z.example", []byte(orig), now))
	want := "Resent-From: smsgate@gw.example\r\nResent-To: ops@example.net\r\nResent-Date: Sat, 05 Dec 2026 03:00:00 +0000\r\n" +
		"X-Smsgate-Envelope-From: x@y.exampleBcc: victim@z.example\r\n" + orig
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	if !strings.Contains(string(PostmasterMail("f@g", "o@p", "", nil, now)), "X-Smsgate-Envelope-From: <>\r\n") {
		t.Fatal("null sender not shown as <>")
	}
}
