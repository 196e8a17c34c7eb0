package probe_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/assess/catalog"
	"github.com/bankguard/bankguard/assess/internal/weak"
	"github.com/bankguard/bankguard/assess/probe"
	"github.com/bankguard/bankguard/profile"
)

// A mutant switches one control off; its check must fail on it and give
// onDemo on the intact demo (pass, or not_tested where the demo lacks what
// the check needs — stated honestly, never pass). Where the demo lacks the
// control itself and the check fails on it (onDemo fail), the mutation adds
// the control instead (fix) and the check must pass on it: either way the
// check is shown to tell the two apart.
type mutant struct {
	// check is the id of the check under test.
	check string
	// onDemo is the check's verdict on the intact demo.
	onDemo assess.Verdict
	// name says which control the mutation switches off.
	name string
	// mutation is applied by a front proxy; profile, if set, changes the
	// profile the check runs with (after the front's changes).
	mutation weak.Mutation
	profile  func(*profile.Profile)
	// fix marks a mutation that adds a control the demo lacks.
	fix bool
}

// mutants is the table: every dynamic check appears at least once.
func mutants() []mutant {
	return slices.Concat(channelMutants, surfaceMutants, authnMutants, authzMutants, tokenMutants)
}

// tokens are the users' access tokens, shared by every target of the table.
var tokens = probe.NewTokenCache()

var (
	demoOnce sync.Once
	theDemo  *weak.Demo
	demoErr  error
	stopDemo func() error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if stopDemo != nil {
		if err := stopDemo(); err != nil {
			fmt.Fprintln(os.Stderr, "demo stopped with", err)
		}
	}
	if theDemo != nil {
		os.RemoveAll(theDemo.Dir)
	}
	os.Exit(code)
}

// startDemo starts one demo for the whole test binary.
func startDemo(t *testing.T) *weak.Demo {
	t.Helper()
	demoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bankguard-assess-")
		if err != nil {
			demoErr = err
			return
		}
		theDemo, stopDemo, demoErr = weak.StartDemo(context.Background(), dir)
	})
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	return theDemo
}

// runChecks runs the named checks (all when ids is empty) against p.
func runChecks(t *testing.T, p *profile.Profile, ids ...string) map[string]assess.Result {
	t.Helper()
	target, err := probe.NewTarget(p)
	if err != nil {
		t.Fatal(err)
	}
	target.Tokens = tokens // one sign-in per user for the whole table
	if err := target.Authorize(context.Background()); err != nil {
		t.Fatal(err)
	}
	var cs []assess.Check
	for _, c := range probe.Checks(target) {
		if len(ids) == 0 || slices.Contains(ids, c.ID) {
			cs = append(cs, c)
		}
	}
	out := map[string]assess.Result{}
	for _, r := range (&assess.Runner{}).Run(context.Background(), cs) {
		out[r.Check] = r
	}
	return out
}

func TestEveryCheckHasAMutant(t *testing.T) {
	target, err := probe.NewTarget(startDemo(t).Profile)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range probe.Checks(target) {
		if seen[c.ID] {
			t.Errorf("two checks have the id %s", c.ID)
		}
		seen[c.ID] = true
		if !slices.ContainsFunc(mutants(), func(m mutant) bool { return m.check == c.ID }) {
			t.Errorf("check %s has no mutant: nothing shows it can fail", c.ID)
		}
	}
	for _, m := range mutants() {
		if !seen[m.check] {
			t.Errorf("mutant %q names no check %s", m.name, m.check)
		}
	}
}

func TestChecksOnTheDemo(t *testing.T) {
	d := startDemo(t)
	results := runChecks(t, d.Profile)
	want := map[string]assess.Verdict{}
	for _, m := range mutants() {
		want[m.check] = m.onDemo
	}
	for id, r := range results {
		if w, ok := want[id]; ok && r.Verdict != w {
			t.Errorf("%s on the demo: %s (%s), want %s", id, r.Verdict, r.Reason, w)
		}
	}
}

func TestMutantsFail(t *testing.T) {
	d := startDemo(t)
	for _, m := range mutants() {
		t.Run(m.check+"/"+m.name, func(t *testing.T) {
			p := d.Front(t, m.mutation)
			if m.profile != nil {
				m.profile(p)
			}
			r, ok := runChecks(t, p, m.check)[m.check]
			if !ok {
				t.Fatalf("no check %s", m.check)
			}
			want := assess.Fail
			if m.fix {
				want = assess.Pass
			}
			if r.Verdict != want {
				t.Errorf("%s with %s: %s (%s), want %s", m.check, m.name, r.Verdict, r.Reason, want)
			}
		})
	}
}

// TestEveryCheckNamesDynamicItems: a check gives evidence only for items
// of the catalog that network probes can decide.
func TestEveryCheckNamesDynamicItems(t *testing.T) {
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	target, err := probe.NewTarget(startDemo(t).Profile)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range probe.Checks(target) {
		if len(c.Items) == 0 || c.Title == "" {
			t.Errorf("%s has no items or no title", c.ID)
		}
		for _, id := range c.Items {
			if it, ok := cat.Item(id); !ok || !it.Has(catalog.KindDynamic) {
				t.Errorf("%s names item %s, which the catalog lacks or which has no dynamic kind", c.ID, id)
			}
		}
	}
}
