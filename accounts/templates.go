package accounts

import (
	_ "embed"
	"errors"
	"time"
)

// ErrTemplateNameTaken: another template of the account has the name.
var ErrTemplateNameTaken = errors.New("template name is taken")

// Template is a message text with placeholders (template_text.go).
type Template struct {
	ID        string    `json:"id"`
	AccountID string    `json:"account_id"`
	Name      string    `json:"name"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TemplateListing is one entry of ListTemplates: a template with where it
// comes from.
type TemplateListing struct {
	Template
	// Inherited: the template is the parent account's, shared read-only.
	Inherited bool `json:"inherited"`
	// Shadowed: an inherited template hidden by the account's own
	// template of the same name; it is listed, never used.
	Shadowed bool `json:"shadowed,omitempty"`
}

// TemplateUpdate changes a template; nil fields stay as they are.
type TemplateUpdate struct {
	Name *string
	Body *string
}
