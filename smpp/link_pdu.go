package smpp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"

	"github.com/smsgate/smsgate/phone"
	"github.com/smsgate/smsgate/smpp/frame"
)

// SMPP 3.4 command_status values the link sends or acts on (§5.1.3).
const (
	statusOK       = 0x00000000
	statusInvCmdID = 0x00000003 // ESME_RINVCMDID
	statusSysErr   = 0x00000008 // ESME_RSYSERR
	statusRxTAppn  = 0x00000064 // ESME_RX_T_APPN: temporary, redeliver
	// TLV tags the link reads (§5.3.2.35, §5.3.2.12).
	tagMessageState       = 0x0427
	tagReceiptedMessageID = 0x001E
)

// addrTON returns TON and NPI for an address: alphanumeric sender ids are
// TON 5 (alphanumeric) NPI 0, numbers TON 1 (international) NPI 1 (E.164).
func addrTON(addr string) (ton, npi uint8) {
	switch {
	case addr == "":
		return 0, 0
	case phone.IsDigits(addr):
		return 1, 1
	default:
		return 5, 0
	}
}

// encodeSubmit returns the submit_sm fields for r (SMPP 3.4 §4.4.1),
// encoded by frame.AppendSubmitSM without a map, a registered-delivery
// request when r asks for one: over 254 octets the text goes in
// message_payload (§5.3.2.32).
func encodeSubmit(r *SubmitRequest) (*frame.SubmitSM, error) {
	src := strings.TrimPrefix(r.Source, "+")
	dst := strings.TrimPrefix(r.Dest, "+")
	if dst == "" {
		return nil, errors.New("submit_sm: empty destination")
	}
	sm := r.Payload
	if len(r.UDH) > 0 {
		sm = make([]byte, 0, len(r.UDH)+len(r.Payload))
		sm = append(append(sm, r.UDH...), r.Payload...)
	}
	s := &frame.SubmitSM{Source: src, DestTON: 1, DestNPI: 1, Dest: dst, DataCoding: r.Coding, Message: sm}
	s.SourceTON, s.SourceNPI = addrTON(src)
	if r.UDH != nil {
		s.ESMClass = 0x40 // UDHI, §5.2.12
	}
	if r.RegisteredDelivery {
		s.RegisteredDelivery = 0x01
	}
	return s, nil
}

// encodeBind builds a bind_transceiver (SMPP 3.4 §4.1.5).
func encodeBind(kind pdu.ID, systemID, password, systemType string) (pdu.Body, error) {
	var p pdu.Body
	switch kind {
	case pdu.BindTransmitterID:
		p = pdu.NewBindTransmitter()
	case pdu.BindReceiverID:
		p = pdu.NewBindReceiver()
	default:
		p = pdu.NewBindTransceiver()
	}
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
