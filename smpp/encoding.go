package smpp

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// SMPP data_coding values used by smsgate (SMPP 3.4 §5.2.19).
const (
	CodingGSM7   uint8 = 0x00 // SMSC default alphabet (GSM 03.38), one septet per octet, unpacked
	CodingLatin1 uint8 = 0x03
	CodingUCS2   uint8 = 0x08 // UTF-16BE
)

// Part sizes. A single SMS carries 140 octets: 160 septets when packed by the
// SMSC. A concatenated part loses 6 octets to the UDH (05 00 03 ref total seq),
// leaving 134 octets: 153 septets or 67 UTF-16 code units (3GPP TS 23.040 §9.2.3.24.1).
const (
	gsmSingleSeptets = 160
	gsmPartSeptets   = 153
	octSingle        = 140
	octPart          = 134
	gsmEscape        = 0x1B
)

// Encode returns the coding and the whole payload of text: GSM 03.38 unpacked
// septets (extension-table characters such as € [ ] { } ^ ~ \ | as 0x1B + code)
// when every rune fits, else UCS-2/UTF-16BE (surrogate pairs for runes beyond
// the BMP). Invalid UTF-8 is encoded as U+FFFD.
func Encode(text string) (coding uint8, payload []byte) {
	if n, ok := gsmSeptets(text); ok {
		payload = make([]byte, 0, n)
		for _, r := range text {
			code, ext, _ := gsmCode(r)
			if ext {
				payload = append(payload, gsmEscape)
			}
			payload = append(payload, code)
		}
		return CodingGSM7, payload
	}
	payload = make([]byte, 0, 2*ucs2Units(text))
	for _, r := range text {
		payload = ucs2Append(payload, r)
	}
	return CodingUCS2, payload
}

// Split cuts a payload into SMS parts: one part if it fits (160 septets / 140
// octets), else 153-septet parts (never splitting a 0x1B escape pair) or
// 134-octet UCS-2 parts (67 code units, never splitting a surrogate pair).
// Other codings are cut into 134-octet parts. The parts share payload's
// backing array. An empty payload is one empty part.
func Split(coding uint8, payload []byte) [][]byte {
	single, part := octSingle, octPart
	if coding == CodingGSM7 {
		single, part = gsmSingleSeptets, gsmPartSeptets
	}
	if len(payload) <= single {
		return [][]byte{payload}
	}
	parts := make([][]byte, 0, len(payload)/part+1)
	for start := 0; start < len(payload); {
		end := start + part
		if end >= len(payload) {
			parts = append(parts, payload[start:])
			break
		}
		switch coding {
		case CodingGSM7:
			// Cut before an escape whose code would land in the next part.
			if gsmEndsInEscape(payload[start:end]) {
				end--
			}
		case CodingUCS2:
			// Cut before a high surrogate whose low half would land in the next part.
			if hi := uint16(payload[end-2])<<8 | uint16(payload[end-1]); hi >= 0xD800 && hi < 0xDC00 {
				end -= 2
			}
		}
		parts = append(parts, payload[start:end:end])
		start = end
	}
	return parts
}

// gsmEndsInEscape reports whether chunk ends with an unpaired 0x1B, that is
// an escape whose extension code is beyond the chunk. Pairs are counted from
// the chunk's start, which is always a character boundary.
func gsmEndsInEscape(chunk []byte) bool {
	for i := 0; i < len(chunk); i++ {
		if chunk[i] == gsmEscape {
			if i == len(chunk)-1 {
				return true
			}
			i++
		}
	}
	return false
}

// CountParts is Encode+Split counting only, without allocating. It returns
// the coding Encode would pick and the number of parts Split would return.
func CountParts(text string) (coding uint8, parts int) {
	if n, ok := gsmSeptets(text); ok {
		if n <= gsmSingleSeptets {
			return CodingGSM7, 1
		}
		p := partPacker{size: gsmPartSeptets}
		for _, r := range text {
			p.add(gsmWidth(r))
		}
		return CodingGSM7, p.parts
	}
	if ucs2Units(text) <= octSingle/2 {
		return CodingUCS2, 1
	}
	p := partPacker{size: octPart / 2}
	for _, r := range text {
		p.add(utf16.RuneLen(ucs2Rune(r)))
	}
	return CodingUCS2, p.parts
}

