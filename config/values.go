package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written in YAML as a Go duration string:
// "30s", "1m30s", "250ms". Bare numbers are rejected, because "30" could mean
// seconds or nanoseconds and a silent guess is worse than an error.
type Duration time.Duration

// Seconds returns n seconds as a Duration.
func Seconds(n int) Duration { return Duration(time.Duration(n) * time.Second) }

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d like time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes d as a duration string, for YAML and JSON alike.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a duration string such as "1m30s".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q: use a number with a unit, like \"30s\" or \"1m30s\"", b)
	}
	*d = Duration(v)
	return nil
}

// UnmarshalYAML accepts only string scalars. Its errors are *yaml.TypeError
// carrying the line, so that the decoder collects them with the others.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf(
			"line %d: duration must be a string with a unit, like \"30s\"; got %s", n.Line, describe(n))}}
	}
	if err := d.UnmarshalText([]byte(n.Value)); err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	return nil
}

// describe names what a node holds, for error messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	v := n.Value
	if len(v) > 20 {
		v = v[:17] + "..."
	}
	return fmt.Sprintf("%s %q", n.ShortTag(), v)
}

// Secret is a password or key. It never prints: String, GoString, LogValue
// and the JSON and YAML encodings show "<secret>" (or "" when unset, so that
// an operator can see whether one is configured). Value returns it.
type Secret string

const redacted = "<secret>"

// Value returns the secret itself, for the code that uses it.
func (s Secret) Value() string { return string(s) }

func (s Secret) shown() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String hides the secret from fmt.
func (s Secret) String() string { return s.shown() }

// GoString hides the secret from fmt's %#v.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.shown()) }

// LogValue hides the secret from log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }

// MarshalJSON hides the secret from encoding/json.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.shown()) }

// MarshalYAML hides the secret from YAML output, such as Redacted.
func (s Secret) MarshalYAML() (any, error) { return s.shown(), nil }
