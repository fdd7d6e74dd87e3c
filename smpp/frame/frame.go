// Package frame reads and writes SMPP 3.4 PDU frames over fiorix's pdu
// codec. It is shared by the carrier link (package smpp) and the SMSC
// simulator (package smpp/smsctest), so both ends frame PDUs the same way.
//
// A frame is one whole PDU as it travels on the wire (SMPP 3.4 §2.2): the
// 16-octet header of command_length, command_id, command_status and
// sequence_number, each a 4-octet big-endian Integer (§3.1, §3.2.1), then
// the body. command_length counts the whole frame, header included.
//
// Read never returns a partial frame, and always consumes the whole body
// of a frame it accepts, so a stream stays in step even when fiorix cannot
// decode a PDU. Functions taking a frame assume one that Read returned or
// that this package built: at least HeaderLen octets. Field accessors
// (String, Byte, ShortMessage) return zero values for absent fields rather
// than errors, because a peer may omit or garble optional content.
package frame

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"
)

const (
	// HeaderLen is the length of the PDU header (SMPP 3.4 §3.2.1).
	HeaderLen = pdu.HeaderLen
	// MaxLen is the largest command_length Read accepts. SMPP 3.4 sets no
	// limit; 64 KiB bounds what a peer can make us allocate.
	MaxLen = 64 * 1024
	// MaxShortMessage is the longest short_message (SMPP 3.4 §5.2.22);
	// longer content goes in message_payload (§5.3.2.32).
	MaxShortMessage = 254
)

// Read reads one whole frame (header and body) from r. It returns an error,
// and no frame, when command_length is below HeaderLen or above MaxLen or r
// ends early. Reading the body in full keeps the stream in step even when
// fiorix cannot decode the PDU.
func Read(r io.Reader) ([]byte, error) {
	if br, ok := r.(*bufio.Reader); ok {
		return readBuffered(br)
	}
	var hdr [HeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[0:4])
	if n < HeaderLen || n > MaxLen {
		return nil, fmt.Errorf("pdu length %d out of range", n)
	}
	b := make([]byte, n)
	copy(b, hdr[:])
	if _, err := io.ReadFull(r, b[HeaderLen:]); err != nil {
		return nil, err
	}
	return b, nil
}

// readBuffered is Read from a buffered reader: the header is looked at in
// the buffer (one allocation a frame, the frame's own).
func readBuffered(br *bufio.Reader) ([]byte, error) {
	hdr, err := br.Peek(HeaderLen)
	if err != nil {
		if err == io.EOF && len(hdr) > 0 { //nolint:errorlint // bufio returns io.EOF unwrapped
			err = io.ErrUnexpectedEOF // as io.ReadFull reports a partial header
		}
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[0:4])
	if n < HeaderLen || n > MaxLen {
		return nil, fmt.Errorf("pdu length %d out of range", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		return nil, err
	}
	return b, nil
}

// Header returns the command_id, command_status and sequence_number of a
// frame (SMPP 3.4 §3.2.1). b must be at least HeaderLen octets.
func Header(b []byte) (id pdu.ID, status, seq uint32) {
	return pdu.ID(binary.BigEndian.Uint32(b[4:8])), binary.BigEndian.Uint32(b[8:12]), binary.BigEndian.Uint32(b[12:16])
}

// Decode decodes a frame with fiorix. A deliver_sm is decoded with the
// submit_sm field list (the mandatory fields are the same, SMPP 3.4 §4.6.1
// and §4.4.1): fiorix's deliver_sm list splits the UDH off into its own
// fields and re-adds a NUL to it, while callers want short_message as sent.
// The returned body keeps the submit_sm command_id in that case. b itself
// is never modified.
func Decode(b []byte) (pdu.Body, error) {
	if id, _, _ := Header(b); id == pdu.DeliverSMID {
		c := bytes.Clone(b)
		binary.BigEndian.PutUint32(c[4:8], uint32(pdu.SubmitSMID))
		b = c
	}
	p, err := pdu.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("pdu not implemented")
	}
	return p, nil
}

// Serialize encodes p as a frame with sequence number seq, which it also
// sets in p's header.
func Serialize(p pdu.Body, seq uint32) ([]byte, error) {
	p.Header().Seq = seq
	var buf bytes.Buffer
	if err := p.SerializeTo(&buf); err != nil {
		return nil, fmt.Errorf("encode %s: %w", p.Header().ID, err)
	}
	return buf.Bytes(), nil
}

