package api

import (
	"net/http"
	"strings"
	"testing"
)

// TestBodyTooLarge: a body over the limit is 413 naming the limit, not a
// parse error.
func TestBodyTooLarge(t *testing.T) {
	f := newFixture(t)
	big := map[string]any{"email": "a@example.com", "password": strings.Repeat("x", maxBody+1)}
	p := f.problem("", "POST", "/v1/auth/login", big, http.StatusRequestEntityTooLarge)
	if p.Type != problemBase+"too-large" || !strings.Contains(p.Detail, "larger than the limit of 65536 bytes") {
		t.Fatalf("problem %+v", p)
	}
	p = f.problem(f.rootKey, "POST", "/v1/accounts", map[string]any{"name": strings.Repeat("n", maxBody)}, http.StatusRequestEntityTooLarge)
	if p.Type != problemBase+"too-large" {
		t.Fatalf("problem %+v", p)
	}
}
