package assess

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/assess/catalog"
)

func TestCombine(t *testing.T) {
	for _, tc := range []struct {
		in   []Verdict
		want Verdict
	}{
		{nil, NotTested},
		{[]Verdict{Pass}, Pass},
		{[]Verdict{Pass, Pass}, Pass},
		{[]Verdict{Pass, Fail}, Fail},
		{[]Verdict{Fail, Error}, Fail},
		{[]Verdict{Pass, Error}, Error},
		{[]Verdict{Pass, NotTested}, Partial},
		{[]Verdict{Pass, Manual}, Partial},
		{[]Verdict{Partial, Pass}, Partial},
		{[]Verdict{NotTested}, NotTested},
		{[]Verdict{NotTested, Manual}, Manual},
		{[]Verdict{Manual}, Manual},
		{[]Verdict{NotApplicable}, NotApplicable},
		{[]Verdict{NotApplicable, Pass}, Pass},
		{[]Verdict{NotApplicable, Manual}, Manual},
		{[]Verdict{"bogus", Pass}, Error},
	} {
		if got := Combine(tc.in...); got != tc.want {
			t.Errorf("Combine(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestRunnerTurnsPanicsOverrunsAndBadVerdictsIntoErrors(t *testing.T) {
	checks := []Check{
		{ID: "ok", Items: []string{"5.2.2-3"}, Run: func(context.Context) Result { return Passf("fine") }},
		{ID: "panics", Run: func(context.Context) Result { panic("boom") }},
		{ID: "hangs", Run: func(ctx context.Context) Result { <-make(chan int); return Result{} }},
		{ID: "no-verdict", Run: func(context.Context) Result { return Result{Reason: "forgot"} }},
	}
	var progress int
	rs := (&Runner{Timeout: 50 * time.Millisecond, Progress: func(done, total int, r Result) { progress++ }}).Run(context.Background(), checks)
	want := []Verdict{Pass, Error, Error, Error}
	for i, r := range rs {
		if r.Check != checks[i].ID || r.Verdict != want[i] {
			t.Errorf("%s: %s (%s), want %s", checks[i].ID, r.Verdict, r.Reason, want[i])
		}
	}
	if progress != len(checks) {
		t.Errorf("progress called %d times", progress)
	}
	if rs[0].Items[0] != "5.2.2-3" {
		t.Error("the runner did not copy the items")
	}
}

func TestAssemble(t *testing.T) {
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	results := []Result{
		{Check: "tls", Items: []string{"5.2.2-3"}, Verdict: Pass, Reason: "TLS 1.0 and 1.1 refused"},
		{Check: "mac", Items: []string{"5.2.2-1"}, Verdict: Pass, Reason: "ok"},
		{Check: "mac2", Items: []string{"5.2.2-1"}, Verdict: Fail, Reason: "tampered body accepted"},
	}
	judged := map[string]Judgement{"3.1-2": {Verdict: Pass, Assessor: "A", Date: "2026-11-27"}}
	rep, err := Assemble(cat, Scope{Dynamic: true}, results, judged)
	if err != nil {
		t.Fatal(err)
	}
	items := map[string]Item{}
	clauses := map[string]Clause{}
	for _, c := range rep.Clauses {
		clauses[c.ID] = c
		for _, it := range c.Items {
			items[it.ID] = it
		}
	}
	if len(items) != len(cat.Items()) {
		t.Errorf("the report has %d items, the catalog %d", len(items), len(cat.Items()))
	}
	check := func(id string, want Verdict, reason string) {
		t.Helper()
		if it := items[id]; it.Verdict != want || !strings.Contains(it.Reason, reason) {
			t.Errorf("%s: %s (%s), want %s with %q", id, it.Verdict, it.Reason, want, reason)
		}
	}
	check("5.2.2-3", Pass, "TLS")
	check("5.2.2-1", Fail, "tampered body accepted")
	check("3.1-2", Pass, "workbook")
	check("3.1-3", Manual, "workbook")
	check("5.2.2-2", NotTested, "no dynamic check")
	check("9.2.1-1", NotTested, "file checks were not run")
	if clauses["5.2.2"].Verdict != Fail {
		t.Errorf("clause 5.2.2: %s, want fail", clauses["5.2.2"].Verdict)
	}
	if !rep.Failed() {
		t.Error("a report with a failed item is not Failed")
	}
	total := 0
	for _, n := range rep.Summary.Items {
		total += n
	}
	if total != len(items) || len(rep.Summary.Sides) != 2 || len(rep.Summary.Sections) != 11 {
		t.Errorf("summary: %+v", rep.Summary)
	}

	if _, err := Assemble(cat, Scope{}, []Result{{Check: "x", Items: []string{"1.1-1"}, Verdict: Pass}}, nil); err == nil {
		t.Error("a check naming an unknown item was accepted")
	}
	if _, err := Assemble(cat, Scope{}, []Result{{Check: "x", Verdict: Pass}, {Check: "x", Verdict: Pass}}, nil); err == nil {
		t.Error("two checks with one id were accepted")
	}
	scoped, err := Assemble(cat, Scope{Items: []string{"5.2"}}, results, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range scoped.Clauses {
		if !strings.HasPrefix(c.ID, "5.2.") {
			t.Errorf("scope 5.2 includes clause %s", c.ID)
		}
	}
}
