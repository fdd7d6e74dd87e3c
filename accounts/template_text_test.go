package accounts

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// tplTestValues is a lookup over a fixed map.
func tplTestValues(m map[string]string) func(string) string {
	return func(name string) string { return m[name] }
}

func TestRenderTemplate(t *testing.T) {
	vals := tplTestValues(map[string]string{"first_name": "Bob", "body": "tomorrow at 10", "company": "Acme",
		"empty": "", "ünï": "u"})
	tests := []struct {
		name, body, want string
	}{
		{"plain text", "Hello there", "Hello there"},
		{"value", "Hi {{first_name}}", "Hi Bob"},
		{"spaces and case", "Hi {{ First_Name }}!", "Hi Bob!"},
		{"default unused", "Hi {{first_name|there}}", "Hi Bob"},
		{"default used for unknown", "Hi {{last_name|friend}}", "Hi friend"},
		{"default used for empty", "Hi {{empty|friend}}", "Hi friend"},
		{"default trimmed", "Hi {{ empty | dear friend }}", "Hi dear friend"},
		{"empty default", "Hi{{empty|}}!", "Hi!"},
		{"unknown without default", "Hi {{nobody}}.", "Hi ."},
		{"two placeholders", "Hi {{first_name|there}}, your appointment is {{body}}",
			"Hi Bob, your appointment is tomorrow at 10"},
		{"pipe in default", "{{empty|a|b}}", "a|b"},
		{"unicode name", "{{ÜNÏ}}", "u"},
		{"single braces", "{first_name} {x}", "{first_name} {x}"},
		{"unknown syntax kept", "{{#each}} {{a:b}} {{}}", "{{#each}} {{a:b}} {{}}"},
		{"triple braces", "{{{first_name}}}", "{Bob}"},
		{"adjacent", "{{first_name}}{{company}}", "BobAcme"},
		{"unclosed kept when rendering", "Hi {{first_name", "Hi {{first_name"},
		{"stray close kept", "a }} b {{company}}", "a }} b Acme"},
		{"reopened", "{{ {{company}}", "{{ Acme"},
		{"multiline body", "A\n{{company}}\nB", "A\nAcme\nB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RenderTemplate(tt.body, vals); got != tt.want {
				t.Errorf("RenderTemplate(%q) = %q, want %q", tt.body, got, tt.want)
			}
		})
	}
}

func TestValidateTemplateBody(t *testing.T) {
	tests := []struct {
		name, body, wantErr string // wantErr empty: valid
	}{
		{"plain", "Hello", ""},
		{"placeholders", "Hi {{first_name|there}} {{body}}", ""},
		{"unknown syntax is fine", "{{#each}} {x} {{}}", ""},
		{"triple braces", "{{{x}}}", ""},
		{"single close brace after", "{{x}}}", ""},
		{"never closed", "Hi {{first_name", `body: at character 4, "{{" is never closed with "}}"`},
		{"reopened", "{{a {{b}}", `body: at character 1, "{{" is not closed before the next "{{" (character 5)`},
		{"stray close", "Hi }} there", `body: at character 4, "}}" closes no "{{"`},
		{"position counts characters", "Grüße {{x", `body: at character 7, "{{" is never closed with "}}"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateTemplateBody(tt.body)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ValidateTemplateBody(%q) = %v, want nil", tt.body, err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("ValidateTemplateBody(%q) = nil, want %q", tt.body, tt.wantErr)
			case tt.wantErr != "":
				if !errors.Is(err, ErrInvalid) || !strings.HasSuffix(err.Error(), tt.wantErr) {
					t.Fatalf("ValidateTemplateBody(%q) = %q, want ErrInvalid ending %q", tt.body, err, tt.wantErr)
				}
			}
		})
	}
}

func TestTemplatePlaceholders(t *testing.T) {
	got := TemplatePlaceholders("{{Body}} {{first_name|x}} {{body}} {{#no}} {{ Custom Field }}")
	if want := []string{"body", "first_name", "custom field"}; !slices.Equal(got, want) {
		t.Fatalf("placeholders %q, want %q", got, want)
	}
}

// FuzzTemplate: parsing never panics, a valid body renders, and rendering
// with no values never grows the literal text.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"Hi {{first_name|there}}", "{{{x}}}", "{{a {{b}}", "}}", "{{", "{{ü|ß}}", "{{|}}", "\xff{{x}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		err := ValidateTemplateBody(body)
		out := RenderTemplate(body, func(string) string { return "" })
		if len(out) > len(body) {
			t.Fatalf("rendering %q with no values grew it to %q", body, out)
		}
		if err == nil && !strings.Contains(body, "{{") && !strings.Contains(body, "}}") && out != body {
			t.Fatalf("a body without braces changed: %q -> %q", body, out)
		}
		if utf8.ValidString(body) && !utf8.ValidString(out) {
			t.Fatalf("valid UTF-8 %q rendered as invalid %q", body, out)
		}
	})
}