// Truncate returns the longest prefix of text (whole runes) that fits in
// maxParts parts with the coding Encode would pick for the whole text. A
// maxParts below 1 yields "".
func Truncate(text string, maxParts int) string {
	if maxParts < 1 {
		return ""
	}
	_, gsm := gsmSeptets(text)
	single, p := octSingle/2, partPacker{size: octPart / 2}
	if gsm {
		single, p = gsmSingleSeptets, partPacker{size: gsmPartSeptets}
	}
	total := 0
	for i, r := range text {
		w := utf16.RuneLen(ucs2Rune(r))
		if gsm {
			w = gsmWidth(r)
		}
		total += w
		p.add(w)
		// Both measures only grow, so the first rune that does not fit ends the prefix.
		if total > single && p.parts > maxParts {
			return text[:i]
		}
	}
	return text
}

// partPacker counts parts when indivisible units of width 1 or 2 are packed
// greedily into parts of size units, exactly as Split cuts them.
type partPacker struct {
	size, used, parts int
}

func (p *partPacker) add(w int) {
	if p.parts == 0 || p.used+w > p.size {
		p.parts++
		p.used = 0
	}
	p.used += w
}

// ConcatUDH returns the 6-octet concatenation UDH (IEI 0x00, 8-bit ref):
// 05 00 03 ref total seq (3GPP TS 23.040 §9.2.3.24.1). seq counts from 1.
func ConcatUDH(ref uint8, total, seq int) []byte {
	return []byte{0x05, 0x00, 0x03, ref, byte(total), byte(seq)}
}

// ParseUDH splits a short_message that has a UDH (esm_class 0x40) into its
// header (including the length octet) and body, and reports the
// concatenation info if present (8-bit IEI 0x00 or 16-bit IEI 0x08). ok is
// false when sm does not start with a well-formed UDH; ok is true with total
// and seq zero when the UDH carries no valid concatenation element.
func ParseUDH(sm []byte) (udh, body []byte, ref uint16, total, seq int, ok bool) {
	if len(sm) == 0 || int(sm[0])+1 > len(sm) {
		return nil, sm, 0, 0, 0, false
	}
	udh, body = sm[:1+int(sm[0])], sm[1+int(sm[0]):]
	ies := udh[1:]
	for len(ies) > 0 {
		if len(ies) < 2 || int(ies[1])+2 > len(ies) {
			return nil, sm, 0, 0, 0, false
		}
		iei, data := ies[0], ies[2:2+int(ies[1])]
		ies = ies[2+len(data):]
		var r uint16
		var t, s int
		switch {
		case iei == 0x00 && len(data) == 3:
			r, t, s = uint16(data[0]), int(data[1]), int(data[2])
		case iei == 0x08 && len(data) == 4:
			r, t, s = uint16(data[0])<<8|uint16(data[1]), int(data[2]), int(data[3])
		default:
			continue
		}
		// TS 23.040: an element with total 0 or seq outside 1..total is ignored.
		if t > 0 && s > 0 && s <= t && total == 0 {
			ref, total, seq = r, t, s
		}
	}
	return udh, body, ref, total, seq, true
}

// Decode turns a payload back into text: GSM 03.38 unpacked (0, and the
// GSM message-class codings 0xF0-0xF3), Latin-1 (3), UCS-2 (8); other codings
// are treated as Latin-1. Errors only for malformed input (odd UCS-2 length).
// Unpaired surrogates decode as U+FFFD.
func Decode(coding uint8, payload []byte) (string, error) {
	switch {
	case coding == CodingGSM7 || coding&0xFC == 0xF0:
		return gsmDecode(payload), nil
	case coding == CodingUCS2:
		if len(payload)%2 != 0 {
			return "", errors.New("decode ucs-2: odd payload length")
		}
		units := make([]uint16, len(payload)/2)
		for i := range units {
			units[i] = uint16(payload[2*i])<<8 | uint16(payload[2*i+1])
		}
		return string(utf16.Decode(units)), nil
	default:
		buf := make([]byte, 0, len(payload)+len(payload)/4)
		for _, b := range payload {
			buf = utf8.AppendRune(buf, rune(b))
		}
		return string(buf), nil
	}
}

