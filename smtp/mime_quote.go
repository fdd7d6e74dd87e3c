package smtp

import (
	"strings"
	"unicode/utf8"
)

// Quoted history is what a mail client appends below a reply or a forward:
// the earlier mail, introduced by a separator line. An SMS carries only what
// the person wrote, so stripHistory removes it:
//
//   - from a separator to the end: "-----Original Message-----" (Outlook),
//     a header block "From: / Sent: / To: / Subject:" (Outlook desktop, OWA
//     and Mac, often below a line of underscores), "---------- Forwarded
//     message ---------" (Gmail), "-------- Forwarded Message --------"
//     (Thunderbird), "Begin forwarded message:" (Apple Mail);
//   - trailing lines quoted with ">", with the attribution line above them
//     ("On Mon, 3 Jun 2024 at 10:00, Alice <a@x> wrote:" from Gmail, "On 3
//     Jun 2024, at 10:00, Alice <a@x> wrote:" from Apple Mail, "On
//     03/06/2024 10:00, Alice wrote:" from Thunderbird), also when a client
//     wrapped it over two lines.
//
// Quoted lines followed by the person's own text are an inline reply and
// stay. When nothing precedes the separator the mail is a bare forward: the
// separator and its header block go and the forwarded text stays, since it
// is what the person chose to send; likewise a mail that is all quote keeps
// the quoted text without its marks.

// historyMarkers are separator lines, compared case-insensitively once the
// dashes, underscores and spaces around them are trimmed. Each needs a run
// of dashes around it unless it ends with a colon.
var historyMarkers = []string{
	"original message",          // Outlook, Thunderbird
	"forwarded message",         // Gmail, Thunderbird
	"message d'origine",         // Outlook, French
	"message transféré",         // Gmail, French
	"ursprüngliche nachricht",   // Outlook, German
	"weitergeleitete nachricht", // Gmail, German
	"mensaje original",          // Outlook, Spanish
	"mensaje reenviado",         // Gmail, Spanish
}

// colonMarkers are separator lines ending in a colon, without dashes.
var colonMarkers = []string{
	"begin forwarded message:", // Apple Mail
	"début du message réexpédié :",
	"anfang der weitergeleiteten nachricht:",
}

// Header names of the block an Outlook reply or forward starts with, in
// English and the commonest translations. A block starts with a from-name
// and holds a date-name and a to- or subject-name.
var (
	fromNames = map[string]bool{"from": true, "de": true, "von": true, "van": true, "da": true}
	dateNames = map[string]bool{
		"sent": true, "date": true, "envoyé": true, "gesendet": true, "datum": true,
		"verzonden": true, "enviado": true, "enviado el": true, "fecha": true, "inviato": true, "data": true,
	}
	toNames = map[string]bool{
		"to": true, "cc": true, "subject": true, "à": true, "objet": true, "an": true, "betreff": true,
		"aan": true, "onderwerp": true, "para": true, "asunto": true, "a": true, "oggetto": true,
	}
)

// maxHeaderBlock is how many lines below a from-line are searched for the
// rest of the header block.
const maxHeaderBlock = 8

// maxAttribution bounds the length of an attribution line (or two wrapped
// lines): longer text is a sentence that happens to match.
const maxAttribution = 400

// stripHistory removes quoted history and forwarded blocks from the end of
// the text (see the comment above historyMarkers).
func stripHistory(lines []string) []string {
	if i, n := findSeparator(lines); i >= 0 {
		if hasText(lines[:i]) {
			lines = lines[:i]
		} else {
			// A bare forward: keep what was forwarded.
			lines = lines[i+n:]
		}
	}
	return stripTrailingQuote(lines)
}

// findSeparator returns the index of the first separator line and how many
// lines the separator with its header block spans, or -1.
func findSeparator(lines []string) (int, int) {
	for i, l := range lines {
		if isHistoryMarker(l) {
			// The header block below a marker may follow a blank line
			// (Apple Mail) and start with any header (Thunderbird puts
			// Subject first).
			n := 1
			for i+n < len(lines) && isBlank(lines[i+n]) {
				n++
			}
			if h := headerBlock(lines[i+n:], true); h > 0 {
				n += h
			} else {
				n = 1
			}
			return i, n
		}
		if h := headerBlock(lines[i:], false); h > 0 {
			// The line of underscores (OWA, Outlook) or a rule above the
			// header block belongs to the history.
			j := i
			for j > 0 && (isBlank(lines[j-1]) || isRule(lines[j-1])) {
				j--
			}
			if j < i && !hasRule(lines[j:i]) {
				j = i
			}
			return j, i - j + h
		}
	}
	return -1, 0
}

// headerBlock reports whether lines start with a mail header block as
// Outlook writes it above the earlier mail (or a client below a forward
// marker), and returns how many lines the block spans (0 when it is not
// one). A block holds a from-name, a date-name and a to- or subject-name;
// it must start with the from-name unless anyStart.
func headerBlock(lines []string, anyStart bool) int {
	if len(lines) == 0 {
		return 0
	}
	first := headerName(lines[0])
	if !fromNames[first] && !(anyStart && (dateNames[first] || toNames[first])) {
		return 0
	}
	from, date, to := fromNames[first], dateNames[first], toNames[first]
	end := 1
	for k := 1; k < len(lines) && k <= maxHeaderBlock; k++ {
		if isBlank(lines[k]) {
			continue
		}
		name := headerName(lines[k])
		switch {
		case fromNames[name]:
			from = true
		case dateNames[name]:
			date = true
		case toNames[name]:
			to = true
		case name == "":
			// A wrapped value (a long To: list) continues the block.
			if !(date || to) {
				return 0
			}
			continue
		default:
			continue
		}
		end = k + 1
	}
	if !from || !date || !to {
		return 0
	}
	return end
}

