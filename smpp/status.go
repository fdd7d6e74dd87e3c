package smpp

import "fmt"

// StatusError is a non-zero SMPP command_status in a response.
type StatusError struct {
	Status uint32
}

// Error returns e.g. "smpp status 0x00000058 (ESME_RTHROTTLED)".
func (e *StatusError) Error() string {
	return fmt.Sprintf("smpp status 0x%08X (%s)", e.Status, StatusName(e.Status))
}

// Temporary reports whether a retry may succeed. Throttling, queue full,
// system errors, bind and link states, and any status not in the table are
// temporary; errors in the message itself (length, addresses, TON/NPI,
// esm_class, data coding, optional parameters, ...) are permanent.
func (e *StatusError) Temporary() bool {
	_, permanent, known := statusInfo(e.Status)
	return !known || !permanent
}

// StatusName returns the SMPP name of a command_status, e.g.
// "ESME_RTHROTTLED", or "unknown" for a status not in the table (a bounded
// value, safe as a metric label).
func StatusName(status uint32) string {
	name, _, known := statusInfo(status)
	if !known {
		return "unknown"
	}
	return name
}

// statusInfo is the one table of command_status values (SMPP 3.4 §5.1.3,
// plus the SMPP 5.0 §4.7.6 additions), with the retry class of each:
// permanent means the same PDU will fail again on any link.
func statusInfo(status uint32) (name string, permanent, known bool) {
	switch status {
	case 0x00:
		return "ESME_ROK", false, true
	case 0x01:
		return "ESME_RINVMSGLEN", true, true
	case 0x02:
		return "ESME_RINVCMDLEN", true, true
	case 0x03:
		return "ESME_RINVCMDID", true, true
	case 0x04: // link not bound for this command: rebind and retry
		return "ESME_RINVBNDSTS", false, true
	case 0x05:
		return "ESME_RALYBND", false, true
	case 0x06:
		return "ESME_RINVPRTFLG", true, true
	case 0x07:
		return "ESME_RINVREGDLVFLG", true, true
	case 0x08:
		return "ESME_RSYSERR", false, true
	case 0x0A:
		return "ESME_RINVSRCADR", true, true
	case 0x0B:
		return "ESME_RINVDSTADR", true, true
	case 0x0C:
		return "ESME_RINVMSGID", true, true
	case 0x0D: // bind errors concern the link, not the message
		return "ESME_RBINDFAIL", false, true
	case 0x0E:
		return "ESME_RINVPASWD", false, true
	case 0x0F:
		return "ESME_RINVSYSID", false, true
	case 0x11:
		return "ESME_RCANCELFAIL", true, true
	case 0x13:
		return "ESME_RREPLACEFAIL", true, true
	case 0x14:
		return "ESME_RMSGQFUL", false, true
	case 0x15:
		return "ESME_RINVSERTYP", true, true
	case 0x33:
		return "ESME_RINVNUMDESTS", true, true
	case 0x34:
		return "ESME_RINVDLNAME", true, true
	case 0x40:
		return "ESME_RINVDESTFLAG", true, true
	case 0x42:
		return "ESME_RINVSUBREP", true, true
	case 0x43:
		return "ESME_RINVESMCLASS", true, true
	case 0x44:
		return "ESME_RCNTSUBDL", true, true
	case 0x45:
		return "ESME_RSUBMITFAIL", false, true
	case 0x48:
		return "ESME_RINVSRCTON", true, true
	case 0x49:
		return "ESME_RINVSRCNPI", true, true
	case 0x50:
		return "ESME_RINVDSTTON", true, true
	case 0x51:
		return "ESME_RINVDSTNPI", true, true
	case 0x53:
		return "ESME_RINVSYSTYP", false, true
	case 0x54:
		return "ESME_RINVREPFLAG", true, true
	case 0x55:
		return "ESME_RINVNUMMSGS", true, true
	case 0x58:
		return "ESME_RTHROTTLED", false, true
	case 0x61:
		return "ESME_RINVSCHED", true, true
	case 0x62:
		return "ESME_RINVEXPIRY", true, true
	case 0x63:
		return "ESME_RINVDFTMSGID", true, true
	case 0x64:
		return "ESME_RX_T_APPN", false, true
	case 0x65:
		return "ESME_RX_P_APPN", true, true
	case 0x66:
		return "ESME_RX_R_APPN", true, true
	case 0x67:
		return "ESME_RQUERYFAIL", true, true
	case 0xC0:
		return "ESME_RINVOPTPARSTREAM", true, true
	case 0xC1:
		return "ESME_ROPTPARNOTALLWD", true, true
	case 0xC2:
		return "ESME_RINVPARLEN", true, true
	case 0xC3:
		return "ESME_RMISSINGOPTPARAM", true, true
	case 0xC4:
		return "ESME_RINVOPTPARAMVAL", true, true
	case 0xFE:
		return "ESME_RDELIVERYFAILURE", false, true
	case 0xFF:
		return "ESME_RUNKNOWNERR", false, true
	case 0x100:
		return "ESME_RSERTYPUNAUTH", true, true
	case 0x101:
		return "ESME_RPROHIBITED", true, true
	case 0x102:
		return "ESME_RSERTYPUNAVAIL", false, true
	case 0x103:
		return "ESME_RSERTYPDENIED", true, true
	case 0x104:
		return "ESME_RINVDCS", true, true
	case 0x105:
		return "ESME_RINVSRCADDRSUBUNIT", true, true
	case 0x106:
		return "ESME_RINVDSTADDRSUBUNIT", true, true
	}
	return "", false, false
}
