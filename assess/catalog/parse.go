package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// file is the layout of catalog.yaml.
type file struct {
	Clauses []fileClause `yaml:"clauses"`
}

type fileClause struct {
	ID      string     `yaml:"id"`
	Title   string     `yaml:"title"`
	Section int        `yaml:"section"`
	Side    string     `yaml:"side"`
	Purpose string     `yaml:"purpose"`
	Note    string     `yaml:"note"`
	Items   []fileItem `yaml:"items"`
}

type fileItem struct {
	ID        string `yaml:"id"`
	Kinds     []Kind `yaml:"kinds"`
	Summary   string `yaml:"summary"`
	Method    string `yaml:"method"`
	Criterion string `yaml:"criterion"`
	Note      string `yaml:"note"`
}

// parse decodes catalog data, fills the fields every item inherits from its clause, and
// validates the result.
func parse(data []byte) (*Catalog, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("catalog: decode: %w", err)
	}
	if len(f.Clauses) == 0 {
		return nil, errors.New("catalog: no clauses")
	}
	c := &Catalog{byID: map[string]*Item{}, clause: map[string]*Clause{}}
	var prev []int
	for _, fc := range f.Clauses {
		cl, err := buildClause(fc)
		if err != nil {
			return nil, err
		}
		nums, _ := clauseNumbers(cl.ID) // checked by buildClause
		if prev != nil && compareNumbers(prev, nums) >= 0 {
			return nil, fmt.Errorf("catalog: clause %s: out of specification order", cl.ID)
		}
		prev = nums
		c.clauses = append(c.clauses, cl)
		c.clause[cl.ID] = cl
		for _, it := range cl.Items {
			if _, dup := c.byID[it.ID]; dup {
				return nil, fmt.Errorf("catalog: item %s: duplicate id", it.ID)
			}
			c.byID[it.ID] = it
			c.items = append(c.items, it)
		}
	}
	return c, nil
}

// buildClause turns a decoded clause into a Clause, checking it and its items.
func buildClause(fc fileClause) (*Clause, error) {
	nums, err := clauseNumbers(fc.ID)
	if err != nil {
		return nil, fmt.Errorf("catalog: clause %q: %w", fc.ID, err)
	}
	section := nums[0]
	switch {
	case SideOf(section) == "":
		return nil, fmt.Errorf("catalog: clause %s: section %d is not a testing section (3–13)", fc.ID, section)
	case fc.Section != section:
		return nil, fmt.Errorf("catalog: clause %s: section %d, want %d", fc.ID, fc.Section, section)
	case fc.Side != SideOf(section):
		return nil, fmt.Errorf("catalog: clause %s: side %q, want %q", fc.ID, fc.Side, SideOf(section))
	case strings.TrimSpace(fc.Title) == "":
		return nil, fmt.Errorf("catalog: clause %s: empty title", fc.ID)
	case strings.TrimSpace(fc.Purpose) == "":
		return nil, fmt.Errorf("catalog: clause %s: empty purpose", fc.ID)
	case len(fc.Items) == 0:
		return nil, fmt.Errorf("catalog: clause %s: no items", fc.ID)
	}
	cl := &Clause{ID: fc.ID, Title: fc.Title, Side: fc.Side, Section: section, Purpose: fc.Purpose, Note: fc.Note}
	for i, fi := range fc.Items {
		it := &Item{
			ID: fi.ID, Clause: cl.ID, Number: i + 1, Section: section, Side: cl.Side,
			ClauseTitle: cl.Title, Purpose: cl.Purpose,
			Method: fi.Method, Criterion: fi.Criterion, Summary: fi.Summary,
			Kinds: fi.Kinds, Note: fi.Note,
		}
		if err := checkItem(it); err != nil {
			return nil, fmt.Errorf("catalog: item %s of clause %s: %w", fi.ID, cl.ID, err)
		}
		cl.Items = append(cl.Items, it)
	}
	return cl, nil
}

// checkItem checks an item whose inherited fields are filled.
func checkItem(it *Item) error {
	if want := it.Clause + "-" + strconv.Itoa(it.Number); it.ID != want {
		return fmt.Errorf("id %q, want %q (items are numbered from 1 in order)", it.ID, want)
	}
	for _, f := range []struct{ name, v string }{
		{"method", it.Method}, {"criterion", it.Criterion}, {"summary", it.Summary},
	} {
		if strings.TrimSpace(f.v) == "" {
			return fmt.Errorf("empty %s", f.name)
		}
	}
	if len(it.Kinds) == 0 {
		return errors.New("no kinds")
	}
	last := -1
	for _, k := range it.Kinds {
		i := slices.Index(kindOrder[:], k)
		switch {
		case i < 0:
			return fmt.Errorf("unknown kind %q", k)
		case i == last:
			return fmt.Errorf("kind %q listed twice", k)
		case i < last:
			return fmt.Errorf("kinds %v not in the order dynamic, file, manual", it.Kinds)
		}
		last = i
	}
	return nil
}

// clauseNumbers splits a clause id such as "5.2.2" into its numbers.
func clauseNumbers(id string) ([]int, error) {
	if id == "" {
		return nil, errors.New("empty clause id")
	}
	parts := strings.Split(id, ".")
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || p[0] == '0' || p[0] == '+' {
			return nil, fmt.Errorf("malformed clause id %q", id)
		}
		nums[i] = n
	}
	return nums, nil
}

// compareNumbers orders clause numbers as the specification does: 3.1 < 3.2.1 < 3.3 < 4.
func compareNumbers(a, b []int) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] - b[i]
		}
	}
	return len(a) - len(b)
}
