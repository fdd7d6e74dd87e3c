package messages

import (
	"testing"
	"time"
)

// An SMSC-id index value carries the message's account and creation time
// when the submit knew them (then a receipt needs no read of the message);
// values of earlier releases and partial ones name the message only.
func TestParseSMSCRef(t *testing.T) {
	at := time.UnixMilli(1765000000123)
	for _, c := range []struct {
		in   string
		want indexRef
	}{
		{smscRef("m0-abc", "a0-x", at), indexRef{"m0-abc", "a0-x", "1765000000123"}},
		{smscRef("m0-abc", "", at), indexRef{mid: "m0-abc"}},
		{"m0-abc", indexRef{mid: "m0-abc"}},
		{"m0-abc a0-x", indexRef{mid: "m0-abc"}},
		{"m0-abc  1765000000123", indexRef{mid: "m0-abc"}},
	} {
		if got := parseSMSCRef(c.in); got != c.want {
			t.Errorf("parseSMSCRef(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}
