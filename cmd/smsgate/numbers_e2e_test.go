package main

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// TestNumberFormsEndToEnd: issue 9's number forms through a real SMTP client
// under an AU account without global_sending. A UK number typed without '+'
// is read as international (and refused for want of global_sending, not sent
// as +61447911123456); a number valid in neither reading is refused with the
// international form to use; a trunk 0 after +61 is dropped.
func TestNumberFormsEndToEnd(t *testing.T) {
	g := startGateway(t)
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()
	start := g.balance(g.sub.ID)

	ukDigits, neither := "447911123456@"+smsDomain, "447700900123@"+smsDomain
	trunk, dashes := `"+61 0412 000 444"@`+smsDomain, "04-1200-0555@"+smsDomain
	refused, err := g.sendMailEach("alice@example.com", []string{ukDigits, neither, trunk, dashes},
		plainMail("alice@example.com", dashes, "n1@example.com", "number forms"))
	if err != nil {
		t.Fatalf("mail: %v", err)
	}
	want := map[string]struct {
		code     int
		enh      [3]int
		contains string
	}{
		ukDigits: {550, [3]int{5, 7, 1}, "permission global_sending"},
		neither: {550, [3]int{5, 1, 3}, `"447700900123" is not a valid AU number (+61 447700900123 is not a number in use for AU) nor a valid number with a country code` +
			` (+44 7700 900123 is not a number in use for GB); write it in international form: + then the country code and the number without its trunk 0, such as +61 412 345 678 (AU mobile)`},
	}
	if len(refused) != len(want) {
		t.Errorf("refused %v, want exactly %d refusals", refused, len(want))
	}
	for rcpt, w := range want {
		code, enh, text := smtpCode(t, refused[rcpt])
		if code != w.code || enh != w.enh || !strings.Contains(text, w.contains) {
			t.Errorf("RCPT %s: %d %v %q, want %d %v containing %q", rcpt, code, enh, text, w.code, w.enh, w.contains)
		}
	}
	got, err := g.sim.WaitMessages(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	var dests []string
	for _, m := range got {
		dests = append(dests, m.Dest)
	}
	slices.Sort(dests)
	if !slices.Equal(dests, []string{"61412000444", "61412000555"}) {
		t.Fatalf("SMS to %v", dests)
	}
	if b := g.balance(g.sub.ID); b != start-2*5 {
		t.Fatalf("balance %d, want %d (two messages)", b, start-10)
	}

	// The API refuses the same number with a problem body saying the same.
	code, body := g.do("POST", "/v1/messages", `{"account": "`+g.parent.ID+`", "to": ["447700900123"], "text": "hi"}`)
	if code != 422 || !strings.Contains(body, `"type":"urn:smsgate:problem:invalid"`) ||
		!strings.Contains(body, "write it in international form") || !strings.Contains(body, `to[0]:`) {
		t.Fatalf("API: %d %s", code, body)
	}
	// A control character in the text is refused, naming the field; CRLF
	// is a line end.
	code, body = g.do("POST", "/v1/messages", `{"account": "`+g.parent.ID+`", "to": ["+61412000666"], "text": "hi\u001b[31m"}`)
	if code != 422 || !strings.Contains(body, "text: control character U+001B") {
		t.Fatalf("API, ESC in the text: %d %s", code, body)
	}
}
