// Package workbook is the assessor's manual workbook: every test item of
// T/PCAC 0008-2020 that a person judges from documents, interviews and
// records, as a YAML file the assessor fills in (verdict, evidence,
// assessor, date). The report merges it; an item left unfilled stays
// "manual", never pass.
package workbook

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/assess/catalog"
)

// Schema is the workbook format version.
const Schema = "bankguard-workbook/v1"

// Workbook is the manual items with the assessor's judgements.
type Workbook struct {
	Schema string `yaml:"schema"`
	// Spec is the specification the items come from.
	Spec string `yaml:"spec"`
	// Target names what is assessed, for the assessor's own reference.
	Target string `yaml:"target"`
	// Items are the manual items in specification order.
	Items []Entry `yaml:"items"`
}

// Entry is one manual item: the catalog's text, then the assessor's fields.
type Entry struct {
	ID        string `yaml:"id"`
	Clause    string `yaml:"clause"`
	Side      string `yaml:"side"`
	Summary   string `yaml:"summary"`
	Purpose   string `yaml:"purpose"`
	Method    string `yaml:"method"`
	Criterion string `yaml:"criterion"`

	// Verdict is the assessor's: pass, fail, partial, not_applicable, or
	// manual (not judged yet, the default).
	Verdict string `yaml:"verdict"`
	// Reason says why; required for fail, partial and not_applicable.
	Reason string `yaml:"reason"`
	// Evidence lists references: document names, record ids, interview notes.
	Evidence []string `yaml:"evidence"`
	// Assessor and Date say who judged and when (YYYY-MM-DD).
	Assessor string `yaml:"assessor"`
	Date     string `yaml:"date"`
}

// New returns an unfilled workbook with every item that has the manual kind.
func New(cat *catalog.Catalog, target string) *Workbook {
	w := &Workbook{Schema: Schema, Spec: "T/PCAC 0008-2020", Target: target}
	for _, cl := range cat.Clauses() {
		for _, it := range cl.Items {
			if !it.Has(catalog.KindManual) {
				continue
			}
			w.Items = append(w.Items, Entry{
				ID: it.ID, Clause: cl.ID + " " + cl.Title, Side: it.Side, Summary: it.Summary,
				Purpose: cl.Purpose, Method: it.Method, Criterion: it.Criterion,
				Verdict: string(assess.Manual), Evidence: []string{},
			})
		}
	}
	return w
}

// header opens a written workbook: how to fill it in.
const header = `# T/PCAC 0008-2020 manual workbook (bankguard assess).
# For each item: read method (检测方法) and criterion (通过标准), then set
#   verdict:  pass | fail | partial | not_applicable | manual (= not judged yet)
#   reason:   why (required for fail, partial and not_applicable)
#   evidence: references to documents, records, interviews
#   assessor: your name;  date: YYYY-MM-DD
# Then: bankguard assess --profile P --workbook THIS_FILE
# Only the verdict, reason, evidence, assessor and date fields are read back.
`

// Write stores the workbook at path. It refuses to overwrite a file, which
// may hold an assessor's work.
func (w *Workbook) Write(path string) error {
	var buf bytes.Buffer
	buf.WriteString(header)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(w); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("workbook: %s exists; it may hold an assessor's work, so it is not overwritten", path)
		}
		return fmt.Errorf("workbook: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("workbook: %w", err)
	}
	return f.Close()
}

// Load reads a workbook and checks it against the catalog. Each problem is
// reported with the item id and field.
func Load(path string, cat *catalog.Catalog) (*Workbook, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("workbook: %w", err)
	}
	w, err := Parse(b, cat)
	if err != nil {
		return nil, fmt.Errorf("workbook %s: %w", path, err)
	}
	return w, nil
}

// Parse decodes and checks workbook bytes. Unknown fields are refused.
func Parse(b []byte, cat *catalog.Catalog) (*Workbook, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var w Workbook
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("not a valid workbook: %w", err)
	}
	return &w, w.Validate(cat)
}

// Validate checks the workbook: its schema, that every item is a manual item
// of the catalog listed once, and that each filled verdict is complete.
func (w *Workbook) Validate(cat *catalog.Catalog) error {
	var errs []error
	bad := func(at, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", at, fmt.Sprintf(format, args...)))
	}
	if w.Schema != Schema {
		bad("schema", "must be %q, is %q", Schema, w.Schema)
	}
	seen := map[string]bool{}
	for i, e := range w.Items {
		at := fmt.Sprintf("items[%d] (%s)", i, e.ID)
		it, ok := cat.Item(e.ID)
		switch {
		case !ok:
			bad(at+".id", "is not an item of T/PCAC 0008-2020")
			continue
		case !it.Has(catalog.KindManual):
			bad(at+".id", "is not a manual item; automated checks decide it")
		case seen[e.ID]:
			bad(at+".id", "is listed twice")
		}
		seen[e.ID] = true
		v := assess.Verdict(e.Verdict)
		switch v {
		case "", assess.Manual:
			continue
		case assess.Pass, assess.Fail, assess.Partial, assess.NotApplicable:
		default:
			bad(at+".verdict", "must be pass, fail, partial, not_applicable or manual, is %q", e.Verdict)
			continue
		}
		if v != assess.Pass && e.Reason == "" {
			bad(at+".reason", "is required for a %s verdict", v)
		}
		if e.Assessor == "" {
			bad(at+".assessor", "is required for a judged item")
		}
		if _, err := time.Parse(time.DateOnly, e.Date); err != nil {
			bad(at+".date", "must be a date YYYY-MM-DD, is %q", e.Date)
		}
	}
	return errors.Join(errs...)
}

// Judgements returns the judged items by id, for assess.Assemble.
func (w *Workbook) Judgements() map[string]assess.Judgement {
	out := map[string]assess.Judgement{}
	for _, e := range w.Items {
		v := assess.Verdict(e.Verdict)
		if v == "" || v == assess.Manual {
			continue
		}
		out[e.ID] = assess.Judgement{Verdict: v, Reason: e.Reason, Evidence: e.Evidence, Assessor: e.Assessor, Date: e.Date}
	}
	return out
}
