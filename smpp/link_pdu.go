package smpp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"

	"github.com/smsgate/smsgate/phone"
	"github.com/smsgate/smsgate/smpp/frame"
)

// SMPP 3.4 command_status values the link sends or acts on (§5.1.3).
const (
	statusOK        = 0x00000000
	statusInvCmdID  = 0x00000003 // ESME_RINVCMDID
	statusSysErr    = 0x00000008 // ESME_RSYSERR
	statusRxTAppn   = 0x00000064 // ESME_RX_T_APPN: temporary, redeliver
	tagMessageState = pdutlv.Tag(0x0427)
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
	// Over 254 octets: short_message empty, all in message_payload (§5.3.2.32).
	if err := frame.SetShortMessage(p, sm); err != nil {
		return nil, fmt.Errorf("submit_sm %w", err)
	}
	return p, nil
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
