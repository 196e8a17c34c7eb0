package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/assess/catalog"
	"github.com/bankguard/bankguard/assess/workbook"
)

// assess runs `bankguard assess ARGS` and returns the exit code and output.
func assessRunArgs(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"assess"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestAssessDemoWritesSignedReports(t *testing.T) {
	dir := t.TempDir()
	_, stop := runDemo(t, dir)
	defer stop()
	profilePath := filepath.Join(dir, "demo", "profile.json")
	key := filepath.Join(dir, "assessor.pem")
	if code, out, errOut := assessRunArgs(t, "keygen", "--out", key); code != 0 {
		t.Fatalf("keygen: %d %s %s", code, out, errOut)
	}
	wb := filepath.Join(dir, "workbook.yaml")
	if code, _, errOut := assessRunArgs(t, "workbook", "init", "--out", wb); code != 0 {
		t.Fatalf("workbook init: %s", errOut)
	}
	cat, _ := catalog.Load()
	w, err := workbook.Load(wb, cat)
	if err != nil {
		t.Fatal(err)
	}
	w.Items[1].Verdict, w.Items[1].Reason, w.Items[1].Assessor, w.Items[1].Date = "fail", "no secure coding standard was shown", "Test", "2026-11-27"
	os.Remove(wb)
	if err := w.Write(wb); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "report")
	code, stdout, stderr := assessRunArgs(t, "--profile", profilePath, "--out", out, "--workbook", wb, "--sign-key", key)
	if code != 1 { // the workbook's fail
		t.Fatalf("assess: exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	for _, f := range []string{"report.html", "report.json", "report.junit.xml", "report.sarif", "report.sig.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	var rep assess.Report
	raw, _ := os.ReadFile(filepath.Join(out, "report.json"))
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	items := 0
	for _, n := range rep.Summary.Items {
		items += n
	}
	if items != 138 || rep.Summary.Items[assess.Fail] != 1 || rep.Summary.Items[assess.Pass] == 0 || rep.Summary.Items[assess.Error] != 0 {
		t.Errorf("summary: %v", rep.Summary.Items)
	}
	if strings.Contains(string(raw), "PRIVATE KEY") {
		t.Error("the report holds key material")
	}

	if code, stdout, _ := assessRunArgs(t, "verify-report", "--key", key+".pub", out); code != 0 || !strings.Contains(stdout, "valid") {
		t.Fatalf("verify-report: %d %s", code, stdout)
	}
	html := filepath.Join(out, "report.html")
	page, _ := os.ReadFile(html)
	if err := os.WriteFile(html, bytes.Replace(page, []byte("</body>"), []byte("<p>all pass</p></body>"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, _ := assessRunArgs(t, "verify-report", "--key", key+".pub", out); code != 1 || !strings.Contains(stdout, "report.html") {
		t.Errorf("verify-report of an edited report: %d %s", code, stdout)
	}

	// --only restricts the report and the checks.
	code, stdout, stderr = assessRunArgs(t, "--profile", profilePath, "--out", filepath.Join(dir, "only"), "--only", "5.2.2,signature.replay", "--format", "json")
	if code != 0 {
		t.Fatalf("--only: exit %d\n%s\n%s", code, stdout, stderr)
	}
	raw, _ = os.ReadFile(filepath.Join(dir, "only", "report.json"))
	rep = assess.Report{}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Clauses {
		if c.ID != "5.2.2" && c.ID != "3.3.2" {
			t.Errorf("--only 5.2.2,signature.replay reports clause %s", c.ID)
		}
	}
}

func TestAssessRefusesWhatItCannotRun(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"schema":"bankguard-profile/v1","target":{"base_url":"http://x"},"apps":[]}`), 0o644)
	if code, _, stderr := assessRunArgs(t, "--profile", bad); code != 2 || !strings.Contains(stderr, "target.base_url") {
		t.Errorf("bad profile: exit %d, %s", code, stderr)
	}
	unreachable := filepath.Join(dir, "unreachable.json")
	os.WriteFile(unreachable, []byte(`{"schema":"bankguard-profile/v1","target":{"base_url":"https://127.0.0.1:1"},
		"apps":[{"app_id":"a","level":"A1","credentials":[{"keyid":"k","alg":"hmac-sm3","secret_file":"s"}]}],"endpoints":{}}`), 0o644)
	if code, _, stderr := assessRunArgs(t, "--profile", unreachable, "--out", filepath.Join(dir, "r")); code != 2 || !strings.Contains(stderr, "cannot be reached") {
		t.Errorf("unreachable target: exit %d, %s", code, stderr)
	}
	if code, _, stderr := assessRunArgs(t); code != 2 || !strings.Contains(stderr, "--profile is required") {
		t.Errorf("no profile: exit %d, %s", code, stderr)
	}
	if code, _, stderr := assessRunArgs(t, "files", "--src", filepath.Join(dir, "nope")); code != 2 || !strings.Contains(stderr, "src") {
		t.Errorf("missing directory: exit %d, %s", code, stderr)
	}
}

func TestAssessFilesFindsAPlantedSecret(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	os.MkdirAll(cfg, 0o755)
	os.WriteFile(filepath.Join(cfg, "app.yaml"), []byte("bank:\n  app_id: APP1\n  app_secret: \"q8Z3mV1xK9pL2wR7tY4uE6\"\n"), 0o644)
	code, stdout, stderr := assessRunArgs(t, "files", "--config", cfg, "--out", filepath.Join(dir, "out"), "--format", "json,sarif")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	sarif, _ := os.ReadFile(filepath.Join(dir, "out", "report.sarif"))
	if !strings.Contains(string(sarif), "app.yaml") || strings.Contains(string(sarif), "q8Z3mV1xK9pL2wR7tY4uE6") {
		t.Errorf("the SARIF report should name the file and not hold the secret:\n%s", sarif)
	}
}

func TestAssessCatalog(t *testing.T) {
	code, stdout, stderr := assessRunArgs(t, "catalog")
	if code != 0 || !strings.Contains(stderr, "138 items") || !strings.Contains(stdout, "5.2.2-3") {
		t.Errorf("catalog: %d %s", code, stderr)
	}
	code, stdout, _ = assessRunArgs(t, "catalog", "--clause", "5.2.2", "--json")
	var items []map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &items) != nil || len(items) != 3 {
		t.Errorf("catalog --clause 5.2.2 --json: %d, %d items", code, len(items))
	}
	if code, _, stderr := assessRunArgs(t, "catalog", "--kind", "magic"); code != 2 || !strings.Contains(stderr, "unknown kind") {
		t.Errorf("bad kind: %d %s", code, stderr)
	}
}
