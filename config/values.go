package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
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

// UnmarshalText parses a duration string such as "1m30s", or a whole
// number of days such as "90d" (retention periods).
func (d *Duration) UnmarshalText(b []byte) error {
	if days, ok := strings.CutSuffix(string(b), "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 && n <= 100*365 {
			*d = Duration(time.Duration(n) * 24 * time.Hour)
			return nil
		}
	}
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q: use a number with a unit, like \"30s\", \"1m30s\" or \"90d\"", b)
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

// A secret may be written as a reference instead of the value itself, so
// that the configuration can live in a ConfigMap or a repository while the
// secrets come from the environment or a mounted file (a Kubernetes Secret,
// systemd's LoadCredential):
//
//	password: env:REDIS_PASSWORD              # the environment variable
//	password: file:/run/secrets/redis-password  # the file, one trailing newline removed
//
// Any other value is the secret itself.
const (
	secretEnv  = "env:"
	secretFile = "file:"
)

// resolve returns the secret a reference names, or s itself.
func (s Secret) resolve(lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (Secret, error) {
	v := string(s)
	switch {
	case strings.HasPrefix(v, secretEnv):
		name := v[len(secretEnv):]
		if name == "" {
			return "", errors.New("env: needs the name of an environment variable, like env:REDIS_PASSWORD")
		}
		val, ok := lookupEnv(name)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		return Secret(val), nil
	case strings.HasPrefix(v, secretFile):
		path := v[len(secretFile):]
		if !strings.HasPrefix(path, "/") {
			return "", fmt.Errorf("file: needs an absolute path, like file:/run/secrets/redis-password (got %q)", path)
		}
		b, err := readFile(path)
		if err != nil {
			return "", fmt.Errorf("read the secret: %w", err)
		}
		b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
		return Secret(b), nil
	}
	return s, nil
}

// resolveSecrets replaces every secret written as a reference (env: or
// file:) by what it names, and reports each one that cannot be read, with
// its path.
func (c *Config) resolveSecrets(lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) Errors {
	var errs Errors
	res := func(path string, s *Secret) {
		v, err := s.resolve(lookupEnv, readFile)
		if err != nil {
			errs = append(errs, FieldError{Path: path, Msg: err.Error()})
			return
		}
		*s = v
	}
	res("redis.password", &c.Redis.Password)
	res("relay.password", &c.Relay.Password)
	for i := range c.Links {
		res(fmt.Sprintf("links[%d].password", i), &c.Links[i].Password)
	}
	return errs
}
