package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"image"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/bankguard/bankguard/oauth/authflow"
	"github.com/bankguard/bankguard/pii"
)

// The headless-Chromium side of TestBrowserAuthorizationFlow: a browser tab
// with a fresh profile that trusts the demo gateway by its public keys,
// answers requests to the demo apps' redirect hosts itself, and collects
// what the pages report as wrong.

// cspProbe adds an image to the current page and waits until the problem
// listener reports that the CSP blocked it.
func (b *bfBrowser) cspProbe() {
	b.t.Helper()
	bfEval[bool](b, `!!document.body.appendChild(Object.assign(document.createElement('img'), {src: '/csp-probe.png'}))`)
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	for {
		for _, p := range b.problems.take() {
			if strings.Contains(p, "Content Security Policy") && strings.Contains(p, "csp-probe") {
				return
			}
		}
		select {
		case <-ctx.Done():
			b.t.Fatalf("an image blocked by the CSP was not reported as a problem: the check for problems sees nothing")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// bfFindBrowser returns a Chromium or Chrome binary: $BANKGUARD_CHROMIUM, or
// the first of chromium, chromium-browser, google-chrome on PATH; it skips
// the test when there is none.
func bfFindBrowser(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("BANKGUARD_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium found: install Debian's chromium (apt-get install -y chromium) or set BANKGUARD_CHROMIUM to a Chrome binary to run the browser test of the authorization flow")
	return ""
}

// bfBrowser is one headless Chromium tab with a fresh profile.
type bfBrowser struct {
	t        *testing.T
	ctx      context.Context
	cancel   func()
	problems *bfProblems
	// redirects receives the URL of each request to *.demo.invalid, which
	// the browser never sends: it is answered in place by a blank page.
	redirects chan *url.URL
	wg        sync.WaitGroup
}

// bfStartBrowser starts Chromium with the allocator set-up of
// assess/report's browser test and a fresh user-data-dir. The browser trusts
// the demo's TLS certificate by its public key only
// (--ignore-certificate-errors-spki-list: the demo CA's key and the
// gateway's): a throwaway profile of a test, nothing else is trusted anew.
func bfStartBrowser(t *testing.T, ctx context.Context, bin string, s *sandbox) *bfBrowser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900),
		chromedp.NoFirstRun, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(bfTrustedKeys(t, s), ",")),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	b := &bfBrowser{t: t, ctx: bctx, problems: &bfProblems{}, redirects: make(chan *url.URL, 8)}
	b.cancel = func() { cancelBrowser(); cancelAlloc() }
	if err := chromedp.Listen(bctx, b.problems.listen); err != nil {
		b.cancel()
		t.Fatalf("start %s: %v", bin, err)
	}
	// Intercept every request to the demo apps' redirect hosts: subscribe
	// first, then enable the Fetch domain for them.
	paused := chromedp.Events(bctx, fetch.RequestPaused)
	if _, err := chromedp.Call(bctx, fetch.Enable, fetch.EnableParams{
		Patterns: []*fetch.RequestPattern{{URLPattern: "https://*.demo.invalid/*"}},
	}); err != nil {
		b.cancel()
		t.Fatalf("intercepting the redirect: %v", err)
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for ev, err := range paused {
			if err != nil {
				return
			}
			if u, err := url.Parse(ev.Request.URL); err == nil {
				select {
				case b.redirects <- u:
				default:
				}
			}
			_, _ = chromedp.Call(bctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID: ev.RequestID, ResponseCode: http.StatusOK,
				ResponseHeaders: []*fetch.HeaderEntry{
					{Name: "Content-Type", Value: "text/html; charset=utf-8"},
					{Name: "Content-Security-Policy", Value: "default-src 'none'"},
				},
				Body: []byte(`<!doctype html><title>app</title><p id="app-callback">The app received the answer.</p>`),
			})
		}
	}()
	return b
}

// close stops the browser and the interception.
func (b *bfBrowser) close() {
	b.cancel()
	b.wg.Wait()
}

// bfTrustedKeys are the base64 SHA-256 hashes of the public keys of the
// demo CA and of the certificate the gateway presents.
func bfTrustedKeys(t *testing.T, s *sandbox) []string {
	t.Helper()
	hash := func(c *x509.Certificate) string {
		sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
		return base64.StdEncoding.EncodeToString(sum[:])
	}
	var keys []string
	rest, err := os.ReadFile(s.profile.Path(s.profile.Target.CACert))
	if err != nil {
		t.Fatal(err)
	}
	for {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
			keys = append(keys, hash(c))
		}
	}
	u, err := url.Parse(s.profile.Target.BaseURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", u.Host, s.tlsConfig(""))
	if err != nil {
		t.Fatalf("TLS to the gateway: %v", err)
	}
	defer conn.Close()
	for _, c := range conn.ConnectionState().PeerCertificates {
		keys = append(keys, hash(c))
	}
	return keys
}

// open navigates to u and checks that the browser lands on wantPath.
func (b *bfBrowser) open(u, wantPath string) *network.Response {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(u))
	return b.landed(resp, err, wantPath)
}

