package scan

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/assess"
)

func gzipText(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	if _, err := z.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestPersonalDataFound plants unmasked personal data in log files and
// expects logs.personal-data to fail at its line without showing it.
func TestPersonalDataFound(t *testing.T) {
	card, id, phone := cardNumber(t), idNumber(t, false), mobileNumber(t)
	grouped := phone[:3] + " " + phone[3:7] + " " + phone[7:]
	tests := []struct {
		name, file, content, value, rule string
		line                             int
	}{
		{"card in text", "gateway.log", "2026-01-02 10:00:00 INFO start\n2026-01-02 10:00:01 INFO transfer to_card=%V amount=1.00\n", card, "unmasked-card", 2},
		{"id in json", "audit/2026-01-02.jsonl", `{"ts":"2026-01-02T10:00:00Z","msg":"ok"}` + "\n" + `{"ts":"2026-01-02T10:00:01Z","id_no":"%V"}` + "\n", id, "unmasked-id-number", 2},
		{"grouped phone", "app.log", "user phone %V verified\n", grouped, "unmasked-phone", 1},
		{"rotated gzip", "app.log.1.gz", "", card, "unmasked-card", 3},
	}
	for _, tc := range tests {
		for _, side := range []string{SideBank, SideApp} {
			t.Run(tc.name+"/"+side, func(t *testing.T) {
				dir := t.TempDir()
				content := strings.ReplaceAll(tc.content, "%V", tc.value)
				if strings.HasSuffix(tc.file, ".gz") {
					content = gzipText(t, "a\nb\npay card "+tc.value+" ok\n")
				}
				plant(t, dir, map[string]string{tc.file: content})
				r := run(t, Options{Logs: dir, Side: side}, "logs.personal-data")
				if r.Verdict != assess.Fail {
					t.Fatalf("verdict %s (%s), want fail", r.Verdict, r.Reason)
				}
				wantFinding(t, r, tc.rule, "logs/"+tc.file, tc.line)
				noLeak(t, r, tc.value)
				want := []string{"8.3-2"}
				if side == SideApp {
					want = []string{"9.2.1-1", "13.2-1"}
				}
				if !slices.Equal(r.Findings[0].Items, want) {
					t.Errorf("items %v, want %v", r.Findings[0].Items, want)
				}
				if !strings.Contains(r.Findings[0].Excerpt, "*") {
					t.Errorf("excerpt %q shows no masked value", r.Findings[0].Excerpt)
				}
			})
		}
	}
}

// TestPersonalDataClean checks lookalikes that must pass: masked values,
// an order id that fails the identity checksum, UUIDs, amounts, times.
func TestPersonalDataClean(t *testing.T) {
	dir := t.TempDir()
	plant(t, dir, map[string]string{
		"gateway.log": strings.Join([]string{
			"2026-01-02 10:00:00 INFO transfer to_card=621999******1234 phone=138****5678 id=1*************1X",
			"2026-01-02 10:00:01 INFO order_id=" + idNumber(t, true) + " amount=13812345678.50",
			"2026-01-02 10:00:02 INFO request_id=123e4567-e89b-12d3-a456-426614174000 txn=20261126223116339876241510c9d",
			`{"ts":1767348000,"user":"u-7f3a","latency_ms":12,"status":200}`,
			"",
		}, "\n"),
		"old.log.gz": gzipText(t, "2025-01-01 00:00:00 nothing personal\n"),
	})
	r := run(t, Options{Logs: dir}, "logs.personal-data")
	if r.Verdict != assess.Pass {
		for _, f := range r.Findings {
			t.Logf("%s line %d: %s | %s", f.Path, f.Line, f.Message, f.Excerpt)
		}
		t.Fatalf("verdict %s (%s), want pass", r.Verdict, r.Reason)
	}
	if !strings.Contains(r.Reason, "2 files") || !strings.Contains(r.Reason, "Names") {
		t.Errorf("reason %q should count the files and say what is not searched", r.Reason)
	}
}

func TestPersonalDataNotTested(t *testing.T) {
	r := run(t, Options{}, "logs.personal-data")
	if r.Verdict != assess.NotTested || !strings.Contains(r.Reason, "--logs") {
		t.Errorf("no --logs: %s (%s), want not_tested naming --logs", r.Verdict, r.Reason)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "core.bin"), []byte{0, 1, 2}, 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, Options{Logs: dir}, "logs.personal-data")
	if r.Verdict != assess.NotTested || !strings.Contains(r.Reason, "binary") {
		t.Errorf("only binary files: %s (%s), want not_tested", r.Verdict, r.Reason)
	}
}
