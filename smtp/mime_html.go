package smtp

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// How an element breaks the text around it: blockLine elements start and
// end on a line of their own, blockPara elements also leave a blank line
// (the margin a browser draws), cellGap elements are set apart by a space.
const (
	inlineTag = iota
	blockLine
	blockPara
	cellGap
)

// tagLayout maps an element to how it breaks the text; elements not listed
// are inline.
var tagLayout = map[string]int{
	"div": blockLine, "li": blockLine, "tr": blockLine, "dd": blockLine, "dt": blockLine,
	"section": blockLine, "article": blockLine, "header": blockLine, "footer": blockLine,
	"address": blockLine, "center": blockLine, "hr": blockLine, "caption": blockLine,
	"p": blockPara, "h1": blockPara, "h2": blockPara, "h3": blockPara, "h4": blockPara,
	"h5": blockPara, "h6": blockPara, "ul": blockPara, "ol": blockPara, "dl": blockPara,
	"table": blockPara, "blockquote": blockPara, "pre": blockPara,
	"td": cellGap, "th": cellGap,
}

// maxQuoteMarks caps the ">" marks of nested blockquotes, so that deep
// nesting cannot make the text grow faster than the markup.
const maxQuoteMarks = 8

// skipContent lists the elements whose content is not text. The tokenizer
// reads script, style, title and noscript as raw text, so their content
// arrives as one text token before the end tag.
var skipContent = map[string]bool{"script": true, "style": true, "head": true, "title": true, "template": true, "noscript": true}

// HTMLToText converts an HTML body to readable plain text in one pass over
// the token stream of golang.org/x/net/html, so its cost is linear in the
// input: script, style and head are dropped, block elements and <br> become
// line breaks, list items start with "- ", blockquote content is quoted with
// "> " as mail clients do when they turn HTML into text, other tags vanish,
// whitespace collapses as a browser would and entities are decoded.
// Malformed markup never fails; the tokenizer recovers as a browser does.
func HTMLToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var w htmlWriter
	skip := "" // the element whose end ends a skipped stretch
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			// io.EOF, or a read error that strings.Reader never gives.
			return w.b.String()
		case html.TextToken:
			if skip == "" {
				w.text(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			nb, _ := z.TagName()
			name := string(nb)
			if skip != "" {
				// A <body> ends a <head> that was never closed.
				if skip == "head" && name == "body" {
					skip = ""
				}
				continue
			}
			if skipContent[name] && tt == html.StartTagToken {
				skip = name
				continue
			}
			w.open(name)
		case html.EndTagToken:
			nb, _ := z.TagName()
			name := string(nb)
			if skip != "" {
				if name == skip {
					skip = ""
				}
				continue
			}
			w.close(name)
		}
		// Comments, doctypes and processing instructions carry no text.
	}
}

// htmlWriter assembles the text: words are written as they come, and the
// spaces and line breaks between them are owed until the next word, so that
// runs of whitespace and empty elements collapse.
type htmlWriter struct {
	b         strings.Builder
	lineStart int  // offset in b of the current line
	space     bool // a space is owed before the next word
	breaks    int  // line breaks owed before the next word, at most 2
	quote     int  // depth of <blockquote>
	pre       int  // depth of <pre>
	items     int  // a list item's "- " is owed
}

func (w *htmlWriter) open(name string) {
	switch name {
	case "br":
		// Every <br> counts: two of them make a blank line.
		if w.breaks < 2 {
			w.breaks++
		}
		return
	case "blockquote":
		w.owe(2)
		w.quote++
		return
	case "pre":
		w.pre++
	case "li":
		w.owe(1)
		w.items++
		return
	}
	w.layout(name)
}

func (w *htmlWriter) close(name string) {
	switch name {
	case "blockquote":
		if w.quote > 0 {
			w.quote--
		}
	case "pre":
		if w.pre > 0 {
			w.pre--
		}
	}
	w.layout(name)
}

func (w *htmlWriter) layout(name string) {
	switch tagLayout[name] {
	case blockLine:
		w.owe(1)
	case blockPara:
		w.owe(2)
	case cellGap:
		w.space = true
	}
}

// owe records that at least n line breaks separate what came before from
// what comes next.
func (w *htmlWriter) owe(n int) {
	w.breaks = max(w.breaks, n)
}

// text writes a text token, collapsing whitespace (U+00A0 included, as the
// old converter and SMS readers treat it) unless inside <pre>.
func (w *htmlWriter) text(t []byte) {
	for len(t) > 0 {
		r, size := utf8.DecodeRune(t)
		if r == '\n' && w.pre > 0 {
			if w.breaks < 2 {
				w.breaks++
			}
			t = t[size:]
			continue
		}
		if isHTMLSpace(r) {
			w.space = true
			t = t[size:]
			continue
		}
		end := 0
		for end < len(t) {
			r, size := utf8.DecodeRune(t[end:])
			if isHTMLSpace(r) && (w.pre == 0 || r == '\n') {
				break
			}
			end += size
		}
		w.word(t[:end])
		t = t[end:]
	}
}

// word writes a run of non-space text after the space or line breaks owed.
func (w *htmlWriter) word(s []byte) {
	switch {
	case w.b.Len() == 0:
		w.startLine()
	case w.breaks > 0:
		// "-- " keeps its space: it is the signature separator
		// (RFC 3676 §4.3), as Gmail writes it before <br>.
		if w.space && w.b.String()[w.lineStart:] == "--" {
			w.b.WriteByte(' ')
		}
		w.b.WriteString(strings.Repeat("\n", w.breaks))
		w.startLine()
	case w.space:
		w.b.WriteByte(' ')
	}
	w.space, w.breaks = false, 0
	w.b.Write(s)
}

// startLine writes what begins a line: the quote marks of the blockquote
// depth and a list item's dash.
func (w *htmlWriter) startLine() {
	w.lineStart = w.b.Len()
	if w.quote > 0 {
		w.b.WriteString(strings.Repeat(">", min(w.quote, maxQuoteMarks)))
		w.b.WriteByte(' ')
		w.lineStart = w.b.Len()
	}
	if w.items > 0 {
		w.b.WriteString("- ")
		w.items = 0
	}
}

// isHTMLSpace reports ASCII whitespace (HTML's definition) and U+00A0.
func isHTMLSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\u00a0'
}
