package scan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/assess"
)

var testNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func clock() time.Time { return testNow }

func TestLineTimestamp(t *testing.T) {
	tests := []struct {
		line string
		want string // RFC 3339 in UTC, "" for none
	}{
		{"2025-05-01T08:30:00+08:00 INFO start", "2025-05-01T00:30:00Z"},
		{"2025-05-01T08:30:00.123456Z INFO start", "2025-05-01T08:30:00Z"},
		{"2025-05-01 08:30:00,123 [main] INFO", "2025-05-01T08:30:00Z"},
		{"[2025/05/01 08:30:00] nginx", "2025-05-01T08:30:00Z"},
		{`{"level":"info","ts":1746088200.5,"msg":"x"}`, "2025-05-01T08:30:00Z"},
		{`{"time":1746088200000}`, "2025-05-01T08:30:00Z"},
		{`{"@timestamp":"2025-05-01T08:30:00Z","message":"x"}`, "2025-05-01T08:30:00Z"},
		{`{"timestamp":"2025-05-01 08:30:00"}`, "2025-05-01T08:30:00Z"},
		{`10.0.0.1 - - [01/May/2025:08:30:00 +0800] "GET / HTTP/1.1" 200`, "2025-05-01T00:30:00Z"},
		{"2025-02-30 08:30:00 impossible date", ""},
		{"2025-05-01T25:30:00Z impossible hour", ""},
		{"no time here 12345", ""},
		{`{"ts":"soon"}`, ""},
		{`{"ts":-5}`, ""},
	}
	for _, tc := range tests {
		got, ok := lineTimestamp(tc.line)
		if tc.want == "" {
			if ok {
				t.Errorf("%q: got %v, want none", tc.line, got)
			}
			continue
		}
		if !ok || got.UTC().Format(time.RFC3339) != tc.want {
			t.Errorf("%q: got %v (%v), want %s", tc.line, got.UTC(), ok, tc.want)
		}
	}
}

// TestRetention plants logs of various ages and formats and expects the
// retention verdict for each side.
func TestRetention(t *testing.T) {
	tests := []struct {
		name  string
		side  string
		files map[string]string
		want  assess.Verdict
		path  string
		line  int
		says  string
	}{
		{"bank, older than a year", SideBank, map[string]string{
			"app.log":      "2026-05-30 10:00:00 INFO recent\n",
			"app.log.3.gz": "gz:2025-05-01 10:00:00 INFO old\n",
		}, assess.Pass, "logs/app.log.3.gz", 1, "395 days old"},
		{"bank, half a year", SideBank, map[string]string{
			"gateway.log": "# header\n\n2025-12-01T00:00:00Z INFO first\n",
		}, assess.Fail, "logs/gateway.log", 3, "The oldest entry is 182 days old (logs/gateway.log line 3); T/PCAC 0008-2020 6.1.1-3 asks ≥ 1 year."},
		{"app, seven months", SideApp, map[string]string{
			"audit.jsonl": `{"ts":1761955200,"msg":"x"}` + "\n",
		}, assess.Pass, "logs/audit.jsonl", 1, "212 days old"},
		{"app, three months", SideApp, map[string]string{
			"audit.jsonl": `{"@timestamp":"2026-03-01T00:00:00Z"}` + "\n",
		}, assess.Fail, "logs/audit.jsonl", 1, "11.3.4-3 asks ≥ 6 months"},
		{"future and ancient times passed over", SideBank, map[string]string{
			"x.log": "1970-01-01 00:00:00 epoch\n2099-01-01 00:00:00 future\n2025-01-01 00:00:00 real\n",
		}, assess.Pass, "logs/x.log", 3, "516 days old"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				if s, ok := strings.CutPrefix(content, "gz:"); ok {
					content = gzipText(t, s)
				}
				plant(t, dir, map[string]string{name: content})
			}
			r := run(t, Options{Logs: dir, Side: tc.side, Now: clock}, "logs.retention")
			if r.Verdict != tc.want || !strings.Contains(r.Reason, tc.says) {
				t.Fatalf("got %s (%s), want %s saying %q", r.Verdict, r.Reason, tc.want, tc.says)
			}
			if len(r.Findings) != 1 || r.Findings[0].Path != tc.path || r.Findings[0].Line != tc.line || r.Findings[0].Level != "note" {
				t.Errorf("findings %+v, want one note at %s line %d", r.Findings, tc.path, tc.line)
			}
		})
	}
}

// TestRetentionByModTime checks the fallback to modification times, which
// can show logs old enough but can never fail them.
func TestRetentionByModTime(t *testing.T) {
	untimed := func(t *testing.T, age time.Duration) string {
		dir := t.TempDir()
		plant(t, dir, map[string]string{"app.log": "started\nready\n"})
		mt := testNow.Add(-age)
		if err := os.Chtimes(filepath.Join(dir, "app.log"), mt, mt); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	r := run(t, Options{Logs: untimed(t, 400*24*time.Hour), Now: clock}, "logs.retention")
	if r.Verdict != assess.Pass || !strings.Contains(r.Reason, "last modified 400 days ago") {
		t.Errorf("old untimed log: %s (%s), want pass by modification time", r.Verdict, r.Reason)
	}
	r = run(t, Options{Logs: untimed(t, 10*24*time.Hour), Now: clock}, "logs.retention")
	if r.Verdict != assess.NotTested || !strings.Contains(r.Reason, "No timestamp") {
		t.Errorf("young untimed log: %s (%s), want not_tested", r.Verdict, r.Reason)
	}
	dir := untimed(t, 10*24*time.Hour)
	plant(t, dir, map[string]string{"b.log": "2026-05-01 00:00:00 x\n"})
	r = run(t, Options{Logs: dir, Now: clock}, "logs.retention")
	if r.Verdict != assess.Fail || !strings.Contains(r.Reason, "1 file had no timestamp") {
		t.Errorf("young logs, one untimed: %s (%s), want fail mentioning the untimed file", r.Verdict, r.Reason)
	}
	r = run(t, Options{Logs: t.TempDir(), Now: clock}, "logs.retention")
	if r.Verdict != assess.NotTested {
		t.Errorf("empty logs: %s (%s), want not_tested", r.Verdict, r.Reason)
	}
	r = run(t, Options{Now: clock}, "logs.retention")
	if r.Verdict != assess.NotTested || !strings.Contains(r.Reason, "--logs") {
		t.Errorf("no --logs: %s (%s), want not_tested naming --logs", r.Verdict, r.Reason)
	}
}
