package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/assess/catalog"
)

var update = flag.Bool("update", false, "regenerate the golden reports in testdata")

// TestFixture keeps the fixture honest: its ids are the catalog's, its
// clauses' titles and sides are the catalog's, and every verdict is there.
func TestFixture(t *testing.T) {
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	r := sampleReport()
	seen := map[assess.Verdict]bool{}
	for _, cl := range r.Clauses {
		c, ok := cat.Clause(cl.ID)
		if !ok || c.Title != cl.Title || c.Side != cl.Side || c.Section != cl.Section {
			t.Errorf("clause %s does not match the catalog", cl.ID)
		}
		for _, it := range cl.Items {
			if _, ok := cat.Item(it.ID); !ok {
				t.Errorf("item %s is not in the catalog", it.ID)
			}
			seen[it.Verdict] = true
		}
	}
	for _, v := range assess.Verdicts {
		if !seen[v] {
			t.Errorf("no item has the verdict %s", v)
		}
	}
}

// TestGolden compares the JSON, JUnit and SARIF forms of the fixed report with
// testdata; run with -update to regenerate them.
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		file  string
		write func(io.Writer, *assess.Report) error
	}{
		{"report.json", WriteJSON},
		{"report.junit.xml", WriteJUnit},
		{"report.sarif", WriteSARIF},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b, sampleReport()); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("%s differs from the golden file; got:\n%s", tc.file, b.String())
			}
		})
	}
}

// TestJSONRoundTrip reads the JSON back into a Report: nothing is lost.
func TestJSONRoundTrip(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var got assess.Report
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := sampleReport()
	if got.Schema != assess.ReportSchema || !got.Started.Equal(want.Started) || len(got.Clauses) != len(want.Clauses) {
		t.Fatalf("round trip lost the header or clauses: %+v", got)
	}
	if got.Results[1].Evidence[0].Response != want.Results[1].Evidence[0].Response {
		t.Errorf("evidence changed in the round trip")
	}
	if got.Summary.Items[assess.Fail] != 2 || got.Clauses[3].Items[0].Judgement == nil {
		t.Errorf("summary or judgement lost: %+v", got.Summary.Items)
	}
}

// TestJSONEmpty writes [] and {} rather than null for an empty report.
func TestJSONEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, &assess.Report{}); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if strings.Contains(s, "null") || !strings.Contains(s, `"schema": "`+assess.ReportSchema+`"`) {
		t.Errorf("empty report:\n%s", s)
	}
}

func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "nested")
	paths, err := Write(dir, sampleReport(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		if filepath.Dir(p) != dir {
			t.Errorf("%s is not in %s", p, dir)
		}
		names = append(names, filepath.Base(p))
	}
	want := []string{"report.html", "report.json", "report.junit.xml", "report.sarif"}
	if !slices.Equal(names, want) {
		t.Errorf("wrote %v, want %v", names, want)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(want) {
		t.Errorf("the directory holds %d entries, want %d (no temporary files left)", len(entries), len(want))
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("dir mode: %v %v", fi.Mode(), err)
	}

	paths, err = Write(dir, sampleReport(), []string{"sarif", " JSON", "sarif"})
	if err != nil || len(paths) != 2 || filepath.Base(paths[0]) != "report.sarif" {
		t.Errorf("chosen formats: %v %v", paths, err)
	}
}

func TestWriteUnknownFormat(t *testing.T) {
	dir := t.TempDir()
	_, err := Write(dir, sampleReport(), []string{"json", "pdf"})
	if err == nil {
		t.Fatal("no error for an unknown format")
	}
	for _, s := range []string{`"pdf"`, "html", "json", "junit", "sarif"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %s", err, s)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files were written before the bad format was noticed: %v", entries)
	}
}

// TestWritersEdgeCases: an empty report renders in every format, a nil one
// is an error, never a panic.
func TestWritersEdgeCases(t *testing.T) {
	for _, f := range Formats {
		write := writer(f.Name)
		var b bytes.Buffer
		if err := write(&b, &assess.Report{}); err != nil || b.Len() == 0 {
			t.Errorf("%s of an empty report: %v", f.Name, err)
		}
		if err := write(io.Discard, nil); err == nil {
			t.Errorf("%s of a nil report: no error", f.Name)
		}
	}
	if _, err := Write(t.TempDir(), nil, nil); err == nil {
		t.Error("Write of a nil report: no error")
	}
}