// gsmDecode maps unpacked septets to text. Per TS 23.038 §6.2.1.1, an escape
// followed by a code the extension table lacks shows the basic character;
// 0x1B 0x1B and a trailing escape show a space.
func gsmDecode(payload []byte) string {
	buf := make([]byte, 0, len(payload)+len(payload)/2)
	for i := 0; i < len(payload); i++ {
		b := payload[i] & 0x7F
		if b != gsmEscape {
			buf = utf8.AppendRune(buf, gsmBasicRune(b))
			continue
		}
		if i+1 == len(payload) {
			buf = append(buf, ' ')
			break
		}
		i++
		e := payload[i] & 0x7F
		switch r := gsmExtRune(e); {
		case r != 0:
			buf = utf8.AppendRune(buf, r)
		case e == gsmEscape:
			buf = append(buf, ' ')
		default:
			buf = utf8.AppendRune(buf, gsmBasicRune(e))
		}
	}
	return string(buf)
}

// gsmSeptets reports whether every rune of text is in the GSM 03.38 basic or
// extension table, and how many septets it takes.
func gsmSeptets(text string) (n int, ok bool) {
	for _, r := range text {
		w := gsmWidth(r)
		if w == 0 {
			return 0, false
		}
		n += w
	}
	return n, true
}

// gsmWidth is the septets r takes: 1 (basic), 2 (escape + extension) or 0
// (not in GSM 03.38).
func gsmWidth(r rune) int {
	_, ext, ok := gsmCode(r)
	switch {
	case !ok:
		return 0
	case ext:
		return 2
	}
	return 1
}

// ucs2Rune is the rune Encode writes for r: U+FFFD for invalid input.
func ucs2Rune(r rune) rune {
	if utf16.RuneLen(r) < 0 {
		return utf8.RuneError
	}
	return r
}

// ucs2Units counts the UTF-16 code units of text.
func ucs2Units(text string) int {
	n := 0
	for _, r := range text {
		n += utf16.RuneLen(ucs2Rune(r))
	}
	return n
}

// ucs2Append appends r as UTF-16BE.
func ucs2Append(buf []byte, r rune) []byte {
	r = ucs2Rune(r)
	if r >= 0x10000 {
		hi, lo := utf16.EncodeRune(r)
		return append(buf, byte(hi>>8), byte(hi), byte(lo>>8), byte(lo))
	}
	return append(buf, byte(r>>8), byte(r))
}

// gsmBasicChars is the GSM 03.38 basic table in code order (3GPP TS 23.038
// §6.2.1); code 0x1B, the escape, holds a space that is never matched.
const gsmBasicChars = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmASCII reports whether c is a code at which the basic table holds the
// ASCII character of the same value.
func gsmASCII(c rune) bool {
	return c == '\n' || c == '\r' || c >= ' ' && c <= '#' || c >= '%' && c <= '?' ||
		c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// gsmCode maps r to its GSM 03.38 code: ext reports an extension-table
// character, sent as 0x1B + code; ok is false when r is in neither table.
func gsmCode(r rune) (code byte, ext, ok bool) {
	if gsmASCII(r) {
		return byte(r), false, true
	}
	if r < 0x80 || r >= 0x400 {
		// Outside ASCII and the Latin/Greek range of the basic table.
		if c := gsmExtCode(r); c != 0 {
			return c, true, true
		}
		if r != '@' && r != '$' && r != '_' {
			return 0, false, false
		}
	}
	i := byte(0)
	for _, c := range gsmBasicChars {
		if c == r && i != gsmEscape {
			return i, false, true
		}
		i++
	}
	return 0, false, false
}

// gsmBasicRune maps a 7-bit code of the basic table to its rune.
func gsmBasicRune(b byte) rune {
	b &= 0x7F
	if gsmASCII(rune(b)) {
		return rune(b)
	}
	i := byte(0)
	for _, c := range gsmBasicChars {
		if i == b {
			return c
		}
		i++
	}
	return ' '
}

// gsmExtCode maps a rune of the extension table (TS 23.038 §6.2.1.1) to its
// code, or 0 if it has none.
func gsmExtCode(r rune) byte {
	for c := byte(0); c < 0x80; c++ {
		if gsmExtRune(c) == r {
			return c
		}
	}
	return 0
}

// gsmExtRune maps an extension-table code to its rune, or 0 if unassigned.
func gsmExtRune(e byte) rune {
	switch e {
	case 0x0A:
		return '\f'
	case 0x14:
		return '^'
	case 0x28:
		return '{'
	case 0x29:
		return '}'
	case 0x2F:
		return '\\'
	case 0x3C:
		return '['
	case 0x3D:
		return '~'
	case 0x3E:
		return ']'
	case 0x40:
		return '|'
	case 0x65:
		return '€'
	}
	return 0
}
