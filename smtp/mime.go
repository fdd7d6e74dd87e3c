package smtp

import (
	"fmt"
	"html"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // legacy charsets: ISO-8859-x, windows-125x, ...
	"github.com/emersion/go-message/mail"
)

// maxPartBytes bounds how much of one text part is read. The server's
// MaxMessageBytes bounds the whole message already; this guards direct
// callers.
const maxPartBytes = 4 << 20

// Parsed is the part of an email that becomes an SMS.
type Parsed struct {
	Subject   string // decoded (RFC 2047), UTF-8
	MessageID string // without angle brackets; "" when absent
	Text      string // UTF-8, LF line ends, signature stripped
}

// TextFromMIME reads a whole RFC 5322 message from r and extracts its text:
// the text/plain parts that are not attachments, else the text/html parts
// converted to readable text. Transfer encodings and charsets are decoded to
// UTF-8 (invalid bytes become U+FFFD); the signature (from a "-- " line) is
// stripped, line ends become LF, trailing blank lines go and runs of blank
// lines collapse to one. A message without text gives Text "" and no error;
// only an unreadable header or MIME structure is an error.
func TextFromMIME(r io.Reader) (Parsed, error) {
	e, err := message.Read(r)
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return Parsed{}, fmt.Errorf("read message header: %w", err)
	}
	h := mail.Header{Header: e.Header}
	var p Parsed
	p.Subject, _ = h.Subject() // undecodable words stay as they were
	p.Subject = strings.TrimSpace(validUTF8(p.Subject))
	if p.MessageID, err = h.MessageID(); err != nil || p.MessageID == "" {
		p.MessageID = strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
	}
	p.MessageID = validUTF8(p.MessageID)

	var plain, htmls []string
	walkErr := e.Walk(func(_ []int, part *message.Entity, _ error) error {
		// A part in an unknown charset or encoding is still read: partly
		// legible text beats a bounce.
		t, params, _ := part.Header.ContentType()
		if t == "" {
			t = "text/plain" // RFC 2045 §5.2 default
		}
		if t != "text/plain" && t != "text/html" || isAttachment(part.Header, params) {
			return nil
		}
		b, err := io.ReadAll(io.LimitReader(part.Body, maxPartBytes))
		if err != nil {
			return fmt.Errorf("read %s part: %w", t, err)
		}
		if t == "text/plain" {
			plain = append(plain, string(b))
		} else {
			htmls = append(htmls, string(b))
		}
		return nil
	})
	switch {
	case len(plain) > 0:
		p.Text = strings.Join(plain, "\n")
	case len(htmls) > 0:
		parts := make([]string, len(htmls))
		for i, s := range htmls {
			parts[i] = HTMLToText(validUTF8(s))
		}
		p.Text = strings.Join(parts, "\n")
	case walkErr != nil:
		return p, fmt.Errorf("walk mime parts: %w", walkErr)
	}
	p.Text = cleanText(p.Text)
	return p, nil
}

// isAttachment reports whether a part is a file rather than the body: an
// explicit attachment disposition, or a file name on an inline part.
func isAttachment(h message.Header, ctParams map[string]string) bool {
	disp, dparams, _ := h.ContentDisposition()
	if strings.EqualFold(disp, "attachment") {
		return true
	}
	return dparams["filename"] != "" || ctParams["name"] != ""
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

var blankRuns = regexp.MustCompile(`\n{3,}`)

// cleanText normalises line ends, strips the signature and tidies blank
// lines.
func cleanText(s string) string {
	s = validUTF8(s)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := stripSignature(strings.Split(s, "\n"))
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\u00a0")
	}
	s = strings.Join(lines, "\n")
	s = blankRuns.ReplaceAllString(s, "\n\n")
	return strings.Trim(s, "\n")
}

// maxSigLines is how many lines may follow a bare "--" for it to count as a
// signature separator whose trailing space a client dropped.
const maxSigLines = 6

// stripSignature cuts at the first line that is exactly "-- " (the Usenet
// and RFC 3676 §4.3 separator), or at a last bare "--" line followed by at
// most maxSigLines lines.
func stripSignature(lines []string) []string {
	for i, l := range lines {
		if l == "-- " {
			return lines[:i]
		}
	}
	for i := len(lines) - 1; i >= 0 && i >= len(lines)-1-maxSigLines; i-- {
		if strings.TrimRight(lines[i], " \t") == "--" {
			return lines[:i]
		}
	}
	return lines
}

