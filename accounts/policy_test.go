package accounts

import (
	"errors"
	"net/netip"
	"testing"
)

func TestParseNetworks(t *testing.T) {
	got, err := ParseNetworks([]string{" 192.0.2.7 ", "198.51.100.77/24", "2001:db8::1/48", "198.51.100.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"192.0.2.7/32", "198.51.100.0/24", "2001:db8::/48"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	for _, bad := range [][]string{{"10.0.0.0/7"}, {"2001::/16"}, {"::ffff:10.0.0.0/104"}, {"fe80::1%eth0"}, {"10.0.0.300"}, {""}} {
		if _, err := ParseNetworks(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseNetworks(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestPolicyAllowsAddr(t *testing.T) {
	p := SenderPolicy{Networks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")}}
	for addr, want := range map[string]bool{
		"192.0.2.200": true, "::ffff:192.0.2.1": true, "192.0.3.1": false, "2001:db8:5::1": true, "2001:db9::1": false,
	} {
		if got := p.AllowsAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("AllowsAddr(%s) = %v, want %v", addr, got, want)
		}
	}
	if (SenderPolicy{}).AllowsAddr(netip.MustParseAddr("127.0.0.1")) {
		t.Error("an empty policy allows loopback")
	}
}

func TestPolicyRoundTrip(t *testing.T) {
	p := SenderPolicy{Networks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, DKIM: true}
	back, err := UnmarshalPolicy(MarshalPolicy(p))
	if err != nil || back == nil || back.DKIM != true || back.SPF || back.Networks[0] != p.Networks[0] {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	if none, err := UnmarshalPolicy(""); none != nil || err != nil {
		t.Fatalf("empty: %v, %v", none, err)
	}
	if _, err := UnmarshalPolicy("{"); err == nil {
		t.Fatal("corrupt policy decoded")
	}
}
