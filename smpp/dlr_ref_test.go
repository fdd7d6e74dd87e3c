package smpp

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The receipt parser as it was before it stopped allocating (maps of the
// keys seen, a slice of spans, time.ParseInLocation for dates): the oracle
// the fuzz test holds the lean one to.

func parseReceiptMaps(text string) (Receipt, error) {
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
		n, field := dlrKeyAtMaps(text, i)
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
			r.Submit = dlrDateLayout(v)
		case "done":
			r.Done = dlrDateLayout(v)
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
func dlrFieldName(key string) string {
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
func dlrKeyAtMaps(s string, i int) (n int, field string) {
	for _, k := range [...]string{"id:", "sub:", "dlvrd:", "submit date:", "submit_date:", "submitdate:",
		"done date:", "done_date:", "donedate:", "stat:", "err:", "text:"} {
		if len(s)-i >= len(k) && strings.EqualFold(s[i:i+len(k)], k) {
			return len(k), dlrFieldName(k)
		}
	}
	return 0, ""
}
func dlrDateLayout(v string) time.Time {
	// Digits only: time.Parse takes a sign in a two-digit field ("+4" as
	// the year 2004), which the parser does not.
	if strings.Trim(v, "0123456789") != "" {
		return time.Time{}
	}
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

// FuzzParseReceiptOracle: the parser answers every text as the map-based one did.
func FuzzParseReceiptOracle(f *testing.F) {
	for _, s := range []string{
		"id:1234567890 sub:001 dlvrd:001 submit date:2401311205 done date:2401311206 stat:DELIVRD err:000 text:Hello there",
		"id:0A1B2C3D sub:001 dlvrd:000 submit date:240131120501 done date:240131120659 stat:UNDELIV err:034 Text:Hi",
		"stat:EXPIRED id:c449ab97-44f4 done_date:2401311206 submit_date:20240131120500 err:000",
		"id:42 text:hello stat:ENROUTE", "id:42 xstat:DELIVRD", "id:42 submit date:24013 done date:2413311299 stat:DELIVRD",
		"ID:7\tSTAT:delivrd donedate:2402300000 text:id:8 stat:x", "id: stat:\r\nDELIVRD", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got, gotErr := ParseReceipt(text)
		want, wantErr := parseReceiptMaps(text)
		if (gotErr == nil) != (wantErr == nil) || got != want {
			t.Fatalf("ParseReceipt(%q)\n got  %+v, %v\n want %+v, %v", text, got, gotErr, want, wantErr)
		}
	})
}

// TestDlrDate holds the hand-rolled date parser to time.ParseInLocation
// over every month's edge days, hours and minutes, two- and four-digit
// years, and malformed digits.
func TestDlrDate(t *testing.T) {
	var cases []string
	for _, y := range []string{"00", "24", "68", "69", "99"} {
		for m := 0; m <= 13; m++ {
			for _, d := range []int{0, 1, 28, 29, 30, 31, 32} {
				for _, hm := range []string{"0000", "2359", "2400", "0060", "1299"} {
					base := y + two(m) + two(d) + hm
					cases = append(cases, base, base+"00", base+"59", base+"60", "19"+base+"05", "20"+base+"59")
				}
			}
		}
	}
	cases = append(cases, "", "240131120", "2401311205a", "24013112-5", "+401311205", "2401311205000", "/024013112050")
	for _, v := range cases {
		if got, want := dlrDate(v), dlrDateLayout(v); !got.Equal(want) {
			t.Errorf("dlrDate(%q) = %v, want %v", v, got, want)
		}
	}
}

func two(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

func TestParseReceiptAllocs(t *testing.T) {
	text := "id:1234567890 sub:001 dlvrd:001 submit date:2401311205 done date:2401311206 stat:DELIVRD err:000 text:Hello there"
	if n := testing.AllocsPerRun(100, func() {
		if _, err := ParseReceipt(text); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("ParseReceipt allocates %.0f times a receipt, want 0", n)
	}
}

func BenchmarkParseReceipt(b *testing.B) {
	text := "id:1234567890 sub:001 dlvrd:001 submit date:2401311205 done date:2401311206 stat:DELIVRD err:000 text:Hello there"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseReceipt(text); err != nil {
			b.Fatal(err)
		}
	}
}
