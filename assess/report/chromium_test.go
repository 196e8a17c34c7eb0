package report

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/internal/chromiumtest"
)

// visibleJS counts the item rows a person sees, by verdict.
const visibleJS = `(() => {
	const n = {};
	for (const r of document.querySelectorAll("tr.item")) {
		if (r.getClientRects().length > 0) n[r.dataset.verdict] = (n[r.dataset.verdict] || 0) + 1;
	}
	return n;
})()`

// TestChromium opens the HTML report in headless Chromium: it renders without
// a script error or a CSP violation, the screenshot is a real picture, the
// filters hide what they should, and printing shows everything.
func TestChromium(t *testing.T) {
	bin := chromiumtest.Find(t, "the browser test of the HTML report")
	r := sampleReport()
	dir := t.TempDir()
	paths, err := Write(dir, r, []string{"html"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, chromiumtest.Options(bin, t.TempDir())...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	var problems chromiumtest.Problems
	if err := chromedp.Listen(bctx, problems.Listen); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	err = chromedp.Do(bctx,
		chromedp.Navigate("file://"+paths[0]),
		chromedp.WaitVisible(chromedp.ID("summary")),
		chromedp.WaitVisible(chromedp.ID("filters")), // the script ran: it shows the filters
	)
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	chromiumtest.Screenshot(t, shot, "report.png")

	t.Run("filters", func(t *testing.T) { testFilters(t, bctx, r) })
	t.Run("print", func(t *testing.T) { testPrint(t, bctx, r) })
	if p := problems.Take(); len(p) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(p, "\n"))
	}
	t.Run("problems are noticed", func(t *testing.T) { testBlockedScript(t, bctx, &problems, paths[0]) })
}

// visible returns the number of item rows shown, by verdict.
func visible(t *testing.T, ctx context.Context) map[string]int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]int](visibleJS))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func itemCounts(r *assess.Report) map[string]int {
	n := map[string]int{}
	for v, k := range r.Summary.Items {
		if k > 0 {
			n[string(v)] = k
		}
	}
	return n
}

func sameCounts(a, b map[string]int) bool {
	return fmt.Sprint(a) == fmt.Sprint(b) // fmt sorts map keys
}

func testFilters(t *testing.T, ctx context.Context, r *assess.Report) {
	all := itemCounts(r)
	if got := visible(t, ctx); !sameCounts(got, all) {
		t.Fatalf("before filtering %v rows are shown, want all %v", got, all)
	}
	// Unticking "pass" hides the passed items and nothing else.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`input[name=verdict][value=pass]`))); err != nil {
		t.Fatal(err)
	}
	want := itemCounts(r)
	delete(want, "pass")
	if got := visible(t, ctx); !sameCounts(got, want) {
		t.Errorf("without pass: %v rows shown, want %v", got, want)
	}
	// "only fail" shows the failed items alone.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[data-only="fail"]`))); err != nil {
		t.Fatal(err)
	}
	if got, want := visible(t, ctx), map[string]int{"fail": all["fail"]}; !sameCounts(got, want) {
		t.Errorf("only fail: %v rows shown, want %v", got, want)
	}
	// Back to all, then the application side only.
	err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button[data-only=""]`)),
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("f-side"); s.value = "app"; s.dispatchEvent(new Event("change", {bubbles: true})); })()`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := visible(t, ctx), map[string]int{"not_applicable": 1, "not_tested": 1, "manual": 1}; !sameCounts(got, want) {
		t.Errorf("side app: %v rows shown, want %v", got, want)
	}
	// Text search on both sides finds the items of clause 5.2.2.
	err = chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("f-side"); s.value = ""; s.dispatchEvent(new Event("change", {bubbles: true})); })()`),
		chromedp.SendKeys(chromedp.ID("f-text"), "5.2.2"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := visible(t, ctx), map[string]int{"pass": 1, "fail": 1, "error": 1}; !sameCounts(got, want) {
		t.Errorf("search 5.2.2: %v rows shown, want %v", got, want)
	}
	hidden, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("tbody.clause[hidden]").length`))
	if err != nil || hidden != len(r.Clauses)-1 {
		t.Errorf("search 5.2.2: %d clauses hidden (%v), want %d", hidden, err, len(r.Clauses)-1)
	}
}

// testPrint runs after the filters: printing hides them, shows every item
// although the search still hides some, and unfolds the evidence.
func testPrint(t *testing.T, ctx context.Context, r *assess.Report) {
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	if got, all := visible(t, ctx), itemCounts(r); !sameCounts(got, all) {
		t.Errorf("print: %v rows shown, want all %v", got, all)
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]bool](`({
		filters: document.getElementById("filters").getClientRects().length > 0,
		evidence: document.querySelector("tr.item pre.response").getClientRects().length > 0,
		method: document.querySelector("tr.item .spec-text").getClientRects().length > 0,
	})`))
	if err != nil {
		t.Fatal(err)
	}
	if shown["filters"] || !shown["evidence"] || !shown["method"] {
		t.Errorf("print: filters shown %v, evidence shown %v, method shown %v; want false, true, true", shown["filters"], shown["evidence"], shown["method"])
	}
}

// testBlockedScript proves that the problem listener works: a copy of the
// page whose CSP names a wrong script hash must report the blocked script.
func testBlockedScript(t *testing.T, ctx context.Context, problems *chromiumtest.Problems, page string) {
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(filepath.Dir(page), "broken.html")
	if err := os.WriteFile(broken, bytes.Replace(b, []byte("sha256-"), []byte("sha256-AAAA"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx, chromedp.Navigate("file://"+broken), chromedp.WaitVisible(chromedp.ID("summary")))
	if err != nil {
		t.Fatal(err)
	}
	// The script did not run, so the filters stay hidden; no wait is needed
	// for the log entry, which Chromium sends while it parses the page.
	ran, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById("filters").hidden`))
	if err != nil || ran {
		t.Errorf("the script ran despite the wrong hash (%v)", err)
	}
	if p := problems.Take(); len(p) == 0 {
		t.Error("a script blocked by the CSP was not reported as a problem")
	}
}
