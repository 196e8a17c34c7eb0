package catalog

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Kind is a kind of evidence that can decide a test item.
type Kind string

// The kinds of evidence.
const (
	// KindDynamic items are checked by probing the target over the network.
	KindDynamic Kind = "dynamic"
	// KindFile items are checked by scanning configuration, source or log files.
	KindFile Kind = "file"
	// KindManual items are judged by a person from documents, interviews, contracts and
	// records, through the assessor's workbook.
	KindManual Kind = "manual"
)

// kindOrder is every Kind, in the order items list them.
var kindOrder = [...]Kind{KindDynamic, KindFile, KindManual}

// AllKinds returns every Kind in a stable order: dynamic, file, manual.
func AllKinds() []Kind { return slices.Clone(kindOrder[:]) }

// Valid reports whether k is one of the known kinds.
func (k Kind) Valid() bool { return slices.Contains(kindOrder[:], k) }

// The sides of the specification.
const (
	// SideBank marks sections 3–8, which test the commercial bank (商业银行).
	SideBank = "bank"
	// SideApp marks sections 9–13, which test the application party (应用方).
	SideApp = "app"
)

// SideOf returns the side a section of the specification tests: SideBank for 3–8, SideApp
// for 9–13, and "" for any other section.
func SideOf(section int) string {
	switch {
	case section >= 3 && section <= 8:
		return SideBank
	case section >= 9 && section <= 13:
		return SideApp
	}
	return ""
}

// Item is one test item: a numbered 检测方法 entry of a clause with its 通过标准.
type Item struct {
	// ID is the clause id, a hyphen and Number, e.g. "5.2.2-3".
	ID string
	// Clause is the id of the clause the item belongs to, e.g. "5.2.2".
	Clause string
	// Number is the item's number within its clause, from 1.
	Number int
	// Section is the top-level section of the clause, 3 to 13.
	Section int
	// Side is SideBank or SideApp.
	Side string
	// ClauseTitle is the clause's Chinese heading, e.g. "安全传输".
	ClauseTitle string
	// Purpose is the clause's 检测目的.
	Purpose string
	// Method is the item's 检测方法; sub-items a）, b）… are on lines of their own.
	Method string
	// Criterion is the item's 通过标准, the pass criterion.
	Criterion string
	// Summary says in one English sentence what the item checks.
	Summary string
	// Kinds are the kinds of evidence that can decide the item: at least one, in the order
	// of AllKinds. An item with several kinds mixes evidence, for example a probe that shows
	// a control working and the design documents or records a person has to judge.
	Kinds []Kind
	// Note records irregularities of the source and text corrections, if any.
	Note string
}

// Has reports whether the item can be decided by evidence of kind k.
func (it *Item) Has(k Kind) bool { return slices.Contains(it.Kinds, k) }

// Clause is a heading of the specification with its own 检测目的/检测方法/通过标准 block.
type Clause struct {
	// ID is the clause number, e.g. "3.1", "5.2.2" or "7".
	ID string
	// Title is the Chinese heading, e.g. "基本要求".
	Title string
	// Side is SideBank or SideApp.
	Side string
	// Section is the top-level section, 3 to 13.
	Section int
	// Purpose is the clause's 检测目的.
	Purpose string
	// Note records text corrections of the title or purpose, if any.
	Note string
	// Items are the clause's test items in order.
	Items []*Item
}

// Catalog is the whole specification as test items. It is read-only: share it freely, and do
// not modify the clauses and items it returns.
type Catalog struct {
	clauses []*Clause
	items   []*Item
	byID    map[string]*Item
	clause  map[string]*Clause
}

//go:embed catalog.yaml
var catalogYAML []byte

var (
	loadOnce sync.Once
	loaded   *Catalog
	loadErr  error
)

// Load returns the catalog embedded in the package. It parses and validates the data once;
// later calls return the same Catalog.
func Load() (*Catalog, error) {
	loadOnce.Do(func() { loaded, loadErr = parse(catalogYAML) })
	return loaded, loadErr
}

// Items returns every item in specification order.
func (c *Catalog) Items() []*Item { return slices.Clone(c.items) }

// Clauses returns every clause in specification order.
func (c *Catalog) Clauses() []*Clause { return slices.Clone(c.clauses) }

// Item returns the item with the given id, such as "5.2.2-3".
func (c *Catalog) Item(id string) (*Item, bool) {
	it, ok := c.byID[id]
	return it, ok
}

// Clause returns the clause with the given id, such as "5.2.2".
func (c *Catalog) Clause(id string) (*Clause, bool) {
	cl, ok := c.clause[id]
	return cl, ok
}

// Filter selects items. A zero field matches every item.
type Filter struct {
	// Clause selects the items of a clause and of the clauses below it: "5" selects section 5,
	// "5.2" selects 5.2.1 and 5.2.2, "5.2.2" selects 5.2.2 only. It matches whole numbers, so
	// "1" does not select section 11.
	Clause string
	// Side selects SideBank or SideApp items.
	Side string
	// Kind selects the items that have this kind among their Kinds.
	Kind Kind
}

// Validate reports a filter that names an unknown side or kind, or a malformed clause.
func (f Filter) Validate() error {
	if f.Side != "" && f.Side != SideBank && f.Side != SideApp {
		return fmt.Errorf("catalog: unknown side %q (want %q or %q)", f.Side, SideBank, SideApp)
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return fmt.Errorf("catalog: unknown kind %q (want dynamic, file or manual)", f.Kind)
	}
	if f.Clause != "" {
		if _, err := clauseNumbers(f.Clause); err != nil {
			return fmt.Errorf("catalog: filter clause: %w", err)
		}
	}
	return nil
}

// Match reports whether the item passes the filter.
func (f Filter) Match(it *Item) bool {
	if f.Clause != "" && it.Clause != f.Clause && !strings.HasPrefix(it.Clause, f.Clause+".") {
		return false
	}
	if f.Side != "" && it.Side != f.Side {
		return false
	}
	return f.Kind == "" || it.Has(f.Kind)
}

// Select returns the items that pass the filter, in specification order.
func (c *Catalog) Select(f Filter) []*Item {
	var out []*Item
	for _, it := range c.items {
		if f.Match(it) {
			out = append(out, it)
		}
	}
	return out
}
