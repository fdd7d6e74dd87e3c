package accounts

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tplSegment is one piece of a parsed template: literal text, or a
// placeholder (name set) with its default.
type tplSegment struct {
	text       string // literal text (name empty)
	name       string // placeholder name, folded (lower case, trimmed)
	def        string // default after the pipe
	hasDefault bool
}

// tplSyntaxError is an unreadable template body; Pos is the 1-based
// character (not byte) position of the offending braces.
type tplSyntaxError struct {
	Pos int
	Msg string
}

func (e *tplSyntaxError) Error() string {
	return fmt.Sprintf("body: at character %d, %s", e.Pos, e.Msg)
}

// parseTemplate splits body into segments. With strict, unbalanced
// braces are a *tplSyntaxError; without, they are literal text.
func parseTemplate(body string, strict bool) ([]tplSegment, error) {
	var segs []tplSegment
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, tplSegment{text: lit.String()})
			lit.Reset()
		}
	}
	i := 0
	for i < len(body) {
		switch {
		case strings.HasPrefix(body[i:], "{{"):
			rest := body[i+2:]
			end := strings.Index(rest, "}}")
			next := strings.Index(rest, "{{")
			switch {
			case end < 0 && strict:
				return nil, &tplSyntaxError{Pos: RunePos(body, i), Msg: `"{{" is never closed with "}}"`}
			case next >= 0 && (end < 0 || next < end) && strict:
				return nil, &tplSyntaxError{Pos: RunePos(body, i),
					Msg: fmt.Sprintf(`"{{" is not closed before the next "{{" (character %d)`, RunePos(body, i+2+next))}
			case end < 0 || (next >= 0 && next < end):
				// Lenient: the braces are text; go on after them.
				lit.WriteString("{{")
				i += 2
				continue
			}
			inner := rest[:end]
			whole := body[i : i+2+end+2]
			i += 2 + end + 2
			// "{{{x}}}": the extra braces are text around "{{x}}".
			for strings.HasPrefix(inner, "{") {
				lit.WriteByte('{')
				inner = inner[1:]
				whole = whole[1:]
			}
			seg, ok := parsePlaceholder(inner)
			if !ok {
				lit.WriteString(whole)
				continue
			}
			flush()
			segs = append(segs, seg)
		case strings.HasPrefix(body[i:], "}}"):
			if strict {
				return nil, &tplSyntaxError{Pos: RunePos(body, i), Msg: `"}}" closes no "{{"`}
			}
			lit.WriteString("}}")
			i += 2
		default:
			_, n := utf8.DecodeRuneInString(body[i:])
			lit.WriteString(body[i : i+n])
			i += n
		}
	}
	flush()
	return segs, nil
}

// parsePlaceholder reads what is between "{{" and "}}": a name and an
// optional default after the first pipe. ok is false for anything else.
func parsePlaceholder(inner string) (tplSegment, bool) {
	name, def, hasDefault := strings.Cut(inner, "|")
	name = strings.TrimSpace(name)
	if name == "" || !validPlaceholderName(name) {
		return tplSegment{}, false
	}
	return tplSegment{name: FoldName(name), def: strings.TrimSpace(def), hasDefault: hasDefault}, true
}

func validPlaceholderName(name string) bool {
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("_-. ", r) {
			return false
		}
	}
	return true
}

// RunePos is the 1-based character position of byte offset off in s.
func RunePos(s string, off int) int { return utf8.RuneCountInString(s[:off]) + 1 }

// FoldName is the case- and space-insensitive form of a template or
// placeholder name: lower case, inner runs of spaces made one.
func FoldName(name string) string {
	return strings.ToLower(strings.Join(strings.Fields(name), " "))
}

// ValidateTemplateBody checks that body can be read: every "{{" is closed
// by "}}" before the next "{{", and no "}}" closes nothing. The error wraps
// ErrInvalid and names the character position, e.g. `body: at character
// 4, "{{" is never closed with "}}"`.
func ValidateTemplateBody(body string) error {
	if err := CheckText("body", body); err != nil {
		return err
	}
	if _, err := parseTemplate(body, true); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// TemplatePlaceholders returns the folded names of the placeholders body
// uses, each once, in order of first use.
func TemplatePlaceholders(body string) []string {
	segs, _ := parseTemplate(body, false)
	var out []string
	seen := map[string]bool{}
	for _, s := range segs {
		if s.name != "" && !seen[s.name] {
			seen[s.name] = true
			out = append(out, s.name)
		}
	}
	return out
}

// RenderTemplate fills body's placeholders: value is called with each
// placeholder's folded name (lower case, e.g. "first_name") and returns its
// value, "" when unknown. An empty value is replaced by the placeholder's
// default, if it has one. Unreadable braces are kept as text (bodies are
// validated when saved; this never fails).
func RenderTemplate(body string, value func(name string) string) string {
	segs, _ := parseTemplate(body, false)
	var b strings.Builder
	for _, s := range segs {
		if s.name == "" {
			b.WriteString(s.text)
			continue
		}
		v := value(s.name)
		if v == "" && s.hasDefault {
			v = s.def
		}
		b.WriteString(v)
	}
	return b.String()
}
