package assess

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bankguard/bankguard/assess/catalog"
)

// ReportSchema is the version of the report's JSON form. A change that
// removes or renames a field, or changes a field's meaning, takes a new
// version; adding a field does not.
const ReportSchema = "bankguard-assessment/v1"

// Report is a whole assessment: every item of the catalog that was in scope
// with its verdict, the clauses, a summary and the checks' evidence.
type Report struct {
	Schema string `json:"schema"`
	// Spec is the specification assessed against.
	Spec string `json:"spec"`
	// Tool is the assessor's name and version.
	Tool string `json:"tool"`
	// Target says what was assessed: the profile's base URL, the scanned
	// directories.
	Target   string    `json:"target"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Summary  Summary   `json:"summary"`
	Clauses  []Clause  `json:"clauses"`
	// Results are the automated checks' results with their evidence and
	// findings; items refer to them by check id.
	Results []Result `json:"results"`
}

// Clause is a clause of the specification with its items' verdicts.
type Clause struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Side    string  `json:"side"`
	Section int     `json:"section"`
	Verdict Verdict `json:"verdict"`
	Items   []Item  `json:"items"`
}

// Item is a test item's verdict and what it rests on.
type Item struct {
	ID        string   `json:"id"`
	Summary   string   `json:"summary"`
	Method    string   `json:"method"`
	Criterion string   `json:"criterion"`
	Kinds     []string `json:"kinds"`
	Verdict   Verdict  `json:"verdict"`
	// Reason says why, in a sentence: the deciding check's reason, or what
	// is missing.
	Reason string `json:"reason"`
	// Checks are the ids of the results the verdict rests on.
	Checks []string `json:"checks,omitempty"`
	// Judgement is the workbook's entry, if the item is manual and filled in.
	Judgement *Judgement `json:"judgement,omitempty"`
}

// Judgement is a person's verdict on an item, from the workbook.
type Judgement struct {
	Verdict  Verdict  `json:"verdict"`
	Reason   string   `json:"reason,omitempty"`
	Evidence []string `json:"evidence,omitempty"`
	Assessor string   `json:"assessor,omitempty"`
	Date     string   `json:"date,omitempty"`
}

// Summary counts verdicts.
type Summary struct {
	Items    Counts    `json:"items"`
	Clauses  Counts    `json:"clauses"`
	Sections []Section `json:"sections"`
	Sides    []Side    `json:"sides"`
}

// Counts is the number of items (or clauses) by verdict.
type Counts map[Verdict]int

// Section is the count of a section's items by verdict.
type Section struct {
	Section int    `json:"section"`
	Side    string `json:"side"`
	Counts  Counts `json:"counts"`
}

// Side is the count of one side's items by verdict.
type Side struct {
	Side   string `json:"side"`
	Counts Counts `json:"counts"`
}

// Scope says which kinds of automated evidence a run gathered, so that an
// item whose kind was not run says so instead of "no check".
type Scope struct {
	Dynamic, File bool
	// Items restricts the report to these item ids or clause prefixes
	// ("5.2.2-3", "5.2"); empty means every item.
	Items []string
}

// InScope reports whether an item id is in the scope's item selection.
func (s Scope) InScope(id string) bool {
	if len(s.Items) == 0 {
		return true
	}
	clause, _, _ := strings.Cut(id, "-")
	for _, w := range s.Items {
		if w == id || w == clause || strings.HasPrefix(clause, w+".") {
			return true
		}
	}
	return false
}

// Assemble derives every in-scope item's verdict from the results and the
// workbook's judgements (by item id), then the clauses' and the summary.
func Assemble(cat *catalog.Catalog, scope Scope, results []Result, judgements map[string]Judgement) (*Report, error) {
	if err := checkIDs(results); err != nil {
		return nil, err
	}
	byItem := map[string][]*Result{}
	for i := range results {
		r := &results[i]
		for _, id := range r.Items {
			if _, ok := cat.Item(id); !ok {
				return nil, fmt.Errorf("assess: check %s names item %q, which is not in the catalog", r.Check, id)
			}
			byItem[id] = append(byItem[id], r)
		}
	}
	rep := &Report{Schema: ReportSchema, Spec: "T/PCAC 0008-2020", Results: results}
	rep.Summary = Summary{Items: Counts{}, Clauses: Counts{}}
	sections := map[int]Counts{}
	sides := map[string]Counts{}
	for _, cl := range cat.Clauses() {
		c := Clause{ID: cl.ID, Title: cl.Title, Side: cl.Side, Section: cl.Section}
		var vs []Verdict
		for _, it := range cl.Items {
			if !scope.InScope(it.ID) {
				continue
			}
			item := assembleItem(it, scope, byItem[it.ID], judgements)
			c.Items = append(c.Items, item)
			vs = append(vs, item.Verdict)
			rep.Summary.Items[item.Verdict]++
			count(sections, cl.Section, item.Verdict)
			count(sides, cl.Side, item.Verdict)
		}
		if len(c.Items) == 0 {
			continue
		}
		c.Verdict = Combine(vs...)
		rep.Summary.Clauses[c.Verdict]++
		rep.Clauses = append(rep.Clauses, c)
	}
	for _, s := range sortedKeys(sections) {
		rep.Summary.Sections = append(rep.Summary.Sections, Section{Section: s, Side: catalog.SideOf(s), Counts: sections[s]})
	}
	for _, s := range []string{catalog.SideBank, catalog.SideApp} {
		if sides[s] != nil {
			rep.Summary.Sides = append(rep.Summary.Sides, Side{Side: s, Counts: sides[s]})
		}
	}
	return rep, nil
}

func assembleItem(it *catalog.Item, scope Scope, results []*Result, judgements map[string]Judgement) Item {
	item := Item{ID: it.ID, Summary: it.Summary, Method: it.Method, Criterion: it.Criterion}
	for _, k := range it.Kinds {
		item.Kinds = append(item.Kinds, string(k))
	}
	var vs []Verdict
	var reasons []string // in the order of precedence of the combined verdict
	for _, r := range results {
		item.Checks = append(item.Checks, r.Check)
		vs = append(vs, r.Verdict)
		reasons = append(reasons, fmt.Sprintf("%s: %s", r.Check, r.Reason))
	}
	automated := func(k catalog.Kind, ran bool, what string) {
		if it.Has(k) && !it.Has(catalog.KindManual) && len(results) == 0 {
			vs = append(vs, NotTested)
			if ran {
				reasons = append(reasons, "no "+what+" check of this tool covers the item yet")
			} else {
				reasons = append(reasons, what+" checks were not run")
			}
		}
	}
	automated(catalog.KindDynamic, scope.Dynamic, "dynamic")
	automated(catalog.KindFile, scope.File, "file")
	if it.Has(catalog.KindManual) {
		if j, ok := judgements[it.ID]; ok && j.Verdict != Manual {
			item.Judgement = &j
			vs = append(vs, j.Verdict)
			reasons = append(reasons, "workbook: "+string(j.Verdict)+judgementReason(j))
		} else {
			vs = append(vs, Manual)
			reasons = append(reasons, "to be judged by the assessor in the workbook")
		}
	}
	item.Verdict = Combine(vs...)
	item.Reason = decidingReason(item.Verdict, vs, reasons)
	return item
}

func judgementReason(j Judgement) string {
	if j.Reason == "" {
		return ""
	}
	return " — " + j.Reason
}

// decidingReason picks the reasons that explain the combined verdict: the
// failing ones for a fail, the erring ones for an error, all of them
// otherwise.
func decidingReason(v Verdict, vs []Verdict, reasons []string) string {
	var picked []string
	for i, r := range reasons {
		if (v != Fail && v != Error) || vs[i] == v {
			picked = append(picked, strings.TrimSuffix(r, "."))
		}
	}
	return strings.Join(picked, "; ")
}

func count[K comparable](m map[K]Counts, k K, v Verdict) {
	if m[k] == nil {
		m[k] = Counts{}
	}
	m[k][v]++
}

func sortedKeys(m map[int]Counts) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Failed reports whether any item failed: the run's exit code is 1 then.
func (r *Report) Failed() bool { return r.Summary.Items[Fail] > 0 }
