package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/smsgate/smsgate/accounts"
)

// termSafe returns s with every unsafe rune, and every byte that is not
// UTF-8, written as a Go escape (\x1b, \u202e), so that text from the
// server prints as what it is.
func termSafe(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || accounts.UnsafeRune(r) {
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
		case r < 0x80 && accounts.UnsafeRune(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case accounts.UnsafeRune(r):
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
