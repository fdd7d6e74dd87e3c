package frame_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"

	"github.com/smsgate/smsgate/smpp/frame"
)

// withLen returns a header-only frame whose command_length is n, followed
// by body.
func withLen(n uint32, body []byte) []byte {
	b := frame.Empty(pdu.EnquireLinkID, 0, 1)
	binary.BigEndian.PutUint32(b[0:4], n)
	return append(b, body...)
}

// submit builds a submit_sm (or, with id deliver_sm, a deliver_sm in the
// submit_sm layout, as the simulator sends it) carrying sm.
func submit(t testing.TB, id pdu.ID, esm uint8, sm []byte) []byte {
	t.Helper()
	p := pdu.NewSubmitSM(nil)
	p.Header().ID = id
	for k, v := range map[pdufield.Name]any{
		pdufield.SourceAddr: "61412345678", pdufield.DestinationAddr: "Acme",
		pdufield.ESMClass: esm, pdufield.DataCoding: uint8(8),
	} {
		if err := p.Fields().Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := frame.SetShortMessage(p, sm); err != nil {
		t.Fatal(err)
	}
	b, err := frame.Serialize(p, 42)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRead(t *testing.T) {
	ok := frame.MessageIDResp(pdu.SubmitSMRespID, 0, 9, "abc")
	big := withLen(frame.MaxLen, make([]byte, frame.MaxLen-frame.HeaderLen))
	for _, tc := range []struct {
		name    string
		in      []byte
		want    []byte // nil: an error
		wantErr error  // checked with errors.Is when set
		rest    int    // octets left unread after a frame
	}{
		{name: "header only", in: frame.Empty(pdu.EnquireLinkID, 0, 1), want: frame.Empty(pdu.EnquireLinkID, 0, 1)},
		{name: "with body, next frame untouched", in: append(bytes.Clone(ok), ok...), want: ok, rest: len(ok)},
		{name: "max length", in: big, want: big},
		{name: "empty stream", in: nil, wantErr: io.EOF},
		{name: "short header", in: ok[:10], wantErr: io.ErrUnexpectedEOF},
		{name: "length below header", in: withLen(frame.HeaderLen-1, nil)},
		{name: "length zero", in: withLen(0, nil)},
		{name: "length above max", in: withLen(frame.MaxLen+1, nil)},
		{name: "truncated body", in: ok[:len(ok)-1], wantErr: io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bytes.NewReader(tc.in)
			got, err := frame.Read(r)
			if tc.want == nil {
				if err == nil || got != nil {
					t.Fatalf("Read = %x, %v; want nil and an error", got, err)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("Read error %v; want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tc.want) {
				t.Fatalf("Read = %x, %v; want %x", got, err, tc.want)
			}
			if r.Len() != tc.rest {
				t.Fatalf("%d octets left unread; want %d", r.Len(), tc.rest)
			}
		})
	}
}

func TestBuild(t *testing.T) {
	for _, tc := range []struct {
		name        string
		b           []byte
		want        string // hex
		id          pdu.ID
		status, seq uint32
	}{
		{"empty", frame.Empty(pdu.GenericNACKID, 0x03, 7),
			"00000010" + "80000000" + "00000003" + "00000007", pdu.GenericNACKID, 3, 7},
		{"message id", frame.MessageIDResp(pdu.SubmitSMRespID, 0, 0x7FFFFFFF, "AB"),
			"00000013" + "80000004" + "00000000" + "7fffffff" + "414200", pdu.SubmitSMRespID, 0, 0x7FFFFFFF},
		{"empty message id", frame.MessageIDResp(pdu.DeliverSMRespID, 0x64, 1, ""),
			"00000011" + "80000005" + "00000064" + "00000001" + "00", pdu.DeliverSMRespID, 0x64, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hex.EncodeToString(tc.b); got != tc.want {
				t.Fatalf("frame %s; want %s", got, tc.want)
			}
			id, status, seq := frame.Header(tc.b)
			if id != tc.id || status != tc.status || seq != tc.seq {
				t.Fatalf("Header = %v %d %d; want %v %d %d", id, status, seq, tc.id, tc.status, tc.seq)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	udh := []byte{0x05, 0x00, 0x03, 0x01, 0x02, 0x01}
	long := bytes.Repeat([]byte{'x'}, frame.MaxShortMessage+1)
	for _, tc := range []struct {
		name   string
		b      []byte
		sm     []byte // want ShortMessage; nil with err
		err    bool
		esm    uint8
		tlvSet bool // message_payload used
	}{
		{name: "submit_sm", b: submit(t, pdu.SubmitSMID, 0, []byte("hi")), sm: []byte("hi")},
		{name: "deliver_sm keeps udh", b: submit(t, pdu.DeliverSMID, 0x40, append(bytes.Clone(udh), 'h', 'i')),
			sm: append(bytes.Clone(udh), 'h', 'i'), esm: 0x40},
		{name: "254 octets in short_message", b: submit(t, pdu.SubmitSMID, 0, long[1:]), sm: long[1:]},
		{name: "255 octets in message_payload", b: submit(t, pdu.SubmitSMID, 0, long), sm: long, tlvSet: true},
		{name: "empty", b: submit(t, pdu.DeliverSMID, 0x04, nil), sm: nil, esm: 0x04},
		{name: "header only enquire_link", b: frame.Empty(pdu.EnquireLinkID, 0, 1)},
		{name: "unknown command", b: frame.Empty(0x00000077, 0, 1), err: true},
		{name: "not implemented by fiorix", b: frame.Empty(pdu.DataSMID, 0, 1), err: true},
		{name: "truncated body", b: submit(t, pdu.SubmitSMID, 0, []byte("hi"))[:20], err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := bytes.Clone(tc.b)
			p, err := frame.Decode(tc.b)
			if !bytes.Equal(tc.b, orig) {
				t.Fatal("Decode modified its input")
			}
			if tc.err {
				if err == nil || p != nil {
					t.Fatalf("Decode = %v, %v; want an error", p, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := frame.ShortMessage(p); !bytes.Equal(got, tc.sm) && (len(got) != 0 || len(tc.sm) != 0) {
				t.Fatalf("ShortMessage = %q; want %q", got, tc.sm)
			}
			_, hasTLV := p.TLVFields()[pdutlv.TagMessagePayload]
			if hasTLV != tc.tlvSet {
				t.Fatalf("message_payload set = %v; want %v", hasTLV, tc.tlvSet)
			}
			if got := frame.Byte(p, pdufield.ESMClass); got != tc.esm {
				t.Fatalf("Byte(esm_class) = %#x; want %#x", got, tc.esm)
			}
			if id, _, _ := frame.Header(tc.b); id == pdu.SubmitSMID || id == pdu.DeliverSMID {
				if got := frame.String(p, pdufield.DestinationAddr); got != "Acme" {
					t.Fatalf("String(destination_addr) = %q", got)
				}
				if p.Header().Seq != 42 {
					t.Fatalf("seq %d; want 42", p.Header().Seq)
				}
			}
		})
	}
}

func TestFieldsAbsent(t *testing.T) {
	p, err := frame.Decode(frame.Empty(pdu.EnquireLinkID, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if got := frame.String(p, pdufield.SourceAddr); got != "" {
		t.Errorf("String = %q; want empty", got)
	}
	if got := frame.Byte(p, pdufield.DataCoding); got != 0 {
		t.Errorf("Byte = %d; want 0", got)
	}
	if got := frame.ShortMessage(p); got != nil {
		t.Errorf("ShortMessage = %q; want nil", got)
	}
	// A field that is not one octet reads as 0 through Byte.
	sub, err := frame.Decode(submit(t, pdu.SubmitSMID, 0, []byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	if got := frame.Byte(sub, pdufield.SourceAddr); got != 0 {
		t.Errorf("Byte(source_addr) = %d; want 0", got)
	}
}

// FuzzDecode feeds arbitrary octets through Read, Header and Decode: none
// may panic, Read must consume exactly the frame it returns, and a decoded
// PDU must re-encode.
func FuzzDecode(f *testing.F) {
	f.Add(frame.Empty(pdu.EnquireLinkID, 0, 1))
	f.Add(frame.MessageIDResp(pdu.SubmitSMRespID, 0, 2, "1A2B"))
	f.Add(submit(f, pdu.SubmitSMID, 0, []byte("hello")))
	f.Add(submit(f, pdu.DeliverSMID, 0x40, []byte{0x05, 0x00, 0x03, 0x01, 0x02, 0x01, 'h', 'i'}))
	f.Add(submit(f, pdu.DeliverSMID, 0x04, bytes.Repeat([]byte{'x'}, 300)))
	f.Add(withLen(frame.HeaderLen+3, []byte{0, 0, 0}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		fr, err := frame.Read(r)
		if err != nil {
			return
		}
		if len(fr)+r.Len() != len(b) || !bytes.Equal(fr, b[:len(fr)]) {
			t.Fatalf("Read returned %d octets, left %d of %d", len(fr), r.Len(), len(b))
		}
		_, _, seq := frame.Header(fr)
		p, err := frame.Decode(fr)
		if err != nil {
			return
		}
		_ = frame.String(p, pdufield.SourceAddr)
		_ = frame.Byte(p, pdufield.DataCoding)
		_ = frame.ShortMessage(p)
		if _, err := frame.Serialize(p, seq); err != nil {
			t.Logf("re-encode: %v", err) // fiorix may reject what it decoded
		}
	})
}