// Empty returns a header-only frame: unbind, generic_nack, enquire_link
// and most responses (SMPP 3.4 §4.2, §4.3, §4.11).
func Empty(id pdu.ID, status, seq uint32) []byte {
	b := make([]byte, HeaderLen)
	binary.BigEndian.PutUint32(b[0:4], HeaderLen)
	binary.BigEndian.PutUint32(b[4:8], uint32(id))
	binary.BigEndian.PutUint32(b[8:12], status)
	binary.BigEndian.PutUint32(b[12:16], seq)
	return b
}

// MessageIDResp returns a response whose body is one C-Octet String s:
// submit_sm_resp and deliver_sm_resp message_id (SMPP 3.4 §4.4.2, §4.6.2)
// or bind_*_resp system_id (§4.1.2).
func MessageIDResp(id pdu.ID, status, seq uint32, s string) []byte {
	b := append(append(Empty(id, status, seq), s...), 0)
	binary.BigEndian.PutUint32(b[0:4], uint32(len(b)))
	return b
}

// String returns a decoded field as a string ("" when absent).
func String(p pdu.Body, k pdufield.Name) string {
	if v, ok := p.Fields()[k]; ok && v != nil {
		return v.String()
	}
	return ""
}

// Byte returns a decoded one-octet field (0 when absent or not one octet).
func Byte(p pdu.Body, k pdufield.Name) uint8 {
	if v, ok := p.Fields()[k].(*pdufield.Fixed); ok {
		return v.Data
	}
	return 0
}

// ShortMessage returns the message_payload TLV when it is set, else
// short_message (SMPP 3.4 §5.3.2.32: a PDU carries one or the other), or
// nil when there is neither.
func ShortMessage(p pdu.Body) []byte {
	if t, ok := p.TLVFields()[pdutlv.TagMessagePayload]; ok && t != nil {
		return t.Bytes()
	}
	if v, ok := p.Fields()[pdufield.ShortMessage]; ok && v != nil {
		return v.Bytes()
	}
	return nil
}

// SetShortMessage sets sm as p's short_message, or, when it is longer than
// MaxShortMessage, as the message_payload TLV with an empty short_message
// (SMPP 3.4 §5.3.2.32). It is the inverse of ShortMessage.
func SetShortMessage(p pdu.Body, sm []byte) error {
	if len(sm) > MaxShortMessage {
		if err := p.TLVFields().Set(pdutlv.TagMessagePayload, sm); err != nil {
			return fmt.Errorf("message_payload: %w", err)
		}
		sm = []byte{}
	}
	if err := p.Fields().Set(pdufield.ShortMessage, sm); err != nil {
		return fmt.Errorf("short_message: %w", err)
	}
	return nil
}

// SubmitSM holds the submit_sm fields (SMPP 3.4 §4.4.1) a gateway sets;
// the others go out empty or zero: service_type, protocol_id,
// priority_flag, schedule_delivery_time, validity_period,
// replace_if_present_flag and sm_default_msg_id.
type SubmitSM struct {
	SourceTON, SourceNPI uint8
	Source               string
	DestTON, DestNPI     uint8
	Dest                 string
	ESMClass             uint8
	RegisteredDelivery   uint8
	DataCoding           uint8
	// Message is the short_message, or, when longer than MaxShortMessage,
	// the message_payload TLV with an empty short_message (§5.3.2.32).
	Message []byte
}

// tagMessagePayload is the message_payload TLV's tag (SMPP 3.4 §5.3.2.32).
const tagMessagePayload = 0x0424

// AppendSubmitSM appends the frame of s with sequence number seq to dst
// and returns it: written octet by octet in the order of §4.4.1, with no
// map and one allocation at most (when dst is too small).
func AppendSubmitSM(dst []byte, s *SubmitSM, seq uint32) []byte {
	sm, payload := s.Message, []byte(nil)
	if len(sm) > MaxShortMessage {
		sm, payload = nil, s.Message
	}
	n := HeaderLen + 1 + 2 + len(s.Source) + 1 + 2 + len(s.Dest) + 1 + 3 + 1 + 1 + 4 + 1 + len(sm)
	if payload != nil {
		n += 4 + len(payload)
	}
	dst = slices.Grow(dst, n)
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = binary.BigEndian.AppendUint32(dst, uint32(pdu.SubmitSMID))
	dst = binary.BigEndian.AppendUint32(dst, 0)
	dst = binary.BigEndian.AppendUint32(dst, seq)
	dst = append(dst, 0) // service_type ""
	dst = append(dst, s.SourceTON, s.SourceNPI)
	dst = append(append(dst, s.Source...), 0)
	dst = append(dst, s.DestTON, s.DestNPI)
	dst = append(append(dst, s.Dest...), 0)
	dst = append(dst, s.ESMClass, 0, 0) // esm_class, protocol_id, priority_flag
	dst = append(dst, 0, 0)             // schedule_delivery_time "", validity_period ""
	dst = append(dst, s.RegisteredDelivery, 0, s.DataCoding, 0, uint8(len(sm)))
	dst = append(dst, sm...)
	if payload != nil {
		dst = binary.BigEndian.AppendUint16(dst, tagMessagePayload)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(payload)))
		dst = append(dst, payload...)
	}
	if len(dst)-start != n {
		panic(fmt.Sprintf("frame: submit_sm length %d, counted %d", len(dst)-start, n))
	}
	return dst
}

