package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"regexp"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/assess"
)

// TestJUnitParses reads the JUnit XML back and checks its counts against the
// report's items.
func TestJUnitParses(t *testing.T) {
	r := sampleReport()
	var b bytes.Buffer
	if err := WriteJUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("the JUnit XML does not parse: %v", err)
	}
	if len(doc.Suites) != len(r.Clauses) {
		t.Fatalf("%d suites, want %d", len(doc.Suites), len(r.Clauses))
	}
	want := map[string]int{
		"tests":    total(r.Summary.Items),
		"failures": r.Summary.Items[assess.Fail],
		"errors":   r.Summary.Items[assess.Error],
		"skipped":  total(r.Summary.Items) - r.Summary.Items[assess.Pass] - r.Summary.Items[assess.Fail] - r.Summary.Items[assess.Error],
	}
	got := map[string]int{"tests": doc.Tests, "failures": doc.Failures, "errors": doc.Errors, "skipped": doc.Skipped}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("testsuites %s = %d, want %d", k, got[k], n)
		}
	}
	var cases, failures, errors, skipped int
	for i, s := range doc.Suites {
		cl := r.Clauses[i]
		if s.Name != cl.ID+" "+cl.Title {
			t.Errorf("suite name %q", s.Name)
		}
		var f, e, sk int
		for _, c := range s.Cases {
			if c.ClassName != cl.ID || !strings.HasPrefix(c.Name, cl.ID+"-") {
				t.Errorf("case %q has classname %q", c.Name, c.ClassName)
			}
			f += b2i(c.Failure != nil)
			e += b2i(c.Error != nil)
			sk += b2i(c.Skipped != nil)
		}
		if s.Tests != len(s.Cases) || s.Failures != f || s.Errors != e || s.Skipped != sk {
			t.Errorf("suite %s counts %d/%d/%d/%d, cases say %d/%d/%d/%d", s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, len(s.Cases), f, e, sk)
		}
		cases, failures, errors, skipped = cases+len(s.Cases), failures+f, errors+e, skipped+sk
	}
	if cases != doc.Tests || failures != doc.Failures || errors != doc.Errors || skipped != doc.Skipped {
		t.Errorf("testsuites counts do not add up")
	}
	// 5.2.2-2 failed with its reason; 10.1-1 is skipped as not_applicable;
	// 5.2.2-3 took the 1.5 s of tls.versions.
	c := doc.Suites[1].Cases[1]
	if c.Failure == nil || c.Failure.Message != r.Clauses[1].Items[1].Reason {
		t.Errorf("5.2.2-2: %+v", c)
	}
	if sk := doc.Suites[3].Cases[0].Skipped; sk == nil || !strings.HasPrefix(sk.Message, "not_applicable: ") {
		t.Errorf("10.1-1: %+v", doc.Suites[3].Cases[0])
	}
	if tm := doc.Suites[1].Cases[2].Time; tm != "1.500" {
		t.Errorf("5.2.2-3 time %s", tm)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestSARIFShape reads the SARIF back as plain JSON and checks the fields the
// 2.1.0 schema requires and the ones code scanning tools read.
func TestSARIFShape(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSARIF(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name, Version, InformationURI string
					Rules                         []struct {
						ID               string
						ShortDescription struct{ Text string }
					}
				}
			}
			Results []struct {
				RuleID    string
				RuleIndex *int
				Level     string
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           *struct{ StartLine int }
					}
				}
				Properties struct{ Items []string }
			}
		}
	}
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || !strings.HasPrefix(log.Schema, "https://") || len(log.Runs) != 1 {
		t.Fatalf("header: %q %q runs=%d", log.Version, log.Schema, len(log.Runs))
	}
	run := log.Runs[0]
	d := run.Tool.Driver
	if d.Name != "bankguard assess" || d.Version != "0.4.0" || d.InformationURI == "" {
		t.Errorf("driver: %+v", d)
	}
	if len(d.Rules) != 2 || d.Rules[0].ID != "private-key" || d.Rules[0].ShortDescription.Text == "" {
		t.Errorf("rules: %+v", d.Rules)
	}
	if len(run.Results) != 2 {
		t.Fatalf("%d results, want the 2 findings", len(run.Results))
	}
	r0, r1 := run.Results[0], run.Results[1]
	loc := r0.Locations[0].PhysicalLocation
	if r0.RuleID != "private-key" || r0.Level != "error" || r0.Message.Text == "" ||
		loc.ArtifactLocation.URI != "conf/app%20settings.yaml" || loc.Region == nil || loc.Region.StartLine != 12 ||
		len(r0.Properties.Items) != 1 || r0.Properties.Items[0] != "3.3.4-2" {
		t.Errorf("first result: %+v", r0)
	}
	if r1.Level != "note" || r1.Locations[0].PhysicalLocation.Region != nil || r1.Locations[0].PhysicalLocation.ArtifactLocation.URI != "go.sum" ||
		r1.RuleIndex == nil || *r1.RuleIndex != 1 {
		t.Errorf("second result: %+v", r1)
	}
}

