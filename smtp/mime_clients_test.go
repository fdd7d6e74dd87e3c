package smtp

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-message"
)

// clientMails are raw mails as the named clients write them
// (testdata/mime/*.eml) and the SMS text each should give.
var clientMails = []struct {
	file, text, subject string
}{
	{"outlook_desktop.eml", "Yes, 3pm works. I'll book the room.\n\nBob", "RE: Meeting"},
	{"owa.eml", "It\u2019s 4821 until Friday.", "Re: Gate code"},
	{"outlook_mac.eml", "Running 10 minutes late \u2013 start without me.", "Re: Meeting"},
	{"outlook_android.eml", "OK, confirmed.", "Re: Meeting"},
	{"original_message.eml", "Delivery confirmed for Tuesday.", "RE: Delivery"},
	{"gmail.eml", "Yes \u2014 3pm works.", "Re: Meeting"},
	{"gmail_forward.eml", "FYI, the code changes on Friday.", "Fwd: Gate code"},
	{"gmail_bare_forward.eml", "The gate code is 4821.", "Fwd: Gate code"},
	{"apple_mail.eml", "Sure, see you then. I\u2019ll bring the printed agenda.\n\nBob", "Re: Meeting"},
	{"apple_forward.eml", "Please pass this on to the night shift.", "Fwd: Gate code"},
	{"iphone.eml", "On my way \U0001F697", "Re: Meeting"},
	{"thunderbird.eml", "Hi Alice,\n\nYes, that works for me. I will bring the printed agenda and the minutes of the last meeting.\n\nBob", "Re: Meeting"},
	{"flowed_delsp.eml", "Please call me back when you get this message. The code is split across lines: 4821.\n>> Where do I park? This quote is flowed too.\nFrom the car park take the lift.", "Directions"},
	{"subject_only.eml", "", "Running 10 min late"},
	{"blank_plain_beside_html.eml", "Your shift starts at 7am tomorrow.\n\nGate 4", "Shift"},
	{"bare_dashes.eml", "Results:\n--\nTeam A 3\nTeam B 1", "Results"},
	{"control_chars.eml", "[1mALARM[0m at site 4 now\tcheck", "Alarm site 4"},
	{"8bit_utf8.eml", "Café crème at 10 – €5", "Café"},
	{"8bit_cp1252.eml", "Café crème at 10 – €5 \u201cok\u201d", "Café"},
}

func readClientMail(tb testing.TB, file string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "mime", file))
	if err != nil {
		tb.Fatal(err)
	}
	return crlf(string(b))
}

func TestTextFromMIMEClients(t *testing.T) {
	for _, tt := range clientMails {
		t.Run(strings.TrimSuffix(tt.file, ".eml"), func(t *testing.T) {
			p, err := TextFromMIME(strings.NewReader(readClientMail(t, tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if p.Text != tt.text {
				t.Errorf("text\n%q\nwant\n%q", p.Text, tt.text)
			}
			if p.Subject != tt.subject {
				t.Errorf("subject %q, want %q", p.Subject, tt.subject)
			}
		})
	}
}

// TestHTMLToTextClients checks that the HTML alternative of each client
// mail gives the same text as its text/plain part: HTML-only mail from the
// same clients is cut the same way.
func TestHTMLToTextClients(t *testing.T) {
	for _, tt := range clientMails {
		e, err := message.Read(strings.NewReader(readClientMail(t, tt.file)))
		if err != nil {
			t.Fatal(err)
		}
		err = e.Walk(func(_ []int, part *message.Entity, _ error) error {
			if ct, _, _ := part.Header.ContentType(); ct != "text/html" {
				return nil
			}
			b, err := io.ReadAll(part.Body)
			if err != nil {
				return err
			}
			t.Run(strings.TrimSuffix(tt.file, ".eml"), func(t *testing.T) {
				if got := cleanText(HTMLToText(string(b))); got != tt.text {
					t.Errorf("text\n%q\nwant\n%q", got, tt.text)
				}
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
