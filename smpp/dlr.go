package smpp

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Receipt is the text of an SMPP delivery receipt (SMPP 3.4 Appendix B):
//
//	id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...
//
// Dates are UTC; the zero time means absent or unparsable.
type Receipt struct {
	ID     string    // SMSC message id, as sent
	Sub    int       // messages originally submitted
	Dlvrd  int       // messages delivered
	Submit time.Time // submit date
	Done   time.Time // done date
	Stat   string    // final state, upper case: DELIVRD, UNDELIV, ...
	Err    string    // network-specific error code, as sent
	Text   string    // first characters of the message, as sent
}

// dlrKey is a receipt field; the receipt keys name them.
type dlrKey uint8

const (
	keyNone dlrKey = iota
	keyID
	keySub
	keyDlvrd
	keySubmit
	keyDone
	keyStat
	keyErr
	keyText
)

// dlrKeys are the receipt keys (lower case, with their colon). Some SMSCs
// write the date keys with an underscore or without a space.
var dlrKeys = [...]struct {
	key   string
	field dlrKey
}{
	{"id:", keyID}, {"sub:", keySub}, {"dlvrd:", keyDlvrd},
	{"submit date:", keySubmit}, {"submit_date:", keySubmit}, {"submitdate:", keySubmit},
	{"done date:", keyDone}, {"done_date:", keyDone}, {"donedate:", keyDone},
	{"stat:", keyStat}, {"err:", keyErr}, {"text:", keyText},
}

// dlrKeyAt returns the length of the receipt key starting at s[i], if any,
// and its field. Keys match case-insensitively.
func dlrKeyAt(s string, i int) (n int, field dlrKey) {
	c := s[i] | 0x20 // every key starts with a letter: its lower case
	for _, k := range dlrKeys {
		if k.key[0] == c && len(s)-i >= len(k.key) && strings.EqualFold(s[i:i+len(k.key)], k.key) {
			return len(k.key), k.field
		}
	}
	return 0, keyNone
}

// ParseReceipt parses receipt text tolerantly: fields in any order, missing
// optional fields, any case of keys and stat, 10-, 12- or 14-digit dates.
// A key is recognised at the start of text or after white space; the first
// occurrence of each key wins. text: runs to the end once id and stat are
// known, so message text that looks like a key is kept. The error reports only
// A missing id or stat. It allocates nothing but the error (a receipt a
// message is on the gateway's hot path).
func ParseReceipt(text string) (Receipt, error) {
	var r Receipt
	var done uint16 // fields already set (1 << dlrKey)
	// A key's value runs from after the key to the next key.
	field, from := keyNone, 0
	set := func(to int) {
		if field == keyNone || done&(1<<field) != 0 {
			return
		}
		done |= 1 << field
		v := strings.TrimSpace(text[from:to])
		if field != keyText {
			// A value is one token; anything after it is noise.
			if j := strings.IndexAny(v, " \t\r\n"); j >= 0 {
				v = v[:j]
			}
		}
		switch field {
		case keyID:
			r.ID = v
		case keySub:
			r.Sub, _ = strconv.Atoi(v)
		case keyDlvrd:
			r.Dlvrd, _ = strconv.Atoi(v)
		case keySubmit:
			r.Submit = dlrDate(v)
		case keyDone:
			r.Done = dlrDate(v)
		case keyStat:
			r.Stat = strings.ToUpper(v)
		case keyErr:
			r.Err = v
		case keyText:
			r.Text = v
		}
	}
	for i := 0; i < len(text); i++ {
		if i > 0 && !dlrSpace(text[i-1]) {
			continue
		}
		n, f := dlrKeyAt(text, i)
		if n == 0 {
			continue
		}
		set(i) // every key met before this one is now in done
		field, from = f, i+n
		i += n - 1
		if f == keyText && done&(1<<keyID) != 0 && done&(1<<keyStat) != 0 {
			break
		}
	}
	set(len(text))
	switch {
	case r.ID == "":
		return r, errors.New("parse receipt: missing id")
	case r.Stat == "":
		return r, errors.New("parse receipt: missing stat")
	}
	return r, nil
}

func dlrSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\r' || b == '\n'
}