// TestSARIFNoFindings gives empty arrays, not null, when no file was scanned.
func TestSARIFNoFindings(t *testing.T) {
	r := sampleReport()
	r.Results = r.Results[:3]
	var b bytes.Buffer
	if err := WriteSARIF(&b, r); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if !strings.Contains(s, `"results": []`) || !strings.Contains(s, `"rules": []`) || strings.Contains(s, "null") {
		t.Errorf("empty SARIF:\n%s", s)
	}
}

func TestFileURI(t *testing.T) {
	for in, want := range map[string]string{
		"conf/app.yaml":     "conf/app.yaml",
		"./conf/a b#c.yaml": "conf/a%20b%23c.yaml",
		"/etc/bank/x.pem":   "file:///etc/bank/x.pem",
		"中文/配置.yaml":        "%E4%B8%AD%E6%96%87/%E9%85%8D%E7%BD%AE.yaml",
	} {
		if got := fileURI(in); got != want {
			t.Errorf("fileURI(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestHTMLStructure checks the page's content and that it loads nothing.
func TestHTMLStructure(t *testing.T) {
	r := sampleReport()
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	must := []string{
		`<meta charset="utf-8">`,
		`http-equiv="Content-Security-Policy"`,
		"default-src &#39;none&#39;",
		"T/PCAC 0008-2020 检测报告 — assessment report",
		`id="summary"`,
		"@media print",
		"gw.example.test:8443",
		"1m23s", // duration
		"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;",
		"检测方法", "通过标准", "<details>",
		"王审核", // the judgement's assessor
		"conf/app settings.yaml:12",
	}
	for _, cl := range r.Clauses {
		must = append(must, `id="clause-`+cl.ID+`"`, cl.Title)
		for _, it := range cl.Items {
			must = append(must, `id="item-`+it.ID+`"`)
		}
	}
	for _, v := range assess.Verdicts {
		must = append(must, `data-verdict="`+string(v)+`"`, `value="`+string(v)+`"`)
	}
	for _, m := range must {
		if !strings.Contains(s, m) {
			t.Errorf("the page lacks %q", m)
		}
	}
	mustNot := []string{"<script>alert", "<img src=x", "<link", "<script src", "@import", "url(", "<iframe", "<object", "<embed"}
	for _, m := range mustNot {
		if strings.Contains(strings.ToLower(s), m) {
			t.Errorf("the page contains %q", m)
		}
	}
	// No attribute loads anything from the network.
	if m := regexp.MustCompile(`(?i)(src|href|action|srcset|poster|data)\s*=\s*["']?\s*(https?:)?//`).FindString(s); m != "" {
		t.Errorf("the page references an external asset: %s", m)
	}
	if n := strings.Count(s, "<script"); n != 1 {
		t.Errorf("%d script elements, want the one inline script", n)
	}
	if n := strings.Count(s, `<tr class="item"`); n != total(r.Summary.Items) {
		t.Errorf("%d item rows, want %d", n, total(r.Summary.Items))
	}
}

// TestHTMLScriptHash checks that the CSP allows exactly the page's script.
func TestHTMLScriptHash(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	start := strings.Index(s, "<script>") + len("<script>")
	end := strings.Index(s, "</script>")
	if start < len("<script>") || end < start {
		t.Fatal("no inline script")
	}
	if want := "sha256-" + hashOf(s[start:end]); !strings.Contains(s, want) {
		t.Errorf("the CSP does not name the script's hash %s", want)
	}
}
