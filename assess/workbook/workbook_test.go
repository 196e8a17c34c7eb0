package workbook

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/assess/catalog"
)

func load(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func TestNewHasEveryManualItemAndNothingElse(t *testing.T) {
	cat := load(t)
	w := New(cat, "demo")
	want := cat.Select(catalog.Filter{Kind: catalog.KindManual})
	if len(w.Items) != len(want) {
		t.Fatalf("workbook has %d items, the catalog %d manual ones", len(w.Items), len(want))
	}
	for i, e := range w.Items {
		if e.ID != want[i].ID || e.Method == "" || e.Criterion == "" || e.Summary == "" || e.Verdict != "manual" {
			t.Errorf("item %d: %+v", i, e)
		}
	}
	if len(w.Judgements()) != 0 {
		t.Error("an unfilled workbook judges items")
	}
}

func TestRoundTripAndRefusesOverwrite(t *testing.T) {
	cat := load(t)
	path := filepath.Join(t.TempDir(), "workbook.yaml")
	if err := New(cat, "demo").Write(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "检测") || !strings.HasPrefix(string(b), "# T/PCAC") {
		t.Error("the written workbook lacks its header or the Chinese text")
	}
	w, err := Load(path, cat)
	if err != nil {
		t.Fatal(err)
	}
	w.Items[0].Verdict, w.Items[0].Assessor, w.Items[0].Date = "pass", "Li Lei", "2026-11-27"
	w.Items[1].Verdict, w.Items[1].Reason, w.Items[1].Assessor, w.Items[1].Date = "not_applicable", "no SDK is offered", "Li Lei", "2026-11-27"
	if err := w.Validate(cat); err != nil {
		t.Fatal(err)
	}
	j := w.Judgements()
	if len(j) != 2 || j[w.Items[0].ID].Verdict != assess.Pass || j[w.Items[1].ID].Reason == "" {
		t.Errorf("judgements: %+v", j)
	}
	if err := w.Write(path); err == nil || !strings.Contains(err.Error(), "not overwritten") {
		t.Errorf("overwrite: %v", err)
	}
}

func TestRefusesBadEntries(t *testing.T) {
	cat := load(t)
	manual := New(cat, "").Items[0].ID
	dynamicOnly := cat.Select(catalog.Filter{Kind: catalog.KindDynamic})
	var automated string
	for _, it := range dynamicOnly {
		if !it.Has(catalog.KindManual) {
			automated = it.ID
			break
		}
	}
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"schema", "schema: other/v1\nitems: []\n", "schema"},
		{"unknown field", "schema: bankguard-workbook/v1\nitems:\n  - id: " + manual + "\n    verdikt: pass\n", "verdikt"},
		{"unknown item", "schema: bankguard-workbook/v1\nitems:\n  - id: 99.9-1\n", "not an item"},
		{"automated item", "schema: bankguard-workbook/v1\nitems:\n  - id: \"" + automated + "\"\n", "not a manual item"},
		{"twice", "schema: bankguard-workbook/v1\nitems:\n  - id: \"" + manual + "\"\n  - id: \"" + manual + "\"\n", "twice"},
		{"bad verdict", "schema: bankguard-workbook/v1\nitems:\n  - id: \"" + manual + "\"\n    verdict: ok\n", "verdict"},
		{"fail without reason", "schema: bankguard-workbook/v1\nitems:\n  - id: \"" + manual + "\"\n    verdict: fail\n    assessor: A\n    date: 2026-11-27\n", "reason"},
		{"no assessor", "schema: bankguard-workbook/v1\nitems:\n  - id: \"" + manual + "\"\n    verdict: pass\n    date: 2026-11-27\n", "assessor"},
		{"bad date", "schema: bankguard-workbook/v1\nitems:\n  - id: \"" + manual + "\"\n    verdict: pass\n    assessor: A\n    date: 27.11.2026\n", "date"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), cat)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse: %v, want an error about %q", err, tc.want)
			}
		})
	}
}

// FuzzParse feeds arbitrary bytes to the workbook parser: it must refuse or
// accept without panicking, and what it accepts must judge only manual items
// with valid verdicts.
func FuzzParse(f *testing.F) {
	cat := load(f)
	var b strings.Builder
	w := New(cat, "fuzz")
	w.Items = w.Items[:2]
	w.Items[0].Verdict, w.Items[0].Assessor, w.Items[0].Date = "pass", "A", "2026-11-27"
	path := filepath.Join(f.TempDir(), "seed.yaml")
	if err := w.Write(path); err != nil {
		f.Fatal(err)
	}
	seed, _ := os.ReadFile(path)
	b.Write(seed)
	f.Add([]byte(b.String()))
	f.Add([]byte("schema: bankguard-workbook/v1\nitems: []\n"))
	f.Add([]byte("schema: bankguard-workbook/v1\nitems:\n  - id: \"3.1-2\"\n    verdict: fail\n"))
	f.Add([]byte("{{{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := Parse(data, cat)
		if err != nil {
			return
		}
		for id, j := range w.Judgements() {
			it, ok := cat.Item(id)
			if !ok || !it.Has(catalog.KindManual) || !j.Verdict.Valid() || j.Verdict == assess.Manual {
				t.Fatalf("accepted a judgement of %s: %+v", id, j)
			}
		}
	})
}
