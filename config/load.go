package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LoadFile reads and loads the configuration at path. Errors name the path.
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Load(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Load decodes one YAML document over Default(), normalises and validates
// it. Unknown keys, duplicate keys and type mismatches come back together as
// *Errors, each with its path and line; so do validation failures. YAML
// syntax errors are returned wrapped, with yaml's line information. Empty
// input is the defaults alone.
func Load(data []byte) (*Config, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("parse yaml: %w", err)
		}
		return nil, fmt.Errorf("parse yaml: line %d: only one YAML document is allowed", extra.Line)
	}

	c := Default()
	var all Errors
	if doc.Kind != 0 {
		// Key and type problems do not stop validation of what did decode:
		// A user fixing a file wants every problem at once.
		complete, err := decode(&doc, c)
		var es *Errors
		if err != nil && !errors.As(err, &es) {
			return nil, err
		}
		if es != nil {
			all = append(all, *es...)
			if !complete {
				return nil, &all // a half-decoded config would only add false alarms
			}
		}
	}
	c.normalize()
	all = append(all, c.resolveSecrets(os.LookupEnv, os.ReadFile)...)
	if err := c.Validate(); err != nil {
		var es *Errors
		if !errors.As(err, &es) {
			return nil, err
		}
		all = append(all, *es...)
	}
	if len(all) > 0 {
		return nil, &all
	}
	return c, nil
}

// Redacted returns the configuration as YAML with every secret shown as
// "<secret>": what `smsgate config check -print` shows.
func (c *Config) Redacted() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return buf.Bytes(), nil
}

// normalize fills the defaults that depend on other fields and puts values
// in canonical form before validation.
func (c *Config) normalize() {
	for i, d := range c.SMTP.Domains {
		c.SMTP.Domains[i] = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	}
	if c.Relay.Hostname == "" {
		c.Relay.Hostname = c.SMTP.Hostname
	}
}

// UnmarshalYAML decodes a link over DefaultLink, so that omitted keys keep
// their defaults. Unknown keys are caught by checkKeys before this runs.
func (l *Link) UnmarshalYAML(n *yaml.Node) error {
	type plain Link // without this method, so Decode does not recurse
	p := plain(DefaultLink())
	if err := n.Decode(&p); err != nil {
		return err
	}
	*l = Link(p)
	return nil
}

// located is a decode problem with the line it came from, for sorting.
type located struct {
	line int
	err  FieldError
}

// decode decodes doc into c and reports every unknown key, duplicate key and
// type mismatch, each with its field path where one can be found. complete
// is false when yaml could not decode the whole document into c.
func decode(doc *yaml.Node, c *Config) (complete bool, err error) {
	var found []located
	complete = true
	if err := doc.Decode(c); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return false, fmt.Errorf("decode yaml: %w", err)
		}
		complete = false
		// Map each line to the leaf paths on it, to name the field that a
		// yaml type error (which only gives a line) is about.
		leaves := map[int][]string{}
		collectLeaves(doc, reflect.TypeOf(c).Elem(), "", leaves)
		for _, msg := range te.Errors {
			if strings.Contains(msg, " already set in type ") || strings.Contains(msg, " already defined at line ") {
				continue // checkKeys reports duplicates with their path
			}
			line, text := splitLine(msg)
			text = strings.ReplaceAll(text, "config.plain", "config.Link")
			fe := FieldError{Msg: text}
			if line > 0 {
				fe.Msg = fmt.Sprintf("%s (line %d)", text, line)
				if p := leaves[line]; len(p) == 1 {
					fe.Path = p[0]
				}
			}
			found = append(found, located{line, fe})
		}
	}
	checkKeys(doc, reflect.TypeOf(c).Elem(), "", &found)
	if len(found) == 0 {
		return complete, nil
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].line < found[j].line })
	errs := make(Errors, len(found))
	for i, f := range found {
		errs[i] = f.err
	}
	return complete, &errs
}

var lineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

// splitLine separates yaml's "line N: " prefix from a message.
func splitLine(msg string) (int, string) {
	m := lineRE.FindStringSubmatch(msg)
	if m == nil {
		return 0, msg
	}
	n, _ := strconv.Atoi(m[1])
	return n, m[2]
}

// yamlKeys maps the YAML keys of struct type t to their fields.
func yamlKeys(t reflect.Type) map[string]reflect.StructField {
	keys := make(map[string]reflect.StructField, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		keys[name] = f
	}
	return keys
}

// isMerge reports whether key is YAML's merge key "<<".
func isMerge(key *yaml.Node) bool {
	return key.Kind == yaml.ScalarNode && key.Value == "<<" &&
		(key.Tag == "" || key.Tag == "!" || key.ShortTag() == "!!merge")
}

// walk calls leaf for every node that holds a value of a non-struct,
// non-list type and key for every mapping key of a struct, following the Go
// type alongside the YAML tree. Aliases are not followed: what they point to
// is walked where it is defined.
func walk(n *yaml.Node, t reflect.Type, path string,
	key func(k *yaml.Node, path string, known bool, first *yaml.Node),
	leaf func(n *yaml.Node, path string),
) {
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			walk(c, t, path, key, leaf)
		}
		return
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := yamlKeys(t)
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if isMerge(k) {
				if v.Kind == yaml.MappingNode {
					walk(v, t, path, key, leaf)
				}
				continue
			}
			p := joinPath(path, k.Value)
			f, known := fields[k.Value]
			key(k, p, known, seen[k.Value])
			if !known || seen[k.Value] != nil {
				continue
			}
			seen[k.Value] = k
			walk(v, f.Type, p, key, leaf)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), key, leaf)
		}
	default:
		leaf(n, path)
	}
}

// checkKeys reports unknown and duplicate keys with their paths.
func checkKeys(doc *yaml.Node, t reflect.Type, path string, found *[]located) {
	walk(doc, t, path, func(k *yaml.Node, p string, known bool, first *yaml.Node) {
		switch {
		case !known:
			*found = append(*found, located{k.Line, FieldError{p, fmt.Sprintf("unknown key (line %d)", k.Line)}})
		case first != nil:
			*found = append(*found, located{k.Line, FieldError{p,
				fmt.Sprintf("duplicate key (line %d, first set at line %d)", k.Line, first.Line)}})
		}
	}, func(*yaml.Node, string) {})
}

// collectLeaves records the paths of value nodes by line.
func collectLeaves(doc *yaml.Node, t reflect.Type, path string, leaves map[int][]string) {
	walk(doc, t, path, func(*yaml.Node, string, bool, *yaml.Node) {}, func(n *yaml.Node, p string) {
		if p != "" {
			leaves[n.Line] = append(leaves[n.Line], p)
		}
	})
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
