package scan

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bankguard/bankguard/assess"
)

// TestRepository runs the secret and key scans over this repository's
// documentation, configuration examples and this package's own source (whose
// tests build their secrets at run time): none holds a secret or a key.
func TestRepository(t *testing.T) {
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Config: filepath.Join(repo, "config"), Src: filepath.Join(repo, "docs")}
	for _, d := range []string{o.Config, o.Src} {
		if _, err := os.Stat(d); err != nil {
			t.Skip("repository layout not found:", err)
		}
	}
	for _, opts := range []Options{o, {Config: filepath.Join(repo, "config"), Src: "."}} {
		for _, id := range []string{"files.secrets", "files.private-keys"} {
			r := run(t, opts, id)
			if r.Verdict != assess.Pass {
				for _, f := range r.Findings {
					t.Logf("%s line %d: %s | %s", f.Path, f.Line, f.Message, f.Excerpt)
				}
				t.Errorf("%s over %s: %s (%s), want pass", id, opts.Src, r.Verdict, r.Reason)
			}
		}
	}
}
