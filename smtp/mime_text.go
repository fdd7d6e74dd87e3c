package smtp

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// decodeUnlabelled reads 8-bit text whose part names no charset (or
// us-ascii, which 8-bit bytes contradict): as UTF-8 when it is valid, else
// as Windows-1252, the superset of ISO-8859-1 that Windows clients write.
func decodeUnlabelled(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	s, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		// Windows1252 maps every byte; this is defensive.
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(s)
}

// unflow undoes format=flowed (RFC 3676) on LF-terminated text: a line that
// ends in a space is soft-broken and joins the next (§4.2), with that space
// deleted when DelSp=yes (§4.2); a leading space that stuffs a line is
// removed (§4.4); "-- " is the signature separator, never flowed (§4.3);
// lines join only within the same quote depth, a flowed line followed by
// another depth counting as fixed (§4.5). Quoted lines come out as ">"
// marks, one space and the content.
func unflow(s string, delSp bool) string {
	lines := strings.Split(s, "\n")
	var b strings.Builder
	b.Grow(len(s))
	open := false // the previous line was flowed: this one continues it
	prevDepth := 0
	for _, l := range lines {
		depth := 0
		for depth < len(l) && l[depth] == '>' {
			depth++
		}
		l = l[depth:]
		l = strings.TrimPrefix(l, " ") // §4.4 space-stuffing (and §4.5 after quote marks)
		if open && depth != prevDepth {
			// §4.5: a flowed line followed by one of another quote depth
			// is treated as fixed.
			b.WriteByte('\n')
			open = false
		}
		if !open {
			if depth > 0 {
				b.WriteString(strings.Repeat(">", depth))
				b.WriteByte(' ')
			}
		}
		flowed := strings.HasSuffix(l, " ") && l != "-- "
		if flowed && delSp {
			l = l[:len(l)-1]
		}
		b.WriteString(l)
		if !flowed {
			b.WriteByte('\n')
		}
		open, prevDepth = flowed, depth
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// dropControls removes control characters: C0 other than LF and TAB (NUL,
// BEL, ESC, CR left over, ...), DEL and C1, which no phone shows as text.
// U+FEFF (a byte order mark or zero width no-break space) goes too.
func dropControls(s string) string {
	keep := func(r rune) bool {
		return r == '\n' || r == '\t' || !(r < 0x20 || r >= 0x7f && r <= 0x9f || r == '\ufeff')
	}
	if strings.IndexFunc(s, func(r rune) bool { return !keep(r) }) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if keep(r) {
			return r
		}
		return -1
	}, s)
}

// isBlank reports text that shows nothing: whitespace and zero-width
// characters only.
func isBlank(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool {
		return !unicode.IsSpace(r) && r != '\u200b' && r != '\u200c' && r != '\u200d' && r != '\u2060' && r != '\ufeff'
	}) < 0
}

// cleanText tidies extracted text: line ends become LF, control characters
// go, trailing quoted history and forwarded headers are removed
// (stripHistory), the signature is stripped, trailing blanks go from each
// line and runs of blank lines collapse to one.
func cleanText(s string) string {
	s = validUTF8(s)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = dropControls(s)
	lines := strings.Split(s, "\n")
	lines = stripSignature(lines)
	lines = stripHistory(lines)
	lines = stripMobileSignature(lines)
	out := make([]string, 0, len(lines))
	blank := true // drops leading blank lines too
	for _, l := range lines {
		l = strings.TrimRight(l, " \t\u00a0")
		if isBlank(l) {
			if !blank {
				out = append(out, "")
			}
			blank = true
			continue
		}
		out = append(out, l)
		blank = false
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n")
}

// stripSignature cuts at the first line that is exactly "-- " (the Usenet
// separator, RFC 3676 §4.3). A bare "--" is not a separator: it is too
// often content ("score: 3 -- 1", a divider, a table rule).
func stripSignature(lines []string) []string {
	for i, l := range lines {
		if l == "-- " {
			return lines[:i]
		}
	}
	return lines
}

// mobileSignatures are the lines that phone and desktop mail apps append by
// default, matched case-insensitively at the start of a line; what follows
// (a device name, a link) is part of the signature.
var mobileSignatures = []string{
	"sent from my ",              // iPhone, iPad, Android, Samsung, BlackBerry, ...
	"sent from mail for windows", // Windows 10/11 Mail
	"sent from outlook",          // Outlook.com, Outlook for Android
	"get outlook for ",           // Outlook for iOS and Android
	"sent from yahoo mail",       // Yahoo Mail apps
	"sent from samsung",          // Samsung Email
	"sent from proton mail",      // Proton Mail apps
	"sent from protonmail",
	"sent with proton mail",
	"sent from gmail mobile",
	"sent from the all new aol app",
	"sent via the samsung galaxy",
	"sent from huawei",
	"envoyé de mon ", // French iOS and Android
	"von meinem ",    // German: "Von meinem iPhone gesendet"
}

// maxSignatureLen is the longest line taken for a mobile signature; longer
// lines are sentences that merely start alike.
const maxSignatureLen = 120

// stripMobileSignature removes the default signatures of mail apps from the
// end of the text, with the blank lines around them.
func stripMobileSignature(lines []string) []string {
	for {
		end := len(lines)
		for end > 0 && isBlank(lines[end-1]) {
			end--
		}
		if end == 0 || !isMobileSignature(lines[end-1]) {
			return lines[:end]
		}
		lines = lines[:end-1]
	}
}

func isMobileSignature(l string) bool {
	l = strings.TrimSpace(l)
	if len(l) > maxSignatureLen {
		return false
	}
	for _, p := range mobileSignatures {
		if len(l) >= len(p) && strings.EqualFold(l[:len(p)], p) {
			return true
		}
	}
	return false
}
