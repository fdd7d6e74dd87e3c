package smtp

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCleanTextHistory(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"inline reply kept", "Alice wrote:\n> Can we meet at 3?\nYes.\n> Bring the agenda?\nSure.",
			"Alice wrote:\n> Can we meet at 3?\nYes.\n> Bring the agenda?\nSure."},
		{"inline reply then trailing quote", "> Can we meet at 3?\nYes.\n\n> Thanks\n> Alice", "> Can we meet at 3?\nYes."},
		{"trailing quote without attribution", "Fine.\n\n> earlier\n>\n> text", "Fine."},
		{"attribution with nothing quoted below kept", "On Monday I wrote:\nthe plan is on.", "On Monday I wrote:\nthe plan is on."},
		{"thunderbird attribution", "Yes.\n\nOn 03/06/2024 10:00, Alice wrote:\n> q", "Yes."},
		{"gmail attribution wrapped", "Yes.\n\nOn Mon, 3 Jun 2024 at 10:00, Alice Example <alice@example.com>\nwrote:\n\n> q", "Yes."},
		{"french attribution", "Oui.\n\nLe lun. 3 juin 2024 à 10:00, Alice <a@x> a écrit :\n> q", "Oui."},
		{"german attribution", "Ja.\n\nAm 03.06.2024 um 10:00 schrieb Alice <a@x>:\n> q", "Ja."},
		{"all quoted keeps text", "> Gate code 4821\n> Alice", "Gate code 4821\nAlice"},
		{"original message", "Done.\n\n-----Original Message-----\nFrom: Alice\nSent: Monday\nTo: Bob\nSubject: x\n\nold", "Done."},
		{"spaced original message", "Done.\n----- Original Message -----\nFrom: Alice\nold", "Done."},
		{"thunderbird forward", "See below.\n\n-------- Forwarded Message --------\nSubject: x\nDate: Mon\nFrom: Alice\nTo: Bob\n\nold", "See below."},
		{"thunderbird bare forward", "-------- Forwarded Message --------\nSubject: \tGate\nDate: \tMon, 3 Jun 2024 10:00:00 +0200\nFrom: \tAlice <a@x>\nTo: \tBob\n\nThe code is 4821.", "The code is 4821."},
		{"apple bare forward", "Begin forwarded message:\n\nFrom: Alice <a@x>\nSubject: Gate\nDate: 3 June 2024 at 10:00:00 AEST\nTo: Bob\n\nThe code is 4821.", "The code is 4821."},
		{"bare forward without headers", "---------- Forwarded message ---------\nThe code is 4821.", "The code is 4821."},
		{"apple forward", "FYI\n\nBegin forwarded message:\n\n> From: Alice\n> old", "FYI"},
		{"outlook block", "OK\n\nFrom: Alice <a@x>\nSent: Monday, June 3, 2024 10:00 AM\nTo: Bob\nCc: Carol\nSubject: RE: x\n\nold", "OK"},
		{"outlook block under underscores", "OK\n________________________________\nFrom: Alice\nSent: Monday\nTo: Bob\nSubject: x\n\nold", "OK"},
		{"outlook bold block", "OK\n\n*From:* Alice\n*Sent:* Monday\n*To:* Bob\n*Subject:* x\n\nold", "OK"},
		{"french outlook block", "D'accord.\n\nDe : Alice <a@x>\nEnvoyé : lundi 3 juin 2024 10:00\nÀ : Bob\nObjet : Réunion\n\nold", "D'accord."},
		{"outlook block first is a forward", "From: Alice <a@x>\nSent: Monday\nTo: Bob\nSubject: Gate\n\nThe code is 4821.", "The code is 4821."},
		{"from line alone kept", "From: the depot\nTo: site 4\nPallets ready.", "From: the depot\nTo: site 4\nPallets ready."},
		{"underscores alone kept", "Sign here\n____________________\nName", "Sign here\n____________________\nName"},
		{"marker in a sentence kept", "The original message was lost.", "The original message was lost."},
		{"bare dashes near end kept", "Score\n--\n3", "Score\n--\n3"},
		{"signature", "Call me.\n-- \nBob\nOn Mon, Alice wrote:\n> q", "Call me."},
		{"iphone signature", "On my way\n\nSent from my iPhone", "On my way"},
		{"several app signatures", "Yes\n\nSent from my Galaxy\nGet Outlook for Android<https://aka.ms/x>\n", "Yes"},
		{"mail for windows", "Yes\n\nSent from Mail for Windows 10", "Yes"},
		{"signature-like line mid text kept", "Sent from my iPhone so excuse typos\nsee you", "Sent from my iPhone so excuse typos\nsee you"},
		{"controls", "a\x00b\x07c\x1bd\u0085e\ufefff\tg\x7fh", "abcdef\tgh"},
		{"cr line ends", "one\r\ntwo\rthree", "one\ntwo\nthree"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cleanText(tt.in); got != tt.want {
				t.Errorf("cleanText(%q)\n= %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestUnflow(t *testing.T) {
	tests := []struct {
		name, in string
		delSp    bool
		want     string
	}{
		{"soft break keeps space", "one \ntwo\nthree", false, "one two\nthree"},
		{"delsp deletes space", "abc \ndef\n", true, "abcdef\n"},
		{"delsp keeps the real space", "get  \nthis", true, "get this"},
		{"space-stuffing removed", " From here\n >x", false, "From here\n>x"},
		{"signature separator is fixed", "Bob \n-- \nsig", false, "Bob -- \nsig"},
		{"quoted lines join", "> a \n> b\nc", false, "> a b\nc"},
		{"quote depth change ends flow", "> a \n>> b\nc", false, "> a \n>> b\nc"},
		{"flowed last line", "end ", false, "end "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unflow(tt.in, tt.delSp); got != tt.want {
				t.Errorf("unflow(%q, %v) = %q, want %q", tt.in, tt.delSp, got, tt.want)
			}
		})
	}
}

func TestDecodeUnlabelled(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"ascii", "plain", "plain"},
		{"utf-8", "Caf\xc3\xa9", "Café"},
		{"windows-1252", "Caf\xe9 \x80 \x93x\x94", "Café € \u201cx\u201d"},
		{"latin-1 range", "\xa350 \xfc", "£50 ü"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decodeUnlabelled([]byte(tt.in)); got != tt.want {
				t.Errorf("decodeUnlabelled(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestHTMLToTextLayout(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"divs are lines", "<div>one</div><div>two</div>", "one\ntwo"},
		{"empty div with br is a blank line", "<div>Hi</div><div><br></div><div>See you</div>", "Hi\n\nSee you"},
		{"blockquote quoted", "<p>Yes</p><blockquote><div>q1</div><div>q2</div></blockquote><p>after</p>", "Yes\n\n> q1\n> q2\n\nafter"},
		{"nested blockquote", "x<blockquote>a<blockquote>b</blockquote></blockquote>y", "x\n\n> a\n\n>> b\n\ny"},
		{"table cells spaced", "<table><tr><td>Site</td><td>4</td></tr><tr><td>Gate</td><td>2</td></tr></table>", "Site 4\nGate 2"},
		{"pre keeps lines", "<pre>a  b\nc</pre>", "a  b\nc"},
		{"unclosed head", "<head><title>x</title><body>text", "text"},
		{"gmail signature separator", "Thanks<br><span>-- </span><br><div>Bob</div>", "Thanks"},
		{"nbsp", "a&nbsp;&nbsp;b", "a b"},
		{"textarea text kept", "<textarea>a<b>c</textarea>", "a<b>c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cleanText(HTMLToText(tt.in)); got != tt.want {
				t.Errorf("HTMLToText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestHTMLToTextBounded checks that the text stays within a small multiple
// of hostile markup (the cost in time is BenchmarkHTMLToText's to show).
func TestHTMLToTextBounded(t *testing.T) {
	tests := []struct{ name, in string }{
		{"deep blockquotes", strings.Repeat("<blockquote>", 20000) + strings.Repeat("x<br>", 20000)},
		{"many list items", strings.Repeat("<ul><li>", 20000)},
		{"unclosed skip", "<script>" + strings.Repeat("</scrip ", 20000)},
		{"many breaks", strings.Repeat("<br><p><div>", 20000) + "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HTMLToText(tt.in); len(got) > 2*len(tt.in) {
				t.Errorf("%d bytes of text from %d of HTML", len(got), len(tt.in))
			}
		})
	}
}

func BenchmarkHTMLToText(b *testing.B) {
	// 1 MiB of the markup mail clients write: nested divs, inline styles,
	// entities, a style block and unclosed tags.
	chunk := `<div style="font-family:Calibri"><p class="MsoNormal">Hello &amp; welcome,<br>` +
		`see <a href="https://example.com/?a=1&amp;b=2">the &lt;link&gt;</a> <b>now</b><o:p></o:p></p>` +
		`<style>p{margin:0}</style><table><tr><td>cell</td><td>&nbsp;</td></tr></table><blockquote>q<i>x` +
		"</blockquote></div>\n"
	in := strings.Repeat(chunk, (1<<20)/len(chunk)+1)[:1<<20]
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		HTMLToText(in)
	}
}

// BenchmarkTextFromMIME: the SMS text of a mail as each client writes it
// (a plain one-liner, Outlook's multipart/alternative with HTML, Gmail's
// reply with quoted history).
func BenchmarkTextFromMIME(b *testing.B) {
	for _, name := range []string{"plain", "outlook_desktop.eml", "gmail.eml"} {
		raw := []byte("From: jo@a.example\r\nTo: 0412345678@sms.test\r\nSubject: x\r\nMessage-ID: <1@a.example>\r\n\r\nYour appointment is at 10:30 tomorrow.\r\n")
		if name != "plain" {
			var err error
			if raw, err = os.ReadFile(filepath.Join("testdata", "mime", name)); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(strings.TrimSuffix(name, ".eml"), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := TextFromMIME(bytes.NewReader(raw)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
