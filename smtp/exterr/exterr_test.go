package exterr

import (
	"errors"
	"fmt"
	"testing"
)

func TestNewForcesClass(t *testing.T) {
	tests := []struct {
		name string
		code int
		enh  [3]int
		want [3]int
		temp bool
	}{
		{"temporary keeps 4", 451, [3]int{4, 3, 0}, [3]int{4, 3, 0}, true},
		{"temporary fixes 5", 452, [3]int{5, 5, 3}, [3]int{4, 5, 3}, true},
		{"permanent fixes 4", 550, [3]int{4, 7, 1}, [3]int{5, 7, 1}, false},
		{"permanent keeps 5", 554, [3]int{5, 3, 4}, [3]int{5, 3, 4}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New(tc.code, tc.enh, "r", "m", nil)
			if e.Enhanced != tc.want || e.Temporary() != tc.temp {
				t.Errorf("New(%d, %v) = %v temporary %v, want %v %v", tc.code, tc.enh, e.Enhanced, e.Temporary(), tc.want, tc.temp)
			}
		})
	}
}

func TestWrapping(t *testing.T) {
	sentinel := errors.New("no route")
	cause := fmt.Errorf("****5678: %w", sentinel)
	err := fmt.Errorf("accept: %w", Permanent(554, [3]int{5, 4, 4}, "no_route", cause))
	if !errors.Is(err, sentinel) {
		t.Error("errors.Is does not reach the sentinel through *Error")
	}
	e, ok := As(err)
	if !ok {
		t.Fatal("As found no *Error")
	}
	if e.Code != 554 || e.Message != "****5678: no route" || e.Reason != "no_route" {
		t.Errorf("got %d %q %q", e.Code, e.Message, e.Reason)
	}
	if got, want := e.Error(), "554 5.4.4 ****5678: no route"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if e := Permanent(250, [3]int{2, 0, 0}, "x", sentinel); e.Code != 550 || e.Enhanced[0] != 5 {
		t.Errorf("Permanent(250) = %d %v, want a 5xx", e.Code, e.Enhanced)
	}
}