// dlrDate parses YYMMDDhhmm, YYMMDDhhmmss or YYYYMMDDhhmmss in UTC; anything
// else gives the zero time. As time.Parse with those layouts: a two-digit
// year is 1969..2068, and a field out of its range (the 31st of April
// included) makes the date unparsable.
func dlrDate(v string) time.Time {
	if len(v) != 10 && len(v) != 12 && len(v) != 14 {
		return time.Time{}
	}
	// d: the digits as YYYYMMDDhhmmss (seconds 00 when absent).
	var d [14]int
	at := 0
	if len(v) != 14 {
		at = 2 // the century comes from the year below
	}
	for i := 0; i < len(v); i++ {
		x := int(v[i]) - '0'
		if x < 0 || x > 9 {
			return time.Time{}
		}
		d[at+i] = x
	}
	two := func(i int) int { return d[i]*10 + d[i+1] }
	year := two(2)
	switch {
	case len(v) == 14:
		year += two(0) * 100
	case year >= 69:
		year += 1900
	default:
		year += 2000
	}
	month, day, hour, minute, sec := two(4), two(6), two(8), two(10), two(12)
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 ||
		day > time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return time.Time{}
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
}

// FormatReceipt produces receipt text (used by the simulator) in the SMPP 3.4
// Appendix B layout, with 10-digit UTC dates. An empty Err is written as 000.
// Text is written as given; the caller cuts it (the appendix suggests 20
// characters).
func FormatReceipt(r Receipt) string {
	errCode := r.Err
	if errCode == "" {
		errCode = "000"
	}
	return fmt.Sprintf("id:%s sub:%03d dlvrd:%03d submit date:%s done date:%s stat:%s err:%s text:%s",
		r.ID, r.Sub, r.Dlvrd, r.Submit.UTC().Format("0601021504"), r.Done.UTC().Format("0601021504"),
		r.Stat, errCode, r.Text)
}

// StatFinal maps a receipt stat (any case) to a final message status name:
// DELIVRD->"delivered", UNDELIV->"undeliverable", EXPIRED->"expired",
// REJECTD->"rejected", DELETED->"failed", UNKNOWN->"undeliverable";
// ENROUTE/ACCEPTD/others -> "", false (not final).
func StatFinal(stat string) (status string, final bool) {
	switch strings.ToUpper(strings.TrimSpace(stat)) {
	case "DELIVRD":
		return "delivered", true
	case "UNDELIV", "UNKNOWN":
		return "undeliverable", true
	case "EXPIRED":
		return "expired", true
	case "REJECTD":
		return "rejected", true
	case "DELETED":
		return "failed", true
	}
	return "", false
}

// IDVariants returns the canonical forms an SMSC message id may take, so
// that a receipt finds its message whether the SMSC reports ids as decimal
// or hex, in any case (the index holds the submit response's canonical form;
// a receipt that misses tries the others): the id itself canonicalised (see CanonicalID),
// plus, if it parses as hex (<=16 digits), its decimal form, plus, if it
// parses as decimal (fits uint64), its hex form; de-duplicated, canonical
// form first. An empty id has no variants.
//
// Many SMSCs return a hex id in submit_sm_resp and the same number in
// decimal in the receipt, or the reverse (SMPP 3.4 leaves the format open).
func IDVariants(id string) []string {
	c := CanonicalID(id)
	if c == "" {
		return nil
	}
	// Which bases the digits allow, so that a failed parse (an error value
	// each) is not how a hex id is told from a decimal one.
	dec, hex := true, true
	for i := 0; i < len(c) && hex; i++ {
		switch ch := c[i]; {
		case ch >= '0' && ch <= '9':
		case ch >= 'a' && ch <= 'f':
			dec = false
		default:
			dec, hex = false, false
		}
	}
	out := make([]string, 1, 3)
	out[0] = c
	if hex {
		if v, err := strconv.ParseUint(c, 16, 64); err == nil {
			out = addVariant(out, strconv.FormatUint(v, 10))
		}
	}
	if dec {
		if v, err := strconv.ParseUint(c, 10, 64); err == nil {
			out = addVariant(out, strconv.FormatUint(v, 16))
		}
	}
	return out
}

// addVariant appends v to out unless out has it.
func addVariant(out []string, v string) []string {
	if slices.Contains(out, v) {
		return out
	}
	return append(out, v)
}

// CanonicalID gives the single form under which a receipt's id is looked
// up: trimmed, lower-case, leading zeros stripped, "0" if all zeros.
func CanonicalID(id string) string {
	c := strings.ToLower(strings.TrimSpace(id))
	if c == "" {
		return ""
	}
	c = strings.TrimLeft(c, "0")
	if c == "" {
		return "0"
	}
	return c
}
