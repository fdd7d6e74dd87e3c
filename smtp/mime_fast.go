package smtp

import (
	"bufio"
	"bytes"
	"fmt"
	"mime"
	"strings"
)

// plainFast is TextFromMIME for the mail most senders write to the gateway,
// without go-message's entity and header structures: one text/plain part
// (or no Content-Type) in UTF-8 or US-ASCII (or naming no charset), without
// a transfer encoding or a Content-Disposition, under a header of CRLF lines
// of printable ASCII that names Subject, Message-ID, Content-Type and
// Content-Transfer-Encoding at most once each, with no encoded word in its
// Subject and a Message-ID of the plain <left@right> form. It gives the same
// Parsed as go-message's reading (FuzzPlainFast holds it to that). ok false:
// nothing was read, and the mail goes the general way.
func plainFast(br *bufio.Reader) (p Parsed, ok bool, err error) {
	// The whole mail when it fits the buffer, else the buffer's worth; a
	// read error stays with the reader for whoever reads on.
	buf, _ := br.Peek(br.Size())
	n, h, ok := scanPlainHeader(buf)
	if !ok {
		return Parsed{}, false, nil
	}
	t, params := "text/plain", map[string]string(nil)
	if h.contentType != nil {
		mt, ps, err := mime.ParseMediaType(string(h.contentType))
		if err != nil || mt != "text/plain" {
			return Parsed{}, false, nil
		}
		for k, v := range ps {
			switch {
			case k == "charset" && (strings.EqualFold(v, "utf-8") || strings.EqualFold(v, "us-ascii")):
			case k == "format" || k == "delsp":
			default: // another charset (go-message converts it), a file name, ...
				return Parsed{}, false, nil
			}
		}
		params = ps
	}
	if h.encoding != nil {
		switch strings.ToLower(string(h.encoding)) {
		case "7bit", "8bit", "binary":
		default:
			return Parsed{}, false, nil
		}
	}
	var id string
	if h.messageID != nil {
		if id, ok = plainMsgID(h.messageID); !ok {
			return Parsed{}, false, nil
		}
	}
	if bytes.Contains(h.subject, []byte("=?")) {
		return Parsed{}, false, nil // encoded words: go-message decodes them
	}
	if _, err := br.Discard(n); err != nil {
		return Parsed{}, false, nil // cannot happen: n bytes were peeked
	}
	p.Subject = strings.TrimSpace(dropControls(decodeUnlabelled(h.subject)))
	p.MessageID = id
	text, err := partText(br, t, params)
	if err != nil {
		return p, true, fmt.Errorf("walk mime parts: %w", err)
	}
	p.Text = cleanText(text)
	return p, true, nil
}

// plainHeader holds the values (unfolded, as go-message's Header.Get gives
// them) of the fields plainFast reads; nil: absent.
type plainHeader struct {
	subject, messageID, contentType, encoding []byte
}

// scanPlainHeader finds the end of the header at the start of b (n: the
// bytes up to and including the blank line) and the fields plainFast reads.
// ok false for a header plainFast leaves to go-message: not whole in b, a
// line not ending in CRLF, a byte that is not printable ASCII or a tab, a
// field name go-message would refuse or skip, a Content-Disposition, or one
// of the fields read twice.
func scanPlainHeader(b []byte) (n int, h plainHeader, ok bool) {
	var cur *[]byte // the field being continued, if it is one read here
	seen := false   // a field has begun (a continuation needs one)
	for {
		eol := bytes.IndexByte(b[n:], '\n')
		if eol < 1 || b[n+eol-1] != '\r' {
			return 0, h, false
		}
		line := b[n : n+eol-1]
		n += eol + 1
		if len(line) == 0 {
			return n, h, true
		}
		for _, c := range line {
			if (c < ' ' || c > '~') && c != '\t' {
				return 0, h, false
			}
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !seen {
				return 0, h, false
			}
			if cur != nil {
				*cur = unfold(*cur, line)
			}
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			return 0, h, false
		}
		key := bytes.TrimRight(line[:colon], " \t")
		if len(key) == 0 {
			return 0, h, false
		}
		for _, c := range key {
			if !(c >= 33 && c <= 126 && c != ':') {
				return 0, h, false
			}
		}
		seen = true
		switch {
		case bytes.EqualFold(key, []byte("Subject")):
			cur = &h.subject
		case bytes.EqualFold(key, []byte("Message-Id")):
			cur = &h.messageID
		case bytes.EqualFold(key, []byte("Content-Type")):
			cur = &h.contentType
		case bytes.EqualFold(key, []byte("Content-Transfer-Encoding")):
			cur = &h.encoding
		case bytes.EqualFold(key, []byte("Content-Disposition")):
			return 0, h, false
		default:
			cur = nil
			continue
		}
		if *cur != nil {
			return 0, h, false // twice
		}
		*cur = unfold(make([]byte, 0, len(line)-colon), line[colon+1:])
	}
}

// unfold appends a header line's piece to v as go-message joins a folded
// value: each piece trimmed of spaces and tabs, empty pieces dropped, one
// space between the others.
func unfold(v, piece []byte) []byte {
	piece = bytes.Trim(piece, " \t")
	if len(piece) == 0 {
		return v
	}
	if len(v) > 0 {
		v = append(v, ' ')
	}
	return append(v, piece...)
}

// plainMsgID returns the id of a Message-ID value of the form <left@right>,
// each side dot-separated atoms of atext (RFC 5322 §3.6.4), as go-message
// parses it; ok false for any other form.
func plainMsgID(v []byte) (string, bool) {
	if len(v) < 5 || v[0] != '<' || v[len(v)-1] != '>' {
		return "", false
	}
	id := v[1 : len(v)-1]
	at := bytes.IndexByte(id, '@')
	if at < 0 || !dotAtom(id[:at]) || !dotAtom(id[at+1:]) {
		return "", false
	}
	return string(id), true
}

// dotAtom reports whether s is atoms of atext joined by single dots.
func dotAtom(s []byte) bool {
	if len(s) == 0 || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i, c := range s {
		switch {
		case c == '.':
			if s[i-1] == '.' {
				return false
			}
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
