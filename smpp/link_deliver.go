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
		Link:     l.opts.Name,
		Source:   frame.String(p, pdufield.SourceAddr),
		Dest:     frame.String(p, pdufield.DestinationAddr),
		Coding:   frame.Byte(p, pdufield.DataCoding),
		ESMClass: frame.Byte(p, pdufield.ESMClass),
	}
	body := frame.ShortMessage(p)
	if d.ESMClass&0x40 != 0 {
		if udh, rest, _, _, _, ok := ParseUDH(body); ok || len(udh) > 0 {
			d.UDH, body = udh, rest
		}
	}
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
