package accounts

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	for _, bad := range []string{"Sales\x1b[2J", "Sales\r\nFAKE LINE", "a\x00b", "evil\u202Etxt.exe", "x\u2066y"} {
		err := CheckName("name", bad)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "name: control character") {
			t.Errorf("CheckName(%q) = %v, want a refusal naming the field", bad, err)
		}
	}
	for _, ok := range []string{"Sales", "Zoë & Co — Ltd", "営業部", "Tab-free name"} {
		if err := CheckName("name", ok); err != nil {
			t.Errorf("CheckName(%q) = %v", ok, err)
		}
	}
	a := Account{Name: "Sales\x1b]0;pwned\x07"}
	if err := NormalizeAccount(&a); !errors.Is(err, ErrInvalid) {
		t.Fatalf("account name with ESC: %v", err)
	}
}
