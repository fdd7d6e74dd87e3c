package smtp

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // legacy charsets: ISO-8859-x, windows-125x, ...
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// maxPartBytes bounds how much of one text part is read. The server's
// MaxMessageBytes bounds the whole message already; this guards direct
// callers.
const maxPartBytes = 4 << 20

// Parsed is the part of an email that becomes an SMS.
type Parsed struct {
	Subject   string // decoded (RFC 2047), UTF-8
	MessageID string // without angle brackets; "" when absent
	Text      string // UTF-8, LF line ends, quoted history and signatures stripped
}

// TextFromMIME reads a whole RFC 5322 message from r and extracts its text
// as a person reading it in a mail client would take it: the text/plain
// parts that are not attachments, else (when they are absent or show only
// whitespace) the text/html parts converted to readable text. Transfer
// encodings and charsets are decoded to UTF-8; 8-bit text that names no
// charset is read as UTF-8 when valid, else as Windows-1252, and other
// invalid bytes become U+FFFD. format=flowed text is unwrapped (RFC 3676).
// Then control characters, trailing quoted history and forwarded headers
// (stripHistory), the signature from a "-- " line and the default
// signatures of mail apps ("Sent from my iPhone") are removed, line ends
// become LF, trailing blank lines go and runs of blank lines collapse to
// one. A message without text gives Text "" and no error (the router then
// uses the subject); only an unreadable header or MIME structure is an
// error. A *bufio.Reader r is read through as it is (a caller reading
// many mails can keep one); any other is given a buffer of its own. The
// header's size is bounded by what r yields (the SMTP size limit).
func TextFromMIME(r io.Reader) (Parsed, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	if p, ok, err := plainFast(br); ok {
		return p, err
	}
	return textFromEntity(br)
}

// textFromEntity is TextFromMIME for any mail, through go-message.
func textFromEntity(br *bufio.Reader) (Parsed, error) {
	th, err := textproto.ReadHeader(br)
	if err != nil {
		return Parsed{}, fmt.Errorf("read message header: %w", err)
	}
	e, err := message.New(message.Header{Header: th}, br)
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return Parsed{}, fmt.Errorf("read message header: %w", err)
	}
	h := mail.Header{Header: e.Header}
	var p Parsed
	p.Subject, _ = h.Subject() // undecodable words stay as they were
	p.Subject = strings.TrimSpace(dropControls(decodeUnlabelled([]byte(p.Subject))))
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
		s, err := partText(part.Body, t, params)
		if err != nil {
			return err
		}
		if t == "text/html" {
			htmls = append(htmls, s)
			return nil
		}
		plain = append(plain, s)
		return nil
	})
	text := strings.Join(plain, "\n")
	if isBlank(dropControls(text)) && len(htmls) > 0 {
		// Whitespace-only text/plain beside HTML is an empty alternative
		// some clients send; the HTML is the mail.
		parts := make([]string, len(htmls))
		for i, s := range htmls {
			parts[i] = HTMLToText(s)
		}
		text = strings.Join(parts, "\n")
	}
	if len(plain) == 0 && len(htmls) == 0 && walkErr != nil {
		return p, fmt.Errorf("walk mime parts: %w", walkErr)
	}
	p.Text = cleanText(text)
	return p, nil
}

// partText reads a text part of type t (text/plain or text/html) whose
// transfer encoding and labelled charset body has decoded: UTF-8, LF line
// ends, format=flowed plain text unwrapped.
func partText(body io.Reader, t string, params map[string]string) (string, error) {
	b, err := io.ReadAll(io.LimitReader(body, maxPartBytes))
	if err != nil {
		return "", fmt.Errorf("read %s part: %w", t, err)
	}
	// go-message converts labelled charsets (utf-8 and us-ascii pass
	// through as they are); unlabelled 8-bit text is settled here.
	var s string
	switch cs := strings.ToLower(params["charset"]); cs {
	case "", "us-ascii", "ascii":
		s = decodeUnlabelled(b)
	default:
		s = validUTF8(string(b))
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	// go-message leaves format=flowed to its reader (RFC 3676 §4.1).
	if t == "text/plain" && strings.EqualFold(params["format"], "flowed") {
		s = unflow(s, strings.EqualFold(params["delsp"], "yes"))
	}
	return s, nil
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