// DeliverSM is a decoded deliver_sm (SMPP 3.4 §4.6.1): its mandatory fields
// in order and its TLVs as they came. Byte slices alias the frame.
type DeliverSM struct {
	ServiceType          string
	SourceTON, SourceNPI uint8
	Source               string
	DestTON, DestNPI     uint8
	Dest                 string
	ESMClass             uint8
	ProtocolID           uint8
	PriorityFlag         uint8
	ScheduleDeliveryTime string
	ValidityPeriod       string
	RegisteredDelivery   uint8
	ReplaceIfPresent     uint8
	DataCoding           uint8
	SMDefaultMsgID       uint8
	ShortMessage         []byte
	TLVs                 []TLV
}

// TLV is one optional parameter (SMPP 3.4 §3.2.4.1).
type TLV struct {
	Tag   uint16
	Value []byte
}

// TLV returns the value of the TLV with tag (the last one, should a peer
// send it twice).
func (d *DeliverSM) TLV(tag uint16) ([]byte, bool) {
	for i := len(d.TLVs) - 1; i >= 0; i-- {
		if d.TLVs[i].Tag == tag {
			return d.TLVs[i].Value, true
		}
	}
	return nil, false
}

// Message returns the message_payload TLV when it is set, else the
// short_message (§5.3.2.32: a PDU carries one or the other).
func (d *DeliverSM) Message() []byte {
	if v, ok := d.TLV(tagMessagePayload); ok {
		return v
	}
	return d.ShortMessage
}

// ErrTruncated is a PDU whose body ends inside a field or TLV.
var ErrTruncated = errors.New("truncated PDU body")

// ParseDeliverSM decodes the body of a deliver_sm frame (or of any PDU laid
// out the same way, submit_sm, §4.4.1), with no map: mandatory fields in
// order, then TLVs to the end. A body that ends before its short_message
// leaves the fields after the end at zero, as peers that omit trailing empty
// fields expect; a short_message or a TLV cut short is ErrTruncated.
func ParseDeliverSM(f []byte) (*DeliverSM, error) {
	b := f[HeaderLen:]
	d := &DeliverSM{}
	cstr := func(dst *string) bool {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			b = nil
			return false
		}
		*dst, b = string(b[:i]), b[i+1:]
		return true
	}
	octet := func(dst *uint8) bool {
		if len(b) == 0 {
			return false
		}
		*dst, b = b[0], b[1:]
		return true
	}
	var smLen uint8
	ok := cstr(&d.ServiceType) && octet(&d.SourceTON) && octet(&d.SourceNPI) && cstr(&d.Source) &&
		octet(&d.DestTON) && octet(&d.DestNPI) && cstr(&d.Dest) &&
		octet(&d.ESMClass) && octet(&d.ProtocolID) && octet(&d.PriorityFlag) &&
		cstr(&d.ScheduleDeliveryTime) && cstr(&d.ValidityPeriod) &&
		octet(&d.RegisteredDelivery) && octet(&d.ReplaceIfPresent) && octet(&d.DataCoding) &&
		octet(&d.SMDefaultMsgID) && octet(&smLen)
	if !ok {
		return d, nil
	}
	if len(b) < int(smLen) {
		return nil, fmt.Errorf("short_message of %d octets, %d left: %w", smLen, len(b), ErrTruncated)
	}
	d.ShortMessage, b = b[:smLen], b[smLen:]
	for len(b) >= 4 {
		tag, n := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		if len(b)-4 < n {
			return nil, fmt.Errorf("TLV 0x%04x of %d octets, %d left: %w", tag, n, len(b)-4, ErrTruncated)
		}
		d.TLVs = append(d.TLVs, TLV{Tag: tag, Value: b[4 : 4+n]})
		b = b[4+n:]
	}
	return d, nil
}
