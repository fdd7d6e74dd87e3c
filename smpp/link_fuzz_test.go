package smpp

import (
	"bytes"
	"log/slog"
	"reflect"
	"testing"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"

	"github.com/smsgate/smsgate/smpp/frame"
)

// deliverFrame builds a deliver_sm frame from a submit request (same layout).
func deliverFrame(t testing.TB, r *SubmitRequest, esm uint8, tlv pdutlv.Fields) []byte {
	p, err := fiorixSubmit(r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range tlv {
		if err := p.TLVFields().Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Fields().Set("esm_class", esm); err != nil {
		t.Fatal(err)
	}
	p.Header().ID = pdu.DeliverSMID
	b, err := frame.Serialize(p, 7)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDeliver feeds arbitrary frames through the reader's decode path: it
// must never panic, a deliver_sm must always produce a Deliver, and the
// direct decoder must read what fiorix's map-based codec reads (the
// reference it replaced) whenever both accept the frame.
func FuzzDeliver(f *testing.F) {
	f.Add(deliverFrame(f, &SubmitRequest{Source: "61412345678", Dest: "61400000000", Payload: []byte("hello")}, 0, nil))
	f.Add(deliverFrame(f, &SubmitRequest{Source: "61412345678", Dest: "Acme", Payload: []byte(
		"id:1A2B sub:001 dlvrd:001 submit date:2501011200 done date:2501011201 stat:DELIVRD err:000 text:hi")}, 0x04, nil))
	f.Add(deliverFrame(f, &SubmitRequest{Source: "1", Dest: "2"}, 0x04, pdutlv.Fields{
		pdutlv.TagReceiptedMessageID: pdutlv.CString("99"), tagMessageState: []byte{5}}))
	f.Add(deliverFrame(f, &SubmitRequest{Source: "1", Dest: "2", Coding: CodingUCS2,
		UDH: ConcatUDH(3, 2, 1), Payload: []byte{0, 'h', 0, 'i'}}, 0x40, nil))
	f.Add(frame.Empty(pdu.EnquireLinkID, 0, 1))
	l := NewLink(LinkOptions{Name: "fuzz", Logger: slog.New(slog.DiscardHandler)})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := frame.Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		if id, _, _ := frame.Header(fr); id == pdu.DeliverSMID {
			p, err := frame.ParseDeliverSM(fr)
			if err != nil {
				return
			}
			if d := l.parseDeliver(p); d == nil || d.Link != "fuzz" {
				t.Fatalf("parseDeliver = %+v", d)
			}
			ref, err := frame.Decode(fr)
			if err != nil {
				return
			}
			if got, want := deliverView(p), fiorixDeliverView(ref); !reflect.DeepEqual(got, want) {
				t.Fatalf("direct %+v\nfiorix %+v", got, want)
			}
		}
	})
}

func TestParseDeliverReceiptFallback(t *testing.T) {
	l := NewLink(LinkOptions{Name: "x"})
	for _, tc := range []struct {
		name     string
		text     string
		tlv      pdutlv.Fields
		id, stat string
	}{
		{"text only", "id:ABC sub:001 dlvrd:001 submit date:2501011200 done date:2501011201 stat:DELIVRD err:000 text:",
			nil, "ABC", "DELIVRD"},
		{"text preferred over tlv", "id:ABC sub:001 dlvrd:000 submit date:2501011200 done date:2501011201 stat:UNDELIV err:001 text:",
			pdutlv.Fields{pdutlv.TagReceiptedMessageID: pdutlv.CString("999"), tagMessageState: []byte{2}}, "ABC", "UNDELIV"},
		{"tlv only", "", pdutlv.Fields{pdutlv.TagReceiptedMessageID: pdutlv.CString("999"), tagMessageState: []byte{3}}, "999", "EXPIRED"},
		{"garbage text, tlv", "not a receipt", pdutlv.Fields{pdutlv.TagReceiptedMessageID: pdutlv.CString("7")}, "7", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := frame.ParseDeliverSM(deliverFrame(t, &SubmitRequest{Source: "1", Dest: "2", Payload: []byte(tc.text)}, 0x04, tc.tlv))
			if err != nil {
				t.Fatal(err)
			}
			d := l.parseDeliver(p)
			if d.Receipt == nil || d.Receipt.ID != tc.id || d.Receipt.Stat != tc.stat || d.Text != tc.text {
				t.Fatalf("got %+v receipt %+v", d, d.Receipt)
			}
		})
	}
}

// deliveryView is what the link reads of a deliver_sm.
type deliveryView struct {
	Source, Dest            string
	SourceTON, DestTON      uint8
	ESMClass, DataCoding    uint8
	Message                 string
	ReceiptedID, State, SAR string
}

func deliverView(p *frame.DeliverSM) deliveryView {
	tlv := func(tag uint16) string { v, _ := p.TLV(tag); return string(v) }
	return deliveryView{Source: p.Source, Dest: p.Dest, SourceTON: p.SourceTON, DestTON: p.DestTON,
		ESMClass: p.ESMClass, DataCoding: p.DataCoding, Message: string(p.Message()),
		ReceiptedID: tlv(tagReceiptedMessageID), State: tlv(tagMessageState),
		SAR: tlv(tagSARMsgRefNum) + "|" + tlv(tagSARTotalSegments) + "|" + tlv(tagSARSegmentSeqnum)}
}

func fiorixDeliverView(p pdu.Body) deliveryView {
	tlv := func(tag uint16) string {
		if f, ok := p.TLVFields()[pdutlv.Tag(tag)]; ok && f != nil {
			return string(f.Bytes())
		}
		return ""
	}
	return deliveryView{Source: frame.String(p, pdufield.SourceAddr), Dest: frame.String(p, pdufield.DestinationAddr),
		SourceTON: frame.Byte(p, pdufield.SourceAddrTON), DestTON: frame.Byte(p, pdufield.DestAddrTON),
		ESMClass: frame.Byte(p, pdufield.ESMClass), DataCoding: frame.Byte(p, pdufield.DataCoding),
		Message:     string(frame.ShortMessage(p)),
		ReceiptedID: tlv(tagReceiptedMessageID), State: tlv(tagMessageState),
		SAR: tlv(tagSARMsgRefNum) + "|" + tlv(tagSARTotalSegments) + "|" + tlv(tagSARSegmentSeqnum)}
}
