package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad: Load never panics, and whatever it accepts survives a round trip
// through Redacted.
func FuzzLoad(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yml")
	if err != nil {
		f.Fatal(err)
	}
	files = append(files, "../deploy/smsgate.example.yml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(""))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("links: [{<<: {name: x}}]\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Load(data)
		if err != nil {
			_ = err.Error()
			return
		}
		out, err := c.Redacted()
		if err != nil {
			t.Fatalf("Redacted: %v", err)
		}
		if _, err := Load(out); err != nil {
			t.Fatalf("reload of Redacted output: %v\n%s", err, out)
		}
	})
}
