package accounts

import (
	"errors"
)

// ErrTooLarge: an import is over ImportMaxBytes or ImportMaxRows; nothing
// was imported.
var ErrTooLarge = errors.New("too large")

// RowError is one refused row of a CSV import. Row is the line of the file
// as a spreadsheet numbers it (the header is row 1).
type RowError struct {
	Row    int    `json:"row"`
	Column string `json:"column,omitempty"`
	Value  string `json:"value,omitempty"`
	Error  string `json:"error"`
}

// ImportResult is what a CSV import did.
type ImportResult struct {
	Imported int        `json:"imported"` // contacts created
	Updated  int        `json:"updated"`  // existing contacts merged into
	Errors   []RowError `json:"errors"`   // refused rows, the first 1000
	// ErrorsTotal counts every refused row, including those not listed.
	ErrorsTotal int `json:"errors_total"`
	// Group and Added: the group given and the members it gained.
	Group string `json:"group,omitempty"`
	Added int    `json:"added_to_group"`
}