// Tags whose content is not text, and tags that break lines.
var (
	skipContent = map[string]bool{"script": true, "style": true, "head": true, "title": true, "template": true, "noscript": true}
	lineBreaks  = map[string]bool{
		"br": true, "p": true, "div": true, "li": true, "tr": true, "table": true,
		"ul": true, "ol": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true,
		"h6": true, "blockquote": true, "hr": true, "pre": true, "section": true, "article": true,
		"header": true, "footer": true, "dd": true, "dt": true,
	}
	// Items whose end needs no break of its own: the next item or the
	// list's end makes it.
	itemTags = map[string]bool{"li": true, "tr": true, "dd": true, "dt": true}
)

// HTMLToText converts an HTML body to readable plain text with a small,
// tolerant tokenizer: script, style and head are dropped, block elements and
// <br> become line breaks, other tags vanish, whitespace collapses as a
// browser would and entities are decoded. Malformed markup never fails; at
// worst some of it shows as text.
func HTMLToText(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			writeHTMLText(&b, s)
			break
		}
		writeHTMLText(&b, s[:lt])
		s = s[lt:]
		switch {
		case strings.HasPrefix(s, "<!--"):
			end := strings.Index(s[4:], "-->")
			if end < 0 {
				return finishHTML(b.String())
			}
			s = s[4+end+3:]
			continue
		case len(s) > 1 && (s[1] == '!' || s[1] == '?'):
			s = skipPast(s, '>')
			continue
		}
		name, closing, rest, ok := readTag(s)
		if !ok {
			// A '<' that opens no tag ("a < b") is text.
			writeHTMLText(&b, "<")
			s = s[1:]
			continue
		}
		s = rest
		if !closing && skipContent[name] {
			s = skipElement(s, name)
			continue
		}
		switch {
		case name == "li" && !closing:
			b.WriteString("\n- ")
		case lineBreaks[name] && !(closing && itemTags[name]):
			b.WriteByte('\n')
		}
	}
	return finishHTML(b.String())
}

// readTag parses "<name ...>" or "</name ...>" at the start of s, honouring
// quoted attribute values, and returns the lower-cased name and what follows.
func readTag(s string) (name string, closing bool, rest string, ok bool) {
	i := 1
	if i < len(s) && s[i] == '/' {
		closing = true
		i++
	}
	start := i
	for i < len(s) && (isASCIIAlnum(s[i]) || s[i] == '-' || s[i] == ':') {
		i++
	}
	if i == start || !isASCIILetter(s[start]) {
		return "", false, "", false
	}
	name = strings.ToLower(s[start:i])
	var quote byte
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return name, closing, s[i+1:], true
		}
	}
	return name, closing, "", true // unterminated tag: the rest is markup
}

// skipElement drops everything up to and including "</name>".
func skipElement(s, name string) string {
	lower := strings.ToLower(s)
	end := strings.Index(lower, "</"+name)
	if end < 0 {
		return ""
	}
	return skipPast(s[end:], '>')
}

func skipPast(s string, c byte) string {
	i := strings.IndexByte(s, c)
	if i < 0 {
		return ""
	}
	return s[i+1:]
}

// writeHTMLText collapses whitespace like a browser and decodes entities.
// Line trimming and space runs across tags are settled by finishHTML.
func writeHTMLText(b *strings.Builder, s string) {
	if s == "" {
		return
	}
	if isHTMLSpace(s[0]) {
		b.WriteByte(' ')
	}
	b.WriteString(html.UnescapeString(strings.Join(strings.Fields(s), " ")))
	if len(s) > 1 && isHTMLSpace(s[len(s)-1]) {
		b.WriteByte(' ')
	}
}

// finishHTML tidies the assembled text: non-breaking spaces become spaces,
// space runs collapse and each line is trimmed.
func finishHTML(s string) string {
	s = strings.ReplaceAll(s, "\u00a0", " ")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

func isHTMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isASCIIAlnum(c byte) bool { return isASCIILetter(c) || c >= '0' && c <= '9' }
