package smpp

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzEncodeSplit(f *testing.F) {
	for _, s := range []string{
		"", "hello", "€", strings.Repeat("a", 152) + "€", strings.Repeat("Ж", 66) + "😀x",
		strings.Repeat("[]", 90), "ç", "@\x00", "a\r\n\f", strings.Repeat("😀", 40),
	} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, s string, maxParts int) {
		if !utf8.ValidString(s) {
			return
		}
		coding, payload := Encode(s)
		parts := Split(coding, payload)
		single, part := octSingle, octPart
		if coding == CodingGSM7 {
			single, part = gsmSingleSeptets, gsmPartSeptets
		}
		for i, p := range parts {
			limit := part
			if len(parts) == 1 {
				limit = single
			}
			if len(p) > limit {
				t.Fatalf("part %d has %d octets, limit %d", i, len(p), limit)
			}
			// Every part must decode on its own: no split escape or surrogate.
			if coding == CodingGSM7 && gsmEndsInEscape(p) {
				t.Fatalf("part %d ends in a split escape", i)
			}
			if coding == CodingUCS2 {
				if len(p)%2 != 0 {
					t.Fatalf("part %d has odd length", i)
				}
				if n := len(p); n >= 2 && p[n-2]&0xFC == 0xD8 {
					t.Fatalf("part %d ends in a high surrogate", i)
				}
			}
		}
		got, err := Decode(coding, bytes.Join(parts, nil))
		if err != nil || got != s {
			t.Fatalf("round trip = %q, %v; want %q", got, err, s)
		}
		if c, n := CountParts(s); c != coding || n != len(parts) {
			t.Fatalf("CountParts = %d, %d; Split gave %d, %d", c, n, coding, len(parts))
		}
		maxParts = maxParts%12 + 1
		if maxParts < 1 {
			maxParts += 12
		}
		tr := Truncate(s, maxParts)
		if !strings.HasPrefix(s, tr) {
			t.Fatalf("Truncate result is not a prefix")
		}
		if _, n := CountParts(tr); n > maxParts {
			t.Fatalf("Truncate(%d) needs %d parts", maxParts, n)
		}
		if len(parts) <= maxParts && tr != s {
			t.Fatalf("Truncate cut a text that fits")
		}
	})
}

func FuzzParseUDH(f *testing.F) {
	f.Add(append(ConcatUDH(1, 2, 1), "hi"...))
	f.Add([]byte{0x06, 0x08, 0x04, 0x12, 0x34, 0x02, 0x02, 'h'})
	f.Add([]byte{0x03, 0x00, 0x03})
	f.Add([]byte{0xFF})
	f.Fuzz(func(t *testing.T, sm []byte) {
		udh, body, _, total, seq, ok := ParseUDH(sm)
		if !ok {
			return
		}
		if len(udh)+len(body) != len(sm) {
			t.Fatalf("udh %d + body %d != %d", len(udh), len(body), len(sm))
		}
		if total != 0 && (seq < 1 || seq > total) {
			t.Fatalf("seq %d of %d", seq, total)
		}
	})
}

func FuzzParseReceipt(f *testing.F) {
	f.Add("id:1234567890 sub:001 dlvrd:001 submit date:2401311205 done date:2401311206 stat:DELIVRD err:000 text:Hello")
	f.Add("ID:0a1b STAT:delivrd done_date:240131120659")
	f.Add("text:id: stat: id:")
	f.Add("id:")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReceipt(s)
		if err != nil {
			return
		}
		if r.ID == "" || r.Stat == "" {
			t.Fatalf("no error but id %q stat %q", r.ID, r.Stat)
		}
		_ = IDVariants(r.ID)
		_, _ = StatFinal(r.Stat)
	})
}
