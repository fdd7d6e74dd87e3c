package router

import "testing"

func TestNormalizeAddr(t *testing.T) {
	for _, tc := range []struct {
		addr    string
		ton     uint8
		country string
		want    string
	}{
		{"+61412349000", 1, "AU", "61412349000"},
		{"+61412349000", 0, "", "61412349000"},
		{"61412349000", 1, "", "61412349000"},
		{"0061412349000", 0, "", "61412349000"},
		{"0061412349000", 1, "", "61412349000"},
		{"0412349000", 2, "AU", "61412349000"},
		{"0412349000", 0, "AU", "61412349000"},
		{"412349000", 2, "AU", "61412349000"},
		{"0412349000", 2, "", "0412349000"},               // no country: as it came
		{"+61480000000", 1, "AU", "61480000000"},          // our number, written with '+'
		{"447911123456", 0, "AU", "447911123456"},         // TON 0, international digits
		{"07911123456", 2, "GB", "447911123456"},          // national in the UK
		{"ACME", 5, "AU", "ACME"},                         // alphanumeric
		{"7666", 0, "AU", "7666"},                         // a short code
		{" +61 412 349 000", 1, "AU", " +61 412 349 000"}, // not digits: unchanged (trimmed below)
	} {
		want := tc.want
		if tc.addr == " +61 412 349 000" {
			want = "+61 412 349 000"
		}
		if got := NormalizeAddr(tc.addr, tc.ton, tc.country); got != want {
			t.Errorf("NormalizeAddr(%q, %d, %q) = %q, want %q", tc.addr, tc.ton, tc.country, got, want)
		}
	}
}
