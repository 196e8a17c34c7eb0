// Package report writes an assessment report (assess.Report) as the files an
// assessor hands on: a self-contained HTML page for people, a versioned JSON
// document for programs, JUnit XML for CI dashboards and SARIF 2.1.0 for code
// scanning tools. Sign and Verify bind the written files together with an
// SM2 signature over their SM3 digests.
package report

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bankguard/bankguard/assess"
)

// Format is a report format Write accepts: its name on the command line and
// the file it is written to.
type Format struct {
	// Name is what --format names, e.g. "html".
	Name string
	// File is the file name in the output directory, e.g. "report.html".
	File string
}

// Formats are the format names Write accepts, with their file names:
// html→report.html, json→report.json, junit→report.junit.xml,
// sarif→report.sarif. The order is the order Write uses when given no
// formats.
var Formats = []Format{
	{Name: "html", File: "report.html"},
	{Name: "json", File: "report.json"},
	{Name: "junit", File: "report.junit.xml"},
	{Name: "sarif", File: "report.sarif"},
}

// errNoReport is the error of a writer given a nil report.
var errNoReport = errors.New("report: no report to write")

// writer returns the function that writes format name.
func writer(name string) func(io.Writer, *assess.Report) error {
	switch name {
	case "html":
		return WriteHTML
	case "json":
		return WriteJSON
	case "junit":
		return WriteJUnit
	case "sarif":
		return WriteSARIF
	}
	return nil
}

// FormatNames returns the names of Formats, in order.
func FormatNames() []string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = f.Name
	}
	return names
}

// lookup returns the format called name.
func lookup(name string) (Format, bool) {
	for _, f := range Formats {
		if f.Name == name {
			return f, true
		}
	}
	return Format{}, false
}

// Write writes the chosen formats into dir (created 0755 if missing) and
// returns the file paths written, in the order of formats. No formats means
// every format; a format named twice is written once. An unknown format is an
// error naming it and the valid ones, and nothing is written then.
func Write(dir string, r *assess.Report, formats []string) ([]string, error) {
	if r == nil {
		return nil, errNoReport
	}
	chosen, err := choose(formats)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var paths []string
	for _, f := range chosen {
		path := filepath.Join(dir, f.File)
		write := writer(f.Name)
		if err := writeFile(path, func(w io.Writer) error { return write(w, r) }); err != nil {
			return paths, fmt.Errorf("report: write %s: %w", f.File, err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// choose resolves format names, checking every name before anything is
// written.
func choose(names []string) ([]Format, error) {
	if len(names) == 0 {
		return slices.Clone(Formats), nil
	}
	var out []Format
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		f, ok := lookup(n)
		if !ok {
			return nil, fmt.Errorf("report: unknown format %q (valid: %s)", n, strings.Join(FormatNames(), ", "))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

// writeFile writes a file through a temporary file in the same directory and
// renames it into place, so that a reader never sees half a report.
func writeFile(path string, fill func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if err := fill(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// resultsByCheck maps each result's check id to the result.
func resultsByCheck(r *assess.Report) map[string]*assess.Result {
	m := make(map[string]*assess.Result, len(r.Results))
	for i := range r.Results {
		m[r.Results[i].Check] = &r.Results[i]
	}
	return m
}
