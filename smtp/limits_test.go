package smtp

import (
	"fmt"
	"strings"
	"testing"

	gosmtp "github.com/emersion/go-smtp"
)

// TestLineLimitQuoted sends, through a real client, the longest line the
// gateway accepts and one character more: the refusal quotes the limit that
// was actually enforced.
func TestLineLimitQuoted(t *testing.T) {
	h := start(t, nil)
	c := h.dial(t, nil)
	longest := maxLineBytes - 2
	for _, tt := range []struct {
		n    int
		want bool
	}{{longest, true}, {longest + 1, false}} {
		if err := c.Mail("someone@a.example", nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("0412345678@sms.test", nil); err != nil {
			t.Fatal(err)
		}
		_, err := send(c, plainMail+strings.Repeat("x", tt.n)+"\n")
		if tt.want {
			if err != nil {
				t.Fatalf("line of %d characters: %v", tt.n, err)
			}
			continue
		}
		wantReply(t, err, 554, gosmtp.EnhancedCode{5, 6, 0}, fmt.Sprintf("message has a line longer than %d characters", longest))
		// The limit quoted is the one enforced: a line of that length passed above.
		if !strings.Contains(err.Error(), "longer than 1998 characters") {
			t.Fatalf("reply %q", err)
		}
		return
	}
}
