package report

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"time"

	"github.com/bankguard/bankguard/assess"
)

// The page's template, style and script, embedded so that the written HTML
// needs nothing else: no fonts, no CDN, no network.
var (
	//go:embed html.tmpl
	pageTemplate string
	//go:embed report.css
	pageStyle string
	//go:embed report.js
	pageScript string
)

// pageTitle is the title of the HTML report.
const pageTitle = "T/PCAC 0008-2020 检测报告 — assessment report"

// csp is the page's Content-Security-Policy: nothing is loaded, inline style
// is allowed, and the only script that runs is the embedded one, by hash.
var csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-" +
	hashOf(pageScript) + "'; base-uri 'none'; form-action 'none'"

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"label":  verdictLabel,
	"symbol": verdictSymbol,
	"side":   sideLabel,
	"count":  func(c assess.Counts, v assess.Verdict) int { return c[v] },
	"total":  total,
	"dur":    duration,
	"when":   when,
}).Parse(pageTemplate))

// WriteHTML writes the report as one self-contained HTML page: a summary by
// verdict, section and side, then every clause with its items, each item
// folding its Chinese method and criterion, the workbook's judgement and the
// evidence of its checks. Filters (verdict, side, text) need JavaScript;
// without it everything is shown. Printing shows every item and expands all
// details. All text from the report is HTML-escaped.
func WriteHTML(w io.Writer, r *assess.Report) error {
	if r == nil {
		return errNoReport
	}
	return page.Execute(w, newPageData(r))
}

// pageData is what the template renders.
type pageData struct {
	Title    string
	CSP      string
	Style    template.CSS
	Script   template.JS
	R        *assess.Report
	Duration string
	Verdicts []verdictCount
	Bar      []barSegment
	Total    int
	Clauses  []clauseView
}

// verdictCount is a verdict with its number of items and clauses.
type verdictCount struct {
	Verdict        assess.Verdict
	Items, Clauses int
}

// barSegment is a verdict's share of the items in the summary bar.
type barSegment struct {
	Verdict assess.Verdict
	N       int
	Percent string
}

// clauseView is a clause with its items' views.
type clauseView struct {
	assess.Clause
	Items []itemView
}

// itemView is an item with the results its verdict rests on.
type itemView struct {
	assess.Item
	Side    string
	Results []*assess.Result
	// Unknown are check ids the report has no result for.
	Unknown []string
}

func newPageData(r *assess.Report) pageData {
	d := pageData{
		Title:  pageTitle,
		CSP:    csp,
		Style:  template.CSS(pageStyle),
		Script: template.JS(pageScript),
		R:      r,
		Total:  total(r.Summary.Items),
	}
	if !r.Started.IsZero() && !r.Finished.IsZero() {
		d.Duration = duration(r.Finished.Sub(r.Started))
	}
	for _, v := range assess.Verdicts {
		d.Verdicts = append(d.Verdicts, verdictCount{v, r.Summary.Items[v], r.Summary.Clauses[v]})
		if n := r.Summary.Items[v]; n > 0 {
			d.Bar = append(d.Bar, barSegment{v, n, fmt.Sprintf("%.2f", 100*float64(n)/float64(d.Total))})
		}
	}
	results := resultsByCheck(r)
	for _, cl := range r.Clauses {
		cv := clauseView{Clause: cl}
		for _, it := range cl.Items {
			iv := itemView{Item: it, Side: cl.Side}
			for _, id := range it.Checks {
				if res, ok := results[id]; ok {
					iv.Results = append(iv.Results, res)
				} else {
					iv.Unknown = append(iv.Unknown, id)
				}
			}
			cv.Items = append(cv.Items, iv)
		}
		d.Clauses = append(d.Clauses, cv)
	}
	return d
}

// verdictLabel names a verdict in Chinese, for the badge beside its code.
func verdictLabel(v assess.Verdict) string {
	switch v {
	case assess.Pass:
		return "通过"
	case assess.Fail:
		return "不通过"
	case assess.Partial:
		return "部分通过"
	case assess.NotApplicable:
		return "不适用"
	case assess.NotTested:
		return "未检测"
	case assess.Manual:
		return "待人工判定"
	case assess.Error:
		return "检测出错"
	}
	return "未知"
}

// verdictSymbol is a sign for the verdict, so that colour is never the only
// cue.
func verdictSymbol(v assess.Verdict) string {
	switch v {
	case assess.Pass:
		return "✓"
	case assess.Fail:
		return "✗"
	case assess.Partial:
		return "◐"
	case assess.NotApplicable:
		return "–"
	case assess.NotTested:
		return "○"
	case assess.Manual:
		return "✎"
	case assess.Error:
		return "!"
	}
	return "?"
}

// sideLabel names a side of the specification.
func sideLabel(side string) string {
	switch side {
	case "bank":
		return "商业银行 bank"
	case "app":
		return "应用方 application party"
	}
	return side
}

// total is the number of items (or clauses) counted.
func total(c assess.Counts) int {
	n := 0
	for _, k := range c {
		n += k
	}
	return n
}

// duration rounds a duration for people: milliseconds below a minute,
// seconds above.
func duration(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// when formats a time with its zone offset, or "—" if unknown.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Format("2006-01-02 15:04:05 -07:00")
}
