package smpp

import (
	"bytes"
	"strings"

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
func (l *Link) parseDeliver(p *frame.DeliverSM) *Deliver {
	d := &Deliver{
		Link:      l.opts.Name,
		Source:    p.Source,
		Dest:      p.Dest,
		SourceTON: p.SourceTON,
		DestTON:   p.DestTON,
		Country:   l.opts.Country,
		Coding:    p.DataCoding,
		ESMClass:  p.ESMClass,
	}
	body := p.Message()
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
func receiptOf(p *frame.DeliverSM, text string) *Receipt {
	r, err := ParseReceipt(text)
	if err != nil {
		r = Receipt{Text: text}
	}
	if r.ID == "" {
		if v, ok := p.TLV(tagReceiptedMessageID); ok {
			r.ID = string(bytes.TrimSuffix(v, []byte{0}))
		}
	}
	if r.Stat == "" {
		if v, ok := p.TLV(tagMessageState); ok && len(v) == 1 {
			r.Stat = messageState(v[0])
		}
	}
	return &r
}

// SAR TLVs (SMPP 3.4 §5.3.2.22-24): the concatenation of a message sent as
// several deliver_sm without a UDH.
const (
	tagSARMsgRefNum     = 0x020C
	tagSARTotalSegments = 0x020E
	tagSARSegmentSeqnum = 0x020F
)

// sarOf returns the concatenation the SAR TLVs describe, nil without them
// or for a message of one part.
func sarOf(p *frame.DeliverSM) *Concat {
	get := p.TLV
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