// headerName returns the lower-cased name of a "Name: value" line, with the
// asterisks of bold headers (Outlook's plain text of HTML) trimmed, or "".
func headerName(l string) string {
	l = strings.TrimLeft(l, " \t*")
	colon := strings.IndexByte(l, ':')
	if colon <= 0 || colon > 20 {
		return ""
	}
	name := strings.TrimRight(l[:colon], " \t*\u00a0")
	if strings.ContainsAny(name, "\t>") || strings.Count(name, " ") > 1 {
		return ""
	}
	return strings.ToLower(name)
}

// isHistoryMarker reports a separator line such as "-----Original
// Message-----" or "Begin forwarded message:".
func isHistoryMarker(l string) bool {
	t := strings.TrimSpace(l)
	if len(t) > 80 {
		return false
	}
	lt := strings.ToLower(t)
	if strings.HasSuffix(lt, ":") { // every colon marker ends in one
		ln := strings.ReplaceAll(lt, " :", ":")
		for _, m := range colonMarkers {
			if ln == strings.ReplaceAll(m, " :", ":") {
				return true
			}
		}
	}
	core := strings.Trim(lt, "-_ ")
	if len(lt)-len(core) < 4 { // dashes on each side, at least two
		return false
	}
	for _, m := range historyMarkers {
		if core == m {
			return true
		}
	}
	return false
}

// isRule reports a line of 10 or more underscores, dashes or box-drawing
// horizontals, as OWA and Outlook write above a reply header.
func isRule(l string) bool {
	t := strings.TrimSpace(l)
	if utf8.RuneCountInString(t) < 10 {
		return false
	}
	return strings.Trim(t, "_-─━") == ""
}

func hasRule(lines []string) bool {
	for _, l := range lines {
		if isRule(l) {
			return true
		}
	}
	return false
}

func hasText(lines []string) bool {
	for _, l := range lines {
		if !isBlank(l) {
			return true
		}
	}
	return false
}

func isQuoted(l string) bool {
	return strings.HasPrefix(strings.TrimLeft(l, " "), ">")
}

// stripTrailingQuote removes the trailing run of ">" lines (blank lines
// within it included) and the attribution line above it.
func stripTrailingQuote(lines []string) []string {
	end := len(lines)
	for end > 0 && isBlank(lines[end-1]) {
		end--
	}
	start := end
	for start > 0 && (isQuoted(lines[start-1]) || isBlank(lines[start-1])) {
		start--
	}
	quoted := false
	for _, l := range lines[start:end] {
		if isQuoted(l) {
			quoted = true
			break
		}
	}
	if !quoted {
		return lines[:end]
	}
	cut := start
	if n := attributionAbove(lines[:start]); n > 0 {
		cut = start - n
	}
	if hasText(lines[:cut]) {
		return lines[:cut]
	}
	// All of it is quoted: keep the quoted text without its marks.
	out := make([]string, 0, end-start)
	for _, l := range lines[start:end] {
		l = strings.TrimLeft(l, " ")
		l = strings.TrimLeft(l, "> ")
		out = append(out, l)
	}
	return out
}

// attributionAbove reports whether lines end with an attribution line ("On
// <date>, <name> wrote:"), possibly wrapped over two lines, and returns how
// many lines it spans (with the blank lines below it), or 0.
func attributionAbove(lines []string) int {
	end := len(lines)
	for end > 0 && isBlank(lines[end-1]) {
		end--
	}
	if end == 0 {
		return 0
	}
	if isAttribution(lines[end-1]) {
		return len(lines) - end + 1
	}
	if end >= 2 && isAttribution(lines[end-2]+" "+lines[end-1]) && !isAttribution(lines[end-2]) {
		return len(lines) - end + 2
	}
	return 0
}

// attributionForms are the openings and endings of attribution lines:
// English (Gmail, Apple Mail, Thunderbird, K-9), French, German, Spanish
// and Dutch.
var attributionForms = []struct{ start, end string }{
	{"on ", " wrote:"},
	{"le ", " a écrit :"},
	{"le ", " a écrit:"},
	{"am ", " schrieb "}, // "Am 03.06.2024 um 10:00 schrieb Alice <a@x>:"
	{"el ", " escribió:"},
	{"op ", " schreef "},
}

// isAttribution reports a line that introduces quoted text, such as "On
// Mon, 3 Jun 2024 at 10:00, Alice <a@x> wrote:".
func isAttribution(l string) bool {
	l = strings.ToLower(strings.TrimSpace(l))
	if len(l) > maxAttribution || !strings.HasSuffix(l, ":") {
		return false
	}
	for _, f := range attributionForms {
		if !strings.HasPrefix(l, f.start) {
			continue
		}
		// An ending with a trailing space is a verb before the name.
		if strings.HasSuffix(l, f.end) || strings.HasSuffix(f.end, " ") && strings.Contains(l, f.end) {
			return true
		}
	}
	return false
}
