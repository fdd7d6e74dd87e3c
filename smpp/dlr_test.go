package smpp

import (
	"slices"
	"testing"
	"time"
)

func TestParseReceipt(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse("2006-01-02 15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name    string
		text    string
		want    Receipt
		wantErr bool
	}{
		{
			name: "appendix b",
			text: "id:1234567890 sub:001 dlvrd:001 submit date:2401311205 done date:2401311206 stat:DELIVRD err:000 text:Hello there",
			want: Receipt{ID: "1234567890", Sub: 1, Dlvrd: 1, Submit: at("2024-01-31 12:05:00"),
				Done: at("2024-01-31 12:06:00"), Stat: "DELIVRD", Err: "000", Text: "Hello there"},
		},
		{
			name: "hex id, seconds, capital Text",
			text: "id:0A1B2C3D sub:001 dlvrd:000 submit date:240131120501 done date:240131120659 stat:UNDELIV err:034 Text:Hi",
			want: Receipt{ID: "0A1B2C3D", Sub: 1, Submit: at("2024-01-31 12:05:01"),
				Done: at("2024-01-31 12:06:59"), Stat: "UNDELIV", Err: "034", Text: "Hi"},
		},
		{
			name: "lower-case stat and keys, no text",
			text: "ID:98765 SUB:1 DLVRD:1 SUBMIT DATE:2401311205 DONE DATE:2401311206 STAT:delivrd ERR:0",
			want: Receipt{ID: "98765", Sub: 1, Dlvrd: 1, Submit: at("2024-01-31 12:05:00"),
				Done: at("2024-01-31 12:06:00"), Stat: "DELIVRD", Err: "0"},
		},
		{
			name: "underscore dates, other order",
			text: "stat:EXPIRED id:c449ab97-44f4 done_date:2401311206 submit_date:2401311205 err:000",
			want: Receipt{ID: "c449ab97-44f4", Submit: at("2024-01-31 12:05:00"),
				Done: at("2024-01-31 12:06:00"), Stat: "EXPIRED", Err: "000"},
		},
		{
			name: "minimal",
			text: "id:7 stat:REJECTD",
			want: Receipt{ID: "7", Stat: "REJECTD"},
		},
		{
			name: "text containing keys kept",
			text: "id:42 sub:001 dlvrd:001 stat:DELIVRD err:000 text:my id:99 stat:X",
			want: Receipt{ID: "42", Sub: 1, Dlvrd: 1, Stat: "DELIVRD", Err: "000", Text: "my id:99 stat:X"},
		},
		{
			name: "first of a repeated key wins",
			text: "id:1 stat:DELIVRD id:2 stat:UNDELIV err:1 err:2",
			want: Receipt{ID: "1", Stat: "DELIVRD", Err: "1"},
		},
		{
			name: "text before stat",
			text: "id:42 text:hello stat:ENROUTE",
			want: Receipt{ID: "42", Stat: "ENROUTE", Text: "hello"},
		},
		{
			name: "bad date is zero",
			text: "id:42 submit date:24013 done date:2413311299 stat:DELIVRD",
			want: Receipt{ID: "42", Stat: "DELIVRD"},
		},
		{
			name:    "key glued to word is not a key",
			text:    "id:42 xstat:DELIVRD",
			wantErr: true,
		},
		{name: "missing id", text: "sub:001 stat:DELIVRD", wantErr: true},
		{name: "missing stat", text: "id:1 sub:001", wantErr: true},
		{name: "empty", text: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseReceipt(tt.text)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestFormatReceipt(t *testing.T) {
	r := Receipt{ID: "abc123", Sub: 1, Dlvrd: 1,
		Submit: time.Date(2024, 1, 31, 12, 5, 0, 0, time.UTC),
		Done:   time.Date(2024, 1, 31, 12, 6, 0, 0, time.UTC),
		Stat:   "DELIVRD", Err: "000", Text: "Hello"}
	got := FormatReceipt(r)
	want := "id:abc123 sub:001 dlvrd:001 submit date:2401311205 done date:2401311206 stat:DELIVRD err:000 text:Hello"
	if got != want {
		t.Fatalf("FormatReceipt = %q\nwant %q", got, want)
	}
	back, err := ParseReceipt(got)
	if err != nil || back != r {
		t.Errorf("round trip = %+v, %v", back, err)
	}
	r.Err = ""
	if back, _ := ParseReceipt(FormatReceipt(r)); back.Err != "000" {
		t.Errorf("empty err formatted as %q, want 000", back.Err)
	}
}

func TestStatFinal(t *testing.T) {
	tests := []struct {
		stat   string
		status string
		final  bool
	}{
		{"DELIVRD", "delivered", true},
		{"delivrd", "delivered", true},
		{"UNDELIV", "undeliverable", true},
		{"EXPIRED", "expired", true},
		{"REJECTD", "rejected", true},
		{"DELETED", "failed", true},
		{"UNKNOWN", "undeliverable", true},
		{"ENROUTE", "", false},
		{"ACCEPTD", "", false},
		{"", "", false},
		{"BOGUS", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.stat, func(t *testing.T) {
			status, final := StatFinal(tt.stat)
			if status != tt.status || final != tt.final {
				t.Errorf("StatFinal(%q) = %q, %v; want %q, %v", tt.stat, status, final, tt.status, tt.final)
			}
		})
	}
}

func TestIDVariants(t *testing.T) {
	tests := []struct {
		id        string
		want      []string
		canonical string
	}{
		{"0A1B", []string{"a1b", "2587"}, "a1b"},
		{"12345", []string{"12345", "74565", "3039"}, "12345"},
		{"000", []string{"0"}, "0"},
		{"9", []string{"9"}, "9"},
		{" 00Ff ", []string{"ff", "255"}, "ff"},
		{"c449ab97-44f4", []string{"c449ab97-44f4"}, "c449ab97-44f4"},
		{"FFFFFFFFFFFFFFFF", []string{"ffffffffffffffff", "18446744073709551615"}, "ffffffffffffffff"},
		{"1FFFFFFFFFFFFFFFF", []string{"1ffffffffffffffff"}, "1ffffffffffffffff"},
		{"", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if got := IDVariants(tt.id); !slices.Equal(got, tt.want) {
				t.Errorf("IDVariants(%q) = %q, want %q", tt.id, got, tt.want)
			}
			if got := CanonicalID(tt.id); got != tt.canonical {
				t.Errorf("CanonicalID(%q) = %q, want %q", tt.id, got, tt.canonical)
			}
		})
	}
}

// TestIDVariantsMatchReceipt checks the purpose: an id indexed from
// submit_sm_resp is found by CanonicalID of the receipt's id, whatever base
// and case the SMSC uses in each.
func TestIDVariantsMatchReceipt(t *testing.T) {
	tests := []struct{ name, submitID, receiptID string }{
		{"hex then decimal", "0A1B", "2587"},
		{"decimal then hex", "12345", "3039"},
		{"decimal then padded hex", "12345", "00003039"},
		{"hex case", "abcdef", "ABCDEF"},
		{"same", "msg-1", "msg-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !slices.Contains(IDVariants(tt.submitID), CanonicalID(tt.receiptID)) {
				t.Errorf("%q not found under %q", tt.receiptID, IDVariants(tt.submitID))
			}
		})
	}
}
