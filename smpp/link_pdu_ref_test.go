package smpp

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"

	"github.com/smsgate/smsgate/smpp/frame"
)

// fiorixSubmit builds the submit_sm for r with fiorix's map-based codec,
// as the link did before frame.AppendSubmitSM: the reference the direct
// encoder is held to, and a pdu.Body tests can edit into other PDUs.
func fiorixSubmit(r *SubmitRequest) (pdu.Body, error) {
	src := strings.TrimPrefix(r.Source, "+")
	dst := strings.TrimPrefix(r.Dest, "+")
	if dst == "" {
		return nil, errors.New("submit_sm: empty destination")
	}
	sm := make([]byte, 0, len(r.UDH)+len(r.Payload))
	sm = append(append(sm, r.UDH...), r.Payload...)
	p := pdu.NewSubmitSM(nil)
	f := p.Fields()
	ston, snpi := addrTON(src)
	var esm, reg uint8
	if r.UDH != nil {
		esm = 0x40 // UDHI, §5.2.12
	}
	if r.RegisteredDelivery {
		reg = 0x01
	}
	set := []struct {
		k pdufield.Name
		v any
	}{
		{pdufield.SourceAddrTON, ston}, {pdufield.SourceAddrNPI, snpi}, {pdufield.SourceAddr, src},
		{pdufield.DestAddrTON, uint8(1)}, {pdufield.DestAddrNPI, uint8(1)}, {pdufield.DestinationAddr, dst},
		{pdufield.ESMClass, esm}, {pdufield.RegisteredDelivery, reg}, {pdufield.DataCoding, r.Coding},
	}
	for _, s := range set {
		if err := f.Set(s.k, s.v); err != nil {
			return nil, fmt.Errorf("submit_sm field %s: %w", s.k, err)
		}
	}
	// Over 254 octets: short_message empty, all in message_payload (§5.3.2.32).
	if err := frame.SetShortMessage(p, sm); err != nil {
		return nil, fmt.Errorf("submit_sm %w", err)
	}
	return p, nil
}

// submitCases are submit requests of every shape the link sends.
var submitCases = []*SubmitRequest{
	{Source: "61480000000", Dest: "61412345678", Payload: []byte("hello"), RegisteredDelivery: true},
	{Source: "+61480000000", Dest: "+61412345678", Payload: []byte("plus signs")},
	{Source: "Acme", Dest: "61412345678", Payload: []byte("alphanumeric sender")},
	{Source: "", Dest: "61412345678", Payload: []byte("no source")},
	{Source: "61480000000", Dest: "61412345678", Coding: CodingUCS2, UDH: ConcatUDH(7, 3, 2), Payload: []byte{0, 'h', 0, 'i'}, RegisteredDelivery: true},
	{Source: "61480000000", Dest: "61412345678", Payload: nil},
	{Source: "61480000000", Dest: "61412345678", Payload: []byte(strings.Repeat("x", 254))},
	{Source: "61480000000", Dest: "61412345678", Payload: []byte(strings.Repeat("y", 255))}, // message_payload
	{Source: "61480000000", Dest: "61412345678", UDH: ConcatUDH(1, 2, 1), Payload: []byte(strings.Repeat("z", 300))},
}

// TestAppendSubmitSMMatchesFiorix: the direct encoder writes, octet for
// octet, the frame fiorix's codec wrote for every shape of submit.
func TestAppendSubmitSMMatchesFiorix(t *testing.T) {
	for i, r := range submitCases {
		want := fiorixFrame(t, r, uint32(i+1))
		s, err := encodeSubmit(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := frame.AppendSubmitSM(nil, s, uint32(i+1)); !bytes.Equal(got, want) {
			t.Errorf("case %d: direct\n%x\nfiorix\n%x", i, got, want)
		}
		// And it decodes back to the request's fields.
		p, err := frame.Decode(want)
		if err != nil {
			t.Fatal(err)
		}
		if got := frame.String(p, pdufield.DestinationAddr); got != strings.TrimPrefix(r.Dest, "+") {
			t.Errorf("case %d: destination %q", i, got)
		}
	}
	if _, err := encodeSubmit(&SubmitRequest{Source: "1"}); err == nil {
		t.Error("an empty destination was encoded")
	}
}

// fiorixFrame is the reference frame of r.
func fiorixFrame(t testing.TB, r *SubmitRequest, seq uint32) []byte {
	p, err := fiorixSubmit(r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := frame.Serialize(p, seq)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzAppendSubmitSM holds the direct encoder to fiorix's on arbitrary
// addresses and text.
func FuzzAppendSubmitSM(f *testing.F) {
	f.Add("61480000000", "61412345678", []byte("hello"), uint8(0), true)
	f.Add("Acme", "447700900123", []byte(strings.Repeat("a", 300)), uint8(8), false)
	f.Fuzz(func(t *testing.T, src, dst string, text []byte, coding uint8, dlr bool) {
		if dst == "" || strings.ContainsRune(src, 0) || strings.ContainsRune(dst, 0) || len(text) > 1000 {
			return
		}
		r := &SubmitRequest{Source: src, Dest: dst, Payload: text, Coding: coding, RegisteredDelivery: dlr}
		s, err := encodeSubmit(r)
		if _, ferr := fiorixSubmit(r); (err == nil) != (ferr == nil) {
			t.Fatalf("direct: %v, fiorix: %v", err, ferr)
		}
		if err != nil {
			return // "+" alone: no destination either way
		}
		if got, want := frame.AppendSubmitSM(nil, s, 9), fiorixFrame(t, r, 9); !bytes.Equal(got, want) {
			t.Fatalf("direct\n%x\nfiorix\n%x", got, want)
		}
	})
}

// BenchmarkEncodeSubmit: the submit_sm frame of a single-part message,
// directly and through fiorix's map-based codec.
func BenchmarkEncodeSubmit(b *testing.B) {
	r := &SubmitRequest{Source: "61480000000", Dest: "61412345678", Payload: []byte("Your appointment is at 10:30 tomorrow."), RegisteredDelivery: true}
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s, _ := encodeSubmit(r)
			_ = frame.AppendSubmitSM(nil, s, 1)
		}
	})
	b.Run("fiorix", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, _ := fiorixSubmit(r)
			_, _ = frame.Serialize(p, 1)
		}
	})
}

// BenchmarkDecodeDeliver: a delivery receipt's deliver_sm decoded and read
// by the link, directly and through fiorix's map-based codec.
func BenchmarkDecodeDeliver(b *testing.B) {
	f := deliverFrame(b, &SubmitRequest{Source: "61412345678", Dest: "61480000000", Payload: []byte(
		"id:1A2B3C sub:001 dlvrd:001 submit date:2501011200 done date:2501011201 stat:DELIVRD err:000 text:Your appointment")}, 0x04, nil)
	l := NewLink(LinkOptions{Name: "bench"})
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := frame.ParseDeliverSM(f)
			if err != nil {
				b.Fatal(err)
			}
			_ = l.parseDeliver(p)
		}
	})
	b.Run("fiorix", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := frame.Decode(f)
			if err != nil {
				b.Fatal(err)
			}
			_ = fiorixDeliverView(p)
		}
	})
}
