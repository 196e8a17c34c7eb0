package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/bankguard/bankguard/internal/chromiumtest"
	"github.com/bankguard/bankguard/oauth/authflow"
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
		for _, p := range b.problems.Take() {
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

// bfBrowser is one headless Chromium tab with a fresh profile.
type bfBrowser struct {
	t        *testing.T
	ctx      context.Context
	cancel   func()
	problems *chromiumtest.Problems
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
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, chromiumtest.Options(bin, t.TempDir(),
		chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(bfTrustedKeys(t, s), ",")))...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	b := &bfBrowser{t: t, ctx: bctx, problems: &chromiumtest.Problems{}, redirects: make(chan *url.URL, 8)}
	b.cancel = func() { cancelBrowser(); cancelAlloc() }
	if err := chromedp.Listen(bctx, b.problems.Listen); err != nil {
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
// and keeps it (chromiumtest.Screenshot).
func (b *bfBrowser) screenshot(name string) {
	b.t.Helper()
	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	chromiumtest.Screenshot(b.t, shot, name)
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
