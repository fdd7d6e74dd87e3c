package smpp

import (
	"errors"
	"fmt"
	"testing"
)

func TestStatusError(t *testing.T) {
	tests := []struct {
		status    uint32
		name      string
		temporary bool
	}{
		{0x58, "ESME_RTHROTTLED", true},
		{0x14, "ESME_RMSGQFUL", true},
		{0x08, "ESME_RSYSERR", true},
		{0x45, "ESME_RSUBMITFAIL", true},
		{0x04, "ESME_RINVBNDSTS", true},
		{0x0D, "ESME_RBINDFAIL", true},
		{0x64, "ESME_RX_T_APPN", true},
		{0xFF, "ESME_RUNKNOWNERR", true},
		{0x400, "unknown", true},
		{0x09, "unknown", true},
		{0x01, "ESME_RINVMSGLEN", false},
		{0x0A, "ESME_RINVSRCADR", false},
		{0x0B, "ESME_RINVDSTADR", false},
		{0x43, "ESME_RINVESMCLASS", false},
		{0x48, "ESME_RINVSRCTON", false},
		{0x49, "ESME_RINVSRCNPI", false},
		{0x50, "ESME_RINVDSTTON", false},
		{0x51, "ESME_RINVDSTNPI", false},
		{0x62, "ESME_RINVEXPIRY", false},
		{0x66, "ESME_RX_R_APPN", false},
		{0xC0, "ESME_RINVOPTPARSTREAM", false},
		{0xC4, "ESME_RINVOPTPARAMVAL", false},
		{0x104, "ESME_RINVDCS", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%#x", tt.status), func(t *testing.T) {
			e := &StatusError{Status: tt.status}
			if got := StatusName(tt.status); got != tt.name {
				t.Errorf("StatusName = %q, want %q", got, tt.name)
			}
			if got := e.Temporary(); got != tt.temporary {
				t.Errorf("Temporary = %v, want %v", got, tt.temporary)
			}
		})
	}
}

func TestStatusErrorText(t *testing.T) {
	var err error = fmt.Errorf("submit: %w", &StatusError{Status: 0x58})
	if got, want := err.Error(), "submit: smpp status 0x00000058 (ESME_RTHROTTLED)"; got != want {
		t.Errorf("Error = %q, want %q", got, want)
	}
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 0x58 {
		t.Errorf("errors.As did not find the status")
	}
}
