package report

import (
	"encoding/json"
	"io"

	"github.com/bankguard/bankguard/assess"
)

// WriteJSON writes the report as indented JSON in the versioned schema
// assess.ReportSchema ("bankguard-assessment/v1"). The top-level lists and
// the summary's counts are written as [] and {} when empty, never null, and
// an empty schema is filled in. Characters such as < and & are written as
// they are: the file is data, not a part of a web page.
func WriteJSON(w io.Writer, r *assess.Report) error {
	if r == nil {
		return errNoReport
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(normalized(r))
}

// normalized returns a shallow copy of r with the schema set and nil lists
// and counts made empty.
func normalized(r *assess.Report) *assess.Report {
	c := *r
	if c.Schema == "" {
		c.Schema = assess.ReportSchema
	}
	c.Summary.Items = nonNil(c.Summary.Items)
	c.Summary.Clauses = nonNil(c.Summary.Clauses)
	c.Summary.Sections = emptyIfNil(c.Summary.Sections)
	c.Summary.Sides = emptyIfNil(c.Summary.Sides)
	c.Clauses = emptyIfNil(c.Clauses)
	c.Results = emptyIfNil(c.Results)
	return &c
}

func nonNil(c assess.Counts) assess.Counts {
	if c == nil {
		return assess.Counts{}
	}
	return c
}

func emptyIfNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