// submit clicks the submit button sel and checks that the browser lands on
// wantPath (after the bank's redirects).
func (b *bfBrowser) submit(sel, wantPath string) *network.Response {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel)))
	return b.landed(resp, err, wantPath)
}

// landed checks that a navigation ended with 200 on wantPath of the bank,
// on a page without a refusal (<main data-error>). It names paths only: a
// URL's query may hold a code or a state.
func (b *bfBrowser) landed(resp *network.Response, err error, wantPath string) *network.Response {
	b.t.Helper()
	if err != nil {
		b.t.Fatalf("loading %s: %v", wantPath, err)
	}
	u, err := url.Parse(resp.URL)
	if err != nil {
		b.t.Fatalf("the browser is at an unparsable URL: %v", err)
	}
	code := bfEval[string](b, `document.querySelector('main')?.dataset.error ?? ''`)
	if u.Path != wantPath || resp.Status != http.StatusOK || code != "" {
		b.t.Fatalf("the browser is at %s with status %d and data-error %q; want %s, 200, no error", u.Path, resp.Status, code, wantPath)
	}
	if n := bfEval[int](b, `document.scripts.length`); n != 0 {
		b.t.Errorf("%s has %d script(s); the bank's pages have none", wantPath, n)
	}
	if csp := bfHeader(resp, "Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		b.t.Errorf("%s: Content-Security-Policy %q is not the bank's strict one", wantPath, csp)
	}
	return resp
}

// bfHeader is a response header's value, its name in any case.
func bfHeader(resp *network.Response, name string) string {
	for k, v := range resp.Headers {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

// signIn answers the bank's sign-in page; a TOTP page must follow.
func (b *bfBrowser) signIn(username, password string) {
	b.t.Helper()
	b.fill("username", username, "the user name")
	b.fill("password", password, "the password")
	b.submit(`form[action="/oauth/login"] button[type=submit]`, authflow.PathTOTP)
}

// fill types value into the input with the id; what names it in errors
// (the value is never printed).
func (b *bfBrowser) fill(id, value, what string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.SendKeys(chromedp.ID(id), value)); err != nil {
		b.t.Fatalf("typing %s: %s", what, bfRedact(err, value))
	}
}

// click clicks the first element that matches sel.
func (b *bfBrowser) click(sel string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("clicking %s: %v", sel, err)
	}
}

// text is the text of the first element that matches sel.
func (b *bfBrowser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

// approve clicks "approve" on the consent page and returns the URL of the
// bank's redirect to redirectURI, which the interception answered.
func (b *bfBrowser) approve(redirectURI string) *url.URL {
	b.t.Helper()
	want, _ := url.Parse(redirectURI)
	if _, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(`button[name=action][value=approve]`))); err != nil {
		b.t.Fatalf("approving: %v", err)
	}
	for {
		select {
		case u := <-b.redirects:
			if u.Scheme == want.Scheme && u.Host == want.Host && u.Path == want.Path {
				return u
			}
		case <-b.ctx.Done():
			b.t.Fatalf("the bank did not redirect to the app: %v", b.ctx.Err())
		}
	}
}

// screenshot takes a full-page PNG, checks that something is drawn on it
// and writes it to a temporary directory and to $BANKGUARD_SCREENSHOT_DIR.
func (b *bfBrowser) screenshot(name string) {
	b.t.Helper()
	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		b.t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	if r := img.Bounds(); r.Dx() == 0 || r.Dy() == 0 || bfColours(img) < 8 {
		b.t.Errorf("screenshot %s (%dx%d) is empty or of one colour", name, r.Dx(), r.Dy())
	}
	dirs := []string{b.t.TempDir()}
	if d := os.Getenv("BANKGUARD_SCREENSHOT_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, shot, 0o644); err != nil {
			b.t.Fatal(err)
		}
		b.t.Logf("screenshot %dx%d: %s", img.Bounds().Dx(), img.Bounds().Dy(), p)
	}
}

// bfColours counts the distinct colours on a grid of the image's pixels.
func bfColours(img image.Image) int {
	r := img.Bounds()
	seen := map[[4]uint32]bool{}
	for y := r.Min.Y; y < r.Max.Y; y += max(1, r.Dy()/200) {
		for x := r.Min.X; x < r.Max.X; x += max(1, r.Dx()/200) {
			cr, cg, cb, ca := img.At(x, y).RGBA()
			seen[[4]uint32{cr, cg, cb, ca}] = true
		}
	}
	return len(seen)
}

// bfEval evaluates a JavaScript expression in the page (through the
// DevTools protocol: the bank's CSP forbids the page's own scripts, not
// this).
func bfEval[T any](b *bfBrowser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluating in the page: %v", err)
	}
	return v
}

// bfProblems collects what pages report as wrong: uncaught exceptions,
// console.error calls and error entries of the browser log (a resource or
// a form post blocked by the CSP, a failed load).
type bfProblems struct {
	mu   sync.Mutex
	list []string
}

func (p *bfProblems) listen(ev any) {
	var msg string
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = "exception: " + e.ExceptionDetails.Text
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

func (p *bfProblems) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.list
	p.list = nil
	return l
}
