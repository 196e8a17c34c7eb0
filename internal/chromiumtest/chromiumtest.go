// Package chromiumtest is what the project's headless-Chromium tests share:
// finding the browser, starting it with flags that work on a machine with a
// closed network, collecting what pages report as wrong, and checking and
// keeping screenshots. Only tests import it.
package chromiumtest

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/bankguard/bankguard/pii"
)

// Find returns a Chromium or Chrome binary: $BANKGUARD_CHROMIUM, or the
// first of chromium, chromium-browser, google-chrome on PATH. It skips the
// test, naming purpose, when there is none (CI installs Debian's chromium).
func Find(t testing.TB, purpose string) string {
	t.Helper()
	if p := os.Getenv("BANKGUARD_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium found: install Debian's chromium (apt-get install -y chromium) or set BANKGUARD_CHROMIUM to a Chrome binary to run " + purpose)
	return ""
}

// Options are the allocator options of a headless browser with a fresh
// profile in userDataDir: no sandbox (CI runs as root), no GPU, and none of
// the background connections a closed network refuses; extra are added.
func Options(bin, userDataDir string, extra ...chromedp.ExecAllocatorOption) []chromedp.ExecAllocatorOption {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900),
		chromedp.NoFirstRun, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(userDataDir))
	return append(opts, extra...)
}

// Problems collects what pages report as wrong: uncaught exceptions,
// console.error calls and error entries of the browser log (a resource or a
// form post blocked by the CSP, a failed load). Pass Listen to
// chromedp.Listen.
type Problems struct {
	mu   sync.Mutex
	list []string
}

// Listen records an event that reports a problem.
func (p *Problems) Listen(ev any) {
	var msg string
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError {
			msg = "console.error called"
		}
	case *cdplog.EventEntryAdded:
		if e.Entry.Level == cdplog.EntryLevelError {
			msg = "log: " + pii.MaskText(e.Entry.Text)
		}
	}
	if msg != "" {
		p.mu.Lock()
		p.list = append(p.list, msg)
		p.mu.Unlock()
	}
}

// Take returns the problems recorded since the last Take.
func (p *Problems) Take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.list
	p.list = nil
	return l
}

// Screenshot checks that shot is a PNG with something drawn on it and
// writes it as name to a temporary directory and to
// $BANKGUARD_SCREENSHOT_DIR if set.
func Screenshot(t testing.TB, shot []byte, name string) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	b := img.Bounds()
	if b.Dx() == 0 || b.Dy() == 0 || colours(img) < 8 {
		t.Errorf("screenshot %s (%dx%d) is empty or of almost one colour: nothing rendered", name, b.Dx(), b.Dy())
	}
	dirs := []string{t.TempDir()}
	if d := os.Getenv("BANKGUARD_SCREENSHOT_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %dx%d: %s", b.Dx(), b.Dy(), p)
	}
}

// colours counts the distinct colours on a grid of the image's pixels.
func colours(img image.Image) int {
	b := img.Bounds()
	seen := map[[4]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += max(1, b.Dy()/200) {
		for x := b.Min.X; x < b.Max.X; x += max(1, b.Dx()/200) {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}
