package smtp

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// crlf turns a readable fixture into wire form.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestTextFromMIME(t *testing.T) {
	tests := []struct {
		name, msg         string
		text, subject, id string
	}{
		{name: "plain", msg: plainMail, text: "Meeting moved to 3pm.", subject: "Hello", id: "abc@a.example"},
		{name: "no content type", msg: "Subject: x\n\nJust text\n", text: "Just text", subject: "x"},
		{name: "html only", msg: `Subject: =?UTF-8?Q?Caf=C3=A9?=
Content-Type: text/html; charset=utf-8

<html><head><title>T</title><style>p{color:red}</style></head>
<body><p>Hello&nbsp;<b>Bob</b>,</p><div>Fish &amp; chips at 5&lt;6</div>
<script>alert("x")</script><ul><li>one</li><li>two</li></ul>line<br>break<!-- hidden --></body></html>
`, text: "Hello Bob,\n\nFish & chips at 5<6\n\n- one\n- two\n\nline\nbreak", subject: "Café"},
		{name: "multipart alternative prefers plain", msg: `Content-Type: multipart/alternative; boundary=b1

--b1
Content-Type: text/html

<p>HTML version</p>
--b1
Content-Type: text/plain

Plain version
--b1--
`, text: "Plain version"},
		{name: "base64", msg: `Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

SGVsbG8g8J+Ri+KAlCBzZWUgeW91Lg==
`, text: "Hello 👋— see you."},
		{name: "quoted-printable", msg: `Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Soft line =
break, caf=C3=A9 =3D ok
`, text: "Soft line break, café = ok"},
		{name: "iso-8859-1", msg: "Content-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: 8bit\n\nCaf\xe9 cr\xe8me \xa350\n",
			text: "Café crème £50"},
		{name: "windows-1252", msg: "Content-Type: text/plain; charset=windows-1252\nContent-Transfer-Encoding: quoted-printable\n\n=93Quoted=94 =80 5 =96 ok\n",
			text: "\u201cQuoted\u201d € 5 – ok"},
		{name: "signature", msg: "Content-Type: text/plain\n\nCall me.\n\n-- \nBob Smith\nAcme Pty Ltd\n", text: "Call me."},
		{name: "bare dashes kept", msg: "\nSee you there\n--\nBob\n", text: "See you there\n--\nBob"},
		{name: "dashes mid text kept", msg: "\nscore\n--\n" + strings.Repeat("line\n", 8), text: "score\n--\n" + strings.TrimSuffix(strings.Repeat("line\n", 8), "\n")},
		{name: "blank lines collapse", msg: "\n\n\nfirst  \n\n\n\n\nsecond\t\n\n\n", text: "first\n\nsecond"},
		{name: "attachment ignored", msg: `Content-Type: multipart/mixed; boundary=XX

--XX
Content-Type: text/plain; charset=utf-8

The body.
--XX
Content-Type: text/plain; name=notes.txt
Content-Disposition: attachment; filename=notes.txt

Not the body.
--XX
Content-Type: application/pdf
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--XX--
`, text: "The body."},
		{name: "nested alternative in mixed", msg: `Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Gr=FC=DFe
--inner
Content-Type: text/html

<b>Gr&uuml;&szlig;e</b>
--inner--
--outer
Content-Type: image/png; name=x.png
Content-Disposition: inline; filename=x.png

PNG
--outer--
`, text: "Grüße"},
		{name: "unknown charset still read", msg: "Content-Type: text/plain; charset=x-klingon\n\nqapla'\n", text: "qapla'"},
		{name: "invalid utf-8 replaced", msg: "Content-Type: text/plain; charset=utf-8\n\nbad \xff byte\n", text: "bad \uFFFD byte"},
		{name: "only attachment", msg: "Content-Type: application/pdf\n\n%PDF\n", text: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := TextFromMIME(strings.NewReader(crlf(tt.msg)))
			if err != nil {
				t.Fatal(err)
			}
			if p.Text != tt.text {
				t.Errorf("text %q, want %q", p.Text, tt.text)
			}
			if p.Subject != tt.subject || p.MessageID != tt.id {
				t.Errorf("subject %q id %q, want %q %q", p.Subject, p.MessageID, tt.subject, tt.id)
			}
		})
	}
}

func TestTextFromMIMEErrors(t *testing.T) {
	tests := []struct{ name, msg string }{
		{"broken header", "Subject\x00: \n no colon here\n\nbody"},
		{"unterminated multipart", "Content-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/html\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := TextFromMIME(strings.NewReader(crlf(tt.msg)))
			if err == nil && p.Text != "" {
				t.Fatalf("got %+v, want an error or no text", p)
			}
		})
	}
}

func TestHTMLToText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"tags removed", "<b>bold</b> and <i>italic</i>", "bold and italic"},
		{"space between inline tags", "<b>Hello</b> <i>world</i>", "Hello world"},
		{"br", "a<br/>b<BR>c", "a\nb\nc"},
		{"paragraphs", "<p>one</p><p>two</p>", "one\n\ntwo"},
		{"entities", "&lt;tag&gt; &amp; &quot;q&quot; &#39;s&#39; &euro;5 &#x263A;", "<tag> & \"q\" 's' €5 ☺"},
		{"script and style dropped", "<SCRIPT type=x>if (a<b) x()</SCRIPT>ok<style>.x{}</style>", "ok"},
		{"quoted gt in attribute", `<a title="a>b" href='x'>link</a>`, "link"},
		{"stray lt is text", "1 < 2 and 3 <4", "1 < 2 and 3 <4"},
		{"comment", "a<!-- <p>hidden</p> -->b", "ab"},
		{"unterminated comment", "a<!-- never ends", "a"},
		{"doctype", "<!DOCTYPE html>x", "x"},
		{"unterminated tag", "text <b class='x", "text"},
		{"whitespace collapses", "  many\n\n   spaces\there  ", "many spaces here"},
		{"list", "<ul><li>a</li><li>b</li></ul>", "- a\n- b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cleanText(HTMLToText(tt.in)); got != tt.want {
				t.Fatalf("HTMLToText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzTextFromMIME(f *testing.F) {
	f.Add(plainMail)
	f.Add("Content-Type: text/html\n\n<p>hi&amp;<br>there</p><script>x")
	f.Add("Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\nx\n--b--\n")
	f.Add("Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\ncaf=E9=\n")
	f.Add("Content-Transfer-Encoding: base64\n\n!!!notbase64")
	f.Add("Subject: =?utf-8?b?////?=\n\n-- \nsig")
	f.Add("Content-Type: text/plain; format=flowed; delsp=yes\n\n> a \n>> b \n c \n-- \n")
	f.Add("\nYes\nOn Mon, Alice <a@x>\nwrote:\n> q\n>\n")
	f.Add("\nFrom: a\nSent: b\nTo: c\nSubject: d\n\nx\n")
	for _, m := range clientMails {
		f.Add(readClientMail(f, m.file))
	}
	f.Fuzz(func(t *testing.T, msg string) {
		p, err := TextFromMIME(strings.NewReader(msg))
		if err != nil {
			return
		}
		for _, s := range []string{p.Text, p.Subject, p.MessageID} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 out: %q", s)
			}
		}
		if i := strings.IndexFunc(p.Text, func(r rune) bool {
			return r < 0x20 && r != '\n' && r != '\t' || r >= 0x7f && r <= 0x9f
		}); i >= 0 {
			t.Fatalf("control character %q in text: %q", p.Text[i], p.Text)
		}
	})
}
