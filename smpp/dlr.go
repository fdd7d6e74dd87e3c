package smpp

import (
	"errors"
	"fmt"
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

// dlrField maps a receipt key (lower case, with its colon) to the field it
// fills. Some SMSCs write the date keys with an underscore or without a space.
func dlrField(key string) string {
	switch key {
	case "id:":
		return "id"
	case "sub:":
		return "sub"
	case "dlvrd:":
		return "dlvrd"
	case "submit date:", "submit_date:", "submitdate:":
		return "submit"
	case "done date:", "done_date:", "donedate:":
		return "done"
	case "stat:":
		return "stat"
	case "err:":
		return "err"
	case "text:":
		return "text"
	}
	return ""
}

// dlrKeyAt returns the length of the receipt key starting at s[i], if any,
// and its field. Keys match case-insensitively.
func dlrKeyAt(s string, i int) (n int, field string) {
	for _, k := range [...]string{"id:", "sub:", "dlvrd:", "submit date:", "submit_date:", "submitdate:",
		"done date:", "done_date:", "donedate:", "stat:", "err:", "text:"} {
		if len(s)-i >= len(k) && strings.EqualFold(s[i:i+len(k)], k) {
			return len(k), dlrField(k)
		}
	}
	return 0, ""
}

// ParseReceipt parses receipt text tolerantly: fields in any order, missing
// optional fields, any case of keys and stat, 10-, 12- or 14-digit dates.
// A key is recognised at the start of text or after white space; the first
// occurrence of each key wins. text: runs to the end once id and stat are
// known, so message text that looks like a key is kept. The error reports only
// A missing id or stat.
func ParseReceipt(text string) (Receipt, error) {
	type span struct {
		field    string
		from, to int
	}
	var spans []span
	seen := map[string]bool{}
	for i := 0; i < len(text); i++ {
		if i > 0 && !dlrSpace(text[i-1]) {
			continue
		}
		n, field := dlrKeyAt(text, i)
		if n == 0 {
			continue
		}
		if len(spans) > 0 {
			spans[len(spans)-1].to = i
		}
		spans = append(spans, span{field: field, from: i + n, to: len(text)})
		i += n - 1
		if field == "text" && seen["id"] && seen["stat"] {
			break
		}
		seen[field] = true
	}
	var r Receipt
	done := map[string]bool{}
	for _, sp := range spans {
		if done[sp.field] {
			continue
		}
		done[sp.field] = true
		v := strings.TrimSpace(text[sp.from:sp.to])
		if sp.field != "text" {
			// A value is one token; anything after it is noise.
			if j := strings.IndexAny(v, " \t\r\n"); j >= 0 {
				v = v[:j]
			}
		}
		switch sp.field {
		case "id":
			r.ID = v
		case "sub":
			r.Sub, _ = strconv.Atoi(v)
		case "dlvrd":
			r.Dlvrd, _ = strconv.Atoi(v)
		case "submit":
			r.Submit = dlrDate(v)
		case "done":
			r.Done = dlrDate(v)
		case "stat":
			r.Stat = strings.ToUpper(v)
		case "err":
			r.Err = v
		case "text":
			r.Text = v
		}
	}
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
// else gives the zero time.
func dlrDate(v string) time.Time {
	var layout string
	switch len(v) {
	case 10:
		layout = "0601021504"
	case 12:
		layout = "060102150405"
	case 14:
		layout = "20060102150405"
	default:
		return time.Time{}
	}
	t, err := time.ParseInLocation(layout, v, time.UTC)
	if err != nil {
		return time.Time{}
	}
	return t
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
	out := []string{c}
	add := func(v string) {
		for _, o := range out {
			if o == v {
				return
			}
		}
		out = append(out, v)
	}
	if v, err := strconv.ParseUint(c, 16, 64); err == nil {
		add(strconv.FormatUint(v, 10))
	}
	if v, err := strconv.ParseUint(c, 10, 64); err == nil {
		add(strconv.FormatUint(v, 16))
	}
	return out
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
