package smpp

import (
	"strings"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"

	"github.com/smsgate/smsgate/smpp/frame"
)

// messageState names a message_state TLV value (SMPP 3.4 §5.2.28) as the
// stat field of a receipt's text does; "" when unknown.
func messageState(v byte) string {
	const names = "ENROUTEDELIVRDEXPIREDDELETEDUNDELIVACCEPTDUNKNOWNREJECTD"
	if v < 1 || v > 8 {
		return ""
	}
	return names[(v-1)*7 : v*7]
}

// parseDeliver turns a decoded deliver_sm into a Deliver. A receipt keeps its
// raw text; its id and state come from the text first and from the
// receipted_message_id and message_state TLVs where the text lacks them.
func (l *Link) parseDeliver(p pdu.Body) *Deliver {
	d := &Deliver{
		Link:      l.opts.Name,
		Source:    frame.String(p, pdufield.SourceAddr),
		Dest:      frame.String(p, pdufield.DestinationAddr),
		SourceTON: frame.Byte(p, pdufield.SourceAddrTON),
		DestTON:   frame.Byte(p, pdufield.DestAddrTON),
		Country:   l.opts.Country,
		Coding:    frame.Byte(p, pdufield.DataCoding),
		ESMClass:  frame.Byte(p, pdufield.ESMClass),
	}
	body := frame.ShortMessage(p)
	if d.ESMClass&0x40 != 0 {
		if udh, rest, ref, total, seq, ok := ParseUDH(body); ok || len(udh) > 0 {
			d.UDH, body = udh, rest
			if total > 1 {
				d.Concat = &Concat{Ref: ref, Total: total, Seq: seq}
			}
		}
	}
	if d.Concat == nil {
		d.Concat = sarOf(p)
	}
	d.Body = body
	if d.ESMClass&0x04 != 0 {
		d.Text = string(body)
		d.Receipt = receiptOf(p, d.Text)
		return d
	}
	text, err := Decode(d.Coding, body)
	if err != nil {
		l.log.Debug("undecodable mo text", "coding", d.Coding, "err", err)
		text = strings.ToValidUTF8(string(body), "\uFFFD")
	}
	d.Text = text
	return d
}

// receiptOf parses a receipt: the text first, TLVs as the fallback.
func receiptOf(p pdu.Body, text string) *Receipt {
	r, err := ParseReceipt(text)
	if err != nil {
		r = Receipt{Text: text}
	}
	tlv := p.TLVFields()
	if r.ID == "" {
		if t, ok := tlv[pdutlv.TagReceiptedMessageID]; ok && t != nil {
			r.ID = t.String()
		}
	}
	if r.Stat == "" {
		if t, ok := tlv[tagMessageState]; ok && t != nil {
			if b := t.Bytes(); len(b) == 1 {
				r.Stat = messageState(b[0])
			}
		}
	}
	return &r
}

// SAR TLVs (SMPP 3.4 §5.3.2.22-24): the concatenation of a message sent as
// several deliver_sm without a UDH.
const (
	tagSARMsgRefNum     = pdutlv.Tag(0x020C)
	tagSARTotalSegments = pdutlv.Tag(0x020E)
	tagSARSegmentSeqnum = pdutlv.Tag(0x020F)
)

// sarOf returns the concatenation the SAR TLVs describe, nil without them
// or for a message of one part.
func sarOf(p pdu.Body) *Concat {
	tlv := p.TLVFields()
	get := func(t pdutlv.Tag) ([]byte, bool) {
		f, ok := tlv[t]
		if !ok || f == nil {
			return nil, false
		}
		return f.Bytes(), true
	}
	ref, ok1 := get(tagSARMsgRefNum)
	tot, ok2 := get(tagSARTotalSegments)
	seq, ok3 := get(tagSARSegmentSeqnum)
	if !ok1 || !ok2 || !ok3 || len(ref) != 2 || len(tot) != 1 || len(seq) != 1 {
		return nil
	}
	c := &Concat{Ref: uint16(ref[0])<<8 | uint16(ref[1]), Total: int(tot[0]), Seq: int(seq[0])}
	if c.Total < 2 || c.Seq < 1 || c.Seq > c.Total {
		return nil
	}
	return c
}
