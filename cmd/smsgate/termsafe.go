package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// unsafeRune reports runes that must not reach a terminal raw: control
// characters (ESC starts terminal escape sequences; CR, LF and TAB break
// tables) and the bidirectional overrides and isolates that reorder what
// is shown.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) ||
		r == 0x200E || r == 0x200F || r == 0x061C
}

// termSafe returns s with every unsafe rune, and every byte that is not
// UTF-8, written as a Go escape (\x1b, \u202e), so that text from the
// server prints as what it is.
func termSafe(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x80 && unsafeRune(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// termSafeJSON rewrites every string of a JSON document with termSafe, so
// that nothing a tenant stored (a name, a message text, a reply) can drive
// the terminal of whoever lists it. The document is unchanged otherwise.
func termSafeJSON(data []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(termSafeValue(v))
}

func termSafeValue(v any) any {
	switch x := v.(type) {
	case string:
		return termSafe(x)
	case []any:
		for i := range x {
			x[i] = termSafeValue(x[i])
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[termSafe(k)] = termSafeValue(e)
		}
		return out
	}
	return v
}
