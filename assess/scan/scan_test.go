package scan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/assess/catalog"
)

// TestChecksItems checks that every item a check names is in the catalog,
// can be decided by files, and belongs to the side scanned.
func TestChecksItems(t *testing.T) {
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, side := range []string{SideBank, SideApp} {
		seen := map[string]bool{}
		for _, c := range Checks(Options{Side: side}) {
			if seen[c.ID] {
				t.Errorf("%s: two checks named %s", side, c.ID)
			}
			seen[c.ID] = true
			if c.Title == "" || len(c.Items) == 0 || c.Run == nil {
				t.Errorf("%s: check %s lacks a title, items or Run", side, c.ID)
			}
			for _, id := range c.Items {
				it, ok := cat.Item(id)
				switch {
				case !ok:
					t.Errorf("%s: check %s names %s, which is not in the catalog", side, c.ID, id)
				case !it.Has(catalog.KindFile):
					t.Errorf("%s: check %s names %s, whose kinds %v lack file", side, c.ID, id, it.Kinds)
				case it.Side != side:
					t.Errorf("%s: check %s names %s of the %s side", side, c.ID, id, it.Side)
				}
			}
		}
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "f")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    Options
		want string // "" for no error, else a part of the error
	}{
		{"nothing", Options{}, ""},
		{"all", Options{Config: dir, Src: dir, Logs: dir, Side: SideApp}, ""},
		{"bad side", Options{Side: "both"}, "--side"},
		{"missing config", Options{Config: filepath.Join(dir, "nope")}, "--config"},
		{"src is a file", Options{Src: notDir}, "--src"},
		{"missing logs", Options{Logs: filepath.Join(dir, "nope")}, "--logs"},
	}
	for _, tc := range tests {
		err := tc.o.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one naming %s", tc.name, err, tc.want)
		}
	}
}

// TestRunner runs every check through the assessor's Runner over a tree with
// one problem of each kind and expects each check's own verdict.
func TestRunner(t *testing.T) {
	dir := t.TempDir()
	k := newTestKey(t)
	plant(t, dir, map[string]string{
		"config/app.yaml": "app_secret: " + randomSecret(t) + "\n",
		"src/key.pem":     string(k.pem),
		"src/go.mod":      "module x\n\nrequire y.example/z v1.0.0\n",
		"logs/app.log":    "2026-05-01 00:00:00 card " + cardNumber(t) + "\n",
	})
	o := Options{Config: filepath.Join(dir, "config"), Src: filepath.Join(dir, "src"), Logs: filepath.Join(dir, "logs"), Now: clock}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	want := map[string]assess.Verdict{
		"files.secrets": assess.Fail, "files.private-keys": assess.Fail, "logs.personal-data": assess.Fail,
		"logs.retention": assess.Fail, "deps.inventory": assess.Pass,
	}
	rn := assess.Runner{}
	for _, r := range rn.Run(context.Background(), Checks(o)) {
		if r.Verdict != want[r.Check] {
			t.Errorf("%s: %s (%s), want %s", r.Check, r.Verdict, r.Reason, want[r.Check])
		}
	}
}

func TestCanceled(t *testing.T) {
	dir := t.TempDir()
	plant(t, dir, map[string]string{"a.yaml": "a: 1\n"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range Checks(Options{Config: dir, Src: dir, Logs: dir}) {
		if r := c.Run(ctx); r.Verdict != assess.Error {
			t.Errorf("%s after cancel: %s (%s), want error", c.ID, r.Verdict, r.Reason)
		}
	}
}
