package smpp

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// gsmTestBasic is the GSM 03.38 basic table written out from TS 23.038
// §6.2.1, row by row (column-major in the spec): code i is rune i. 0x1B is
// the escape and is excluded from encoding.
func gsmTestBasic() []rune {
	return []rune{
		'@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
		'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', 0x1B, 'Æ', 'æ', 'ß', 'É',
		' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
		'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
		'¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
		'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
		'¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
		'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
	}
}

func TestGSMTable(t *testing.T) {
	gsmTestExt := map[rune]byte{
		'\f': 0x0A, '^': 0x14, '{': 0x28, '}': 0x29, '\\': 0x2F,
		'[': 0x3C, '~': 0x3D, ']': 0x3E, '|': 0x40, '€': 0x65,
	}
	basic := gsmTestBasic()
	if len(basic) != 128 {
		t.Fatalf("test table has %d entries", len(basic))
	}
	if n := utf8.RuneCountInString(gsmBasicChars); n != 128 {
		t.Fatalf("gsmBasicChars has %d runes, want 128", n)
	}
	for code, r := range basic {
		if code == 0x1B {
			continue
		}
		t.Run(string(r), func(t *testing.T) {
			got, ext, ok := gsmCode(r)
			if !ok || ext || got != byte(code) {
				t.Errorf("gsmCode(%q) = %#x, %v, %v; want %#x basic", r, got, ext, ok, code)
			}
			if back := gsmBasicRune(byte(code)); back != r {
				t.Errorf("gsmBasicRune(%#x) = %q, want %q", code, back, r)
			}
		})
	}
	for r, code := range gsmTestExt {
		got, ext, ok := gsmCode(r)
		if !ok || !ext || got != code {
			t.Errorf("gsmCode(%q) = %#x, %v, %v; want %#x ext", r, got, ext, ok, code)
		}
		if back := gsmExtRune(code); back != r {
			t.Errorf("gsmExtRune(%#x) = %q, want %q", code, back, r)
		}
	}
	for _, r := range "`çÀ\x00\x1b\t¢ΑЖ😀" {
		if _, _, ok := gsmCode(r); ok {
			t.Errorf("gsmCode(%q) ok, want not in GSM", r)
		}
	}
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		coding  uint8
		payload []byte
	}{
		{"empty", "", CodingGSM7, []byte{}},
		{"ascii", "Hi 5", CodingGSM7, []byte{'H', 'i', ' ', '5'}},
		{"basic specials", "@£$_¤¡§¿à", CodingGSM7, []byte{0x00, 0x01, 0x02, 0x11, 0x24, 0x40, 0x5F, 0x60, 0x7F}},
		{"greek", "ΔΩ", CodingGSM7, []byte{0x10, 0x15}},
		{"extension", "€[]{}^~\\|\f", CodingGSM7, []byte{
			0x1B, 0x65, 0x1B, 0x3C, 0x1B, 0x3E, 0x1B, 0x28, 0x1B, 0x29,
			0x1B, 0x14, 0x1B, 0x3D, 0x1B, 0x2F, 0x1B, 0x40, 0x1B, 0x0A}},
		{"newline", "a\r\nb", CodingGSM7, []byte{'a', 0x0D, 0x0A, 'b'}},
		{"ucs2 cyrillic", "Жa", CodingUCS2, []byte{0x04, 0x16, 0x00, 'a'}},
		{"ucs2 c cedilla lower", "ç", CodingUCS2, []byte{0x00, 0xE7}},
		{"ucs2 emoji surrogates", "😀", CodingUCS2, []byte{0xD8, 0x3D, 0xDE, 0x00}},
		{"ucs2 gsm chars stay single unit", "€😀", CodingUCS2, []byte{0x20, 0xAC, 0xD8, 0x3D, 0xDE, 0x00}},
		{"invalid utf8", "a\xffb", CodingUCS2, []byte{0, 'a', 0xFF, 0xFD, 0, 'b'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			coding, payload := Encode(tt.text)
			if coding != tt.coding || !bytes.Equal(payload, tt.payload) {
				t.Errorf("Encode(%q) = %d % x; want %d % x", tt.text, coding, payload, tt.coding, tt.payload)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		parts []int // length in octets of each part
	}{
		{"empty", "", []int{0}},
		{"gsm 160", strings.Repeat("a", 160), []int{160}},
		{"gsm 161", strings.Repeat("a", 161), []int{153, 8}},
		{"gsm 306", strings.Repeat("a", 306), []int{153, 153}},
		{"gsm 307", strings.Repeat("a", 307), []int{153, 153, 1}},
		{"gsm 80 extension chars fit one", strings.Repeat("€", 80), []int{160}},
		{"gsm 81 extension chars", strings.Repeat("€", 81), []int{152, 10}},
		{"escape not split", strings.Repeat("a", 152) + "€b" + strings.Repeat("c", 10), []int{152, 13}},
		{"escape fits at end", strings.Repeat("a", 151) + "€b" + strings.Repeat("c", 10), []int{153, 11}},
		{"ucs2 70", strings.Repeat("Ж", 70), []int{140}},
		{"ucs2 71", strings.Repeat("Ж", 71), []int{134, 8}},
		{"ucs2 134 units", strings.Repeat("Ж", 134), []int{134, 134}},
		{"ucs2 135 units", strings.Repeat("Ж", 135), []int{134, 134, 2}},
		{"emoji fits one", strings.Repeat("😀", 35), []int{140}},
		{"emoji not split", strings.Repeat("Ж", 66) + "😀" + strings.Repeat("Ж", 5), []int{132, 14}},
		{"emoji fits at end", strings.Repeat("Ж", 65) + "😀" + strings.Repeat("Ж", 5), []int{134, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			coding, payload := Encode(tt.text)
			parts := Split(coding, payload)
			var got []int
			for _, p := range parts {
				got = append(got, len(p))
			}
			if !equalInts(got, tt.parts) {
				t.Fatalf("Split(%q...) part lengths = %v, want %v", firstRunes(tt.text, 10), got, tt.parts)
			}
			if !bytes.Equal(bytes.Join(parts, nil), payload) {
				t.Errorf("joined parts differ from payload")
			}
			if c, n := CountParts(tt.text); c != coding || n != len(parts) {
				t.Errorf("CountParts = %d, %d; want %d, %d", c, n, coding, len(parts))
			}
		})
	}
}

func TestSplitOtherCoding(t *testing.T) {
	parts := Split(CodingLatin1, bytes.Repeat([]byte{'x'}, 141))
	if len(parts) != 2 || len(parts[0]) != 134 || len(parts[1]) != 7 {
		t.Errorf("latin-1 141 octets: got %d parts", len(parts))
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		maxParts int
		want     string
	}{
		{"short unchanged", "hello", 1, "hello"},
		{"zero parts", "hello", 0, ""},
		{"gsm to one part", strings.Repeat("a", 200), 1, strings.Repeat("a", 160)},
		{"gsm to two parts", strings.Repeat("a", 400), 2, strings.Repeat("a", 306)},
		{"gsm fits", strings.Repeat("a", 306), 2, strings.Repeat("a", 306)},
		{"extension not half kept", strings.Repeat("a", 159) + "€", 1, strings.Repeat("a", 159)},
		{"ucs2 to one part", strings.Repeat("Ж", 100), 1, strings.Repeat("Ж", 70)},
		{"ucs2 to two parts", strings.Repeat("Ж", 200), 2, strings.Repeat("Ж", 134)},
		{"emoji whole", strings.Repeat("Ж", 69) + "😀", 1, strings.Repeat("Ж", 69)},
		{"mixed keeps ucs2 measure", "Ж" + strings.Repeat("a", 100), 1, "Ж" + strings.Repeat("a", 69)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Truncate(tt.text, tt.maxParts)
			if got != tt.want {
				t.Fatalf("Truncate = %q (%d runes), want %d runes", firstRunes(got, 10),
					utf8.RuneCountInString(got), utf8.RuneCountInString(tt.want))
			}
			if tt.maxParts > 0 {
				if _, n := CountParts(got); n > tt.maxParts {
					t.Errorf("result needs %d parts, max %d", n, tt.maxParts)
				}
			}
		})
	}
}

func TestConcatUDH(t *testing.T) {
	got := ConcatUDH(0x2A, 3, 2)
	want := []byte{0x05, 0x00, 0x03, 0x2A, 0x03, 0x02}
	if !bytes.Equal(got, want) {
		t.Errorf("ConcatUDH = % x, want % x", got, want)
	}
}

func TestParseUDH(t *testing.T) {
	tests := []struct {
		name       string
		sm         []byte
		udhLen     int
		body       string
		ref        uint16
		total, seq int
		ok         bool
	}{
		{"8-bit ref", append(ConcatUDH(0xAB, 3, 1), "hello"...), 6, "hello", 0xAB, 3, 1, true},
		{"16-bit ref", []byte{0x06, 0x08, 0x04, 0x12, 0x34, 0x02, 0x02, 'h', 'i'}, 7, "hi", 0x1234, 2, 2, true},
		{"concat after other IE", []byte{0x08, 0x0A, 0x01, 0x00, 0x00, 0x03, 0x07, 0x02, 0x01, 'x'}, 9, "x", 7, 2, 1, true},
		{"no concat IE", []byte{0x03, 0x0A, 0x01, 0x00, 'x'}, 4, "x", 0, 0, 0, true},
		{"empty udh", []byte{0x00, 'x'}, 1, "x", 0, 0, 0, true},
		{"seq beyond total ignored", []byte{0x05, 0x00, 0x03, 0x01, 0x02, 0x03, 'x'}, 6, "x", 0, 0, 0, true},
		{"udhl beyond message", []byte{0x09, 0x00, 0x03}, 0, "", 0, 0, 0, false},
		{"ie beyond udh", []byte{0x03, 0x00, 0x03, 0x01, 'x'}, 0, "", 0, 0, 0, false},
		{"empty", nil, 0, "", 0, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			udh, body, ref, total, seq, ok := ParseUDH(tt.sm)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if len(udh) != tt.udhLen || string(body) != tt.body || ref != tt.ref || total != tt.total || seq != tt.seq {
				t.Errorf("got udh %d octets, body %q, ref %#x, %d/%d; want %d, %q, %#x, %d/%d",
					len(udh), body, ref, seq, total, tt.udhLen, tt.body, tt.ref, tt.seq, tt.total)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		coding  uint8
		payload []byte
		want    string
		wantErr bool
	}{
		{"gsm", CodingGSM7, []byte{0x00, 'a', 0x1B, 0x65, 0x10}, "@a€Δ", false},
		{"gsm unknown escape shows basic", CodingGSM7, []byte{0x1B, 'a'}, "a", false},
		{"gsm trailing escape", CodingGSM7, []byte{'a', 0x1B}, "a ", false},
		{"gsm class coding", 0xF1, []byte{0x01}, "£", false},
		{"latin1", CodingLatin1, []byte{'c', 0xE9, 0xA3}, "cé£", false},
		{"other coding as latin1", 0x04, []byte{0xE9}, "é", false},
		{"ucs2", CodingUCS2, []byte{0x04, 0x16, 0xD8, 0x3D, 0xDE, 0x00}, "Ж😀", false},
		{"ucs2 lone surrogate", CodingUCS2, []byte{0xD8, 0x3D}, "\uFFFD", false},
		{"ucs2 odd", CodingUCS2, []byte{0x00, 'a', 0x00}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.coding, tt.payload)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("Decode = %q, %v; want %q, err %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	for _, text := range []string{
		"", "Hello, world!", string(gsmTestBasic()[:0x1B]) + string(gsmTestBasic()[0x1C:]),
		"€[]{}^~\\|\f", "Привет, мир", "emoji 😀👍🏽 and € ç", strings.Repeat("ab€", 200),
	} {
		t.Run(firstRunes(text, 10), func(t *testing.T) {
			coding, payload := Encode(text)
			got, err := Decode(coding, bytes.Join(Split(coding, payload), nil))
			if err != nil || got != text {
				t.Errorf("round trip = %q, %v", got, err)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func firstRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
