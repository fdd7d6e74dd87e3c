package smpp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"
)

// SMPP 3.4 command_status values the link sends or acts on (§5.1.3).
const (
	statusOK        = 0x00000000
	statusInvCmdID  = 0x00000003 // ESME_RINVCMDID
	statusSysErr    = 0x00000008 // ESME_RSYSERR
	statusRxTAppn   = 0x00000064 // ESME_RX_T_APPN: temporary, redeliver
	maxShortMessage = 254        // SMPP 3.4 §5.2.22; longer goes in message_payload
	tagMessageState = pdutlv.Tag(0x0427)
)

// readFrame reads one whole PDU (header and body) from r. Reading the body
// in full keeps the stream in step even when fiorix cannot decode the PDU.
func readFrame(r io.Reader) ([]byte, error) {
	var hdr [pdu.HeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[0:4])
	if n < pdu.HeaderLen || n > 64*1024 {
		return nil, fmt.Errorf("pdu length %d out of range", n)
	}
	b := make([]byte, n)
	copy(b, hdr[:])
	if _, err := io.ReadFull(r, b[pdu.HeaderLen:]); err != nil {
		return nil, err
	}
	return b, nil
}

// frameHeader returns the command id, status and sequence number of a frame.
func frameHeader(b []byte) (id pdu.ID, status uint32, seq uint32) {
	return pdu.ID(binary.BigEndian.Uint32(b[4:8])), binary.BigEndian.Uint32(b[8:12]), binary.BigEndian.Uint32(b[12:16])
}

// decodeFrame decodes a frame with fiorix. A deliver_sm is decoded with the
// submit_sm field list (the mandatory fields are the same, SMPP 3.4 §4.6.1
// and §4.4.1): fiorix's deliver_sm list splits the UDH off into its own
// fields and re-adds a NUL to it, while we want short_message as sent.
func decodeFrame(b []byte) (pdu.Body, error) {
	id, _, _ := frameHeader(b)
	if id == pdu.DeliverSMID {
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

// serialize encodes p with sequence number seq.
func serialize(p pdu.Body, seq uint32) ([]byte, error) {
	p.Header().Seq = seq
	var buf bytes.Buffer
	if err := p.SerializeTo(&buf); err != nil {
		return nil, fmt.Errorf("encode %s: %w", p.Header().ID, err)
	}
	return buf.Bytes(), nil
}

// emptyPDU returns a header-only PDU (responses, enquire_link, unbind, nack).
func emptyPDU(id pdu.ID, status, seq uint32) []byte {
	b := make([]byte, pdu.HeaderLen)
	binary.BigEndian.PutUint32(b[0:4], pdu.HeaderLen)
	binary.BigEndian.PutUint32(b[4:8], uint32(id))
	binary.BigEndian.PutUint32(b[8:12], status)
	binary.BigEndian.PutUint32(b[12:16], seq)
	return b
}

// messageIDResp returns a submit_sm_resp or deliver_sm_resp (§4.4.2, §4.6.2).
func messageIDResp(id pdu.ID, status, seq uint32, msgID string) []byte {
	b := emptyPDU(id, status, seq)
	b = append(b, msgID...)
	b = append(b, 0)
	binary.BigEndian.PutUint32(b[0:4], uint32(len(b)))
	return b
}

// addrTON returns TON and NPI for an address: alphanumeric sender ids are
// TON 5 (alphanumeric) NPI 0, numbers TON 1 (international) NPI 1 (E.164).
func addrTON(addr string) (ton, npi uint8) {
	if addr == "" {
		return 0, 0
	}
	for _, c := range addr {
		if c < '0' || c > '9' {
			return 5, 0
		}
	}
	return 1, 1
}

// encodeSubmit builds the submit_sm for r (SMPP 3.4 §4.4.1), without a
// sequence number.
func encodeSubmit(r *SubmitRequest) (pdu.Body, error) {
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
	if len(sm) > maxShortMessage {
		// §5.3.2.32: short_message empty, the whole thing in message_payload.
		if err := p.TLVFields().Set(pdutlv.TagMessagePayload, sm); err != nil {
			return nil, fmt.Errorf("submit_sm message_payload: %w", err)
		}
		sm = []byte{}
	}
	if err := f.Set(pdufield.ShortMessage, sm); err != nil {
		return nil, fmt.Errorf("submit_sm short_message: %w", err)
	}
	return p, nil
}

// encodeBind builds a bind_transceiver (SMPP 3.4 §4.1.5).
func encodeBind(systemID, password, systemType string) (pdu.Body, error) {
	p := pdu.NewBindTransceiver()
	f := p.Fields()
	for k, v := range map[pdufield.Name]any{
		pdufield.SystemID: systemID, pdufield.Password: password, pdufield.SystemType: systemType,
		pdufield.InterfaceVersion: uint8(0x34),
	} {
		if err := f.Set(k, v); err != nil {
			return nil, fmt.Errorf("bind field %s: %w", k, err)
		}
	}
	return p, nil
}

// fieldString returns a decoded field as a string ("" when absent).
func fieldString(p pdu.Body, k pdufield.Name) string {
	if v, ok := p.Fields()[k]; ok && v != nil {
		return v.String()
	}
	return ""
}

// fieldByte returns a decoded one-byte field (0 when absent).
func fieldByte(p pdu.Body, k pdufield.Name) uint8 {
	if v, ok := p.Fields()[k].(*pdufield.Fixed); ok {
		return v.Data
	}
	return 0
}

// shortMessage returns short_message, or message_payload when that is set.
func shortMessage(p pdu.Body) []byte {
	if t, ok := p.TLVFields()[pdutlv.TagMessagePayload]; ok && t != nil {
		return t.Bytes()
	}
	if v, ok := p.Fields()[pdufield.ShortMessage]; ok && v != nil {
		return v.Bytes()
	}
	return nil
}
