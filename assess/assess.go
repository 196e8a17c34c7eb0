// Package assess runs T/PCAC 0008-2020 as software: checks (network probes
// and file scans) give results tied to the catalog's test items, a workbook
// gives a person's judgement of the manual items, and Assemble turns both into
// item, clause and summary verdicts for the reports.
//
// The sub-packages: catalog (the spec's 138 items), probe (dynamic checks
// against a target profile), scan (file checks), workbook (the manual items as
// YAML), report (HTML, JSON, JUnit, SARIF; signing).
package assess

import (
	"context"
	"fmt"
	"time"
)

// Verdict is the outcome of a check, an item or a clause.
type Verdict string

// The verdicts. Only evidence gives pass: a check that lacks what it needs
// says not_tested, and an item nobody judged stays manual.
const (
	// Pass: the evidence shows the requirement met.
	Pass Verdict = "pass"
	// Fail: the evidence shows the requirement not met.
	Fail Verdict = "fail"
	// Partial: some of the evidence shows it met, the rest is missing.
	Partial Verdict = "partial"
	// NotApplicable: a person judged the item not to apply, with a reason.
	NotApplicable Verdict = "not_applicable"
	// NotTested: no check could gather the evidence (the profile lacks what
	// it needs, or the control is outside what the tool can observe).
	NotTested Verdict = "not_tested"
	// Manual: the item waits for a person's judgement in the workbook.
	Manual Verdict = "manual"
	// Error: the check could not run (target unreachable, TLS failure).
	Error Verdict = "error"
)

// Verdicts lists every verdict, in the order reports show them.
var Verdicts = []Verdict{Pass, Fail, Partial, NotApplicable, NotTested, Manual, Error}

// Valid reports whether v is one of the verdicts.
func (v Verdict) Valid() bool {
	for _, k := range Verdicts {
		if v == k {
			return true
		}
	}
	return false
}

// Check is one automated check: a probe of the target or a scan of files. It
// gives evidence for the catalog items it names.
type Check struct {
	// ID names the check, e.g. "signature.replay" or "files.secrets".
	ID string
	// Title says in a few English words what the check does.
	Title string
	// Items are the catalog ids the check gives evidence for.
	Items []string
	// Run performs the check. It must honour ctx and never panic on bad
	// input from the target; Runner turns a panic into an error result.
	Run func(ctx context.Context) Result
	// Timeout, if set, replaces the Runner's time limit for this check (a
	// scan of a large tree needs longer than a probe).
	Timeout time.Duration
}

// Result is what one check found.
type Result struct {
	// Check, Title and Items are copied from the Check by the Runner.
	Check string   `json:"check"`
	Title string   `json:"title"`
	Items []string `json:"items"`
	// Verdict is pass, fail, not_tested or error; partial when the check
	// saw only part of what its items cover.
	Verdict Verdict `json:"verdict"`
	// Reason says in one sentence why: what was sent and what came back, or
	// what was missing.
	Reason string `json:"reason"`
	// Evidence are the exchanges with the target, redacted.
	Evidence []Evidence `json:"evidence,omitempty"`
	// Findings are file findings, with the offending value redacted.
	Findings []Finding `json:"findings,omitempty"`
	// Elapsed is how long the check ran.
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Evidence is one exchange with the target, as text a person can read.
// Signature values, secrets, tokens and passwords are redacted and personal
// data masked before an Evidence is made.
type Evidence struct {
	// Title says what the exchange tried, e.g. "request with a tampered body".
	Title string `json:"title"`
	// Request and Response are HTTP/1.1-style transcripts.
	Request  string `json:"request,omitempty"`
	Response string `json:"response,omitempty"`
	// Note adds what the transcript does not show (a TLS handshake's outcome).
	Note string `json:"note,omitempty"`
}

// Finding is one thing a file scan found.
type Finding struct {
	// Rule names what was found, e.g. "private-key" or "unmasked-card".
	Rule string `json:"rule"`
	// Items are the catalog ids the finding counts against.
	Items []string `json:"items"`
	// Path and Line locate it (Line from 1; 0 for a whole file).
	Path string `json:"path"`
	Line int    `json:"line,omitempty"`
	// Message says what it is, in a sentence.
	Message string `json:"message"`
	// Excerpt is the line with the secret or personal data redacted.
	Excerpt string `json:"excerpt,omitempty"`
	// Level is "error" for a failure, "note" for information (an inventory
	// entry such as a third-party component).
	Level string `json:"level"`
}

// Passf returns a pass result with a formatted reason.
func Passf(format string, args ...any) Result {
	return Result{Verdict: Pass, Reason: fmt.Sprintf(format, args...)}
}

// Failf returns a fail result with a formatted reason.
func Failf(format string, args ...any) Result {
	return Result{Verdict: Fail, Reason: fmt.Sprintf(format, args...)}
}

// NotTestedf returns a not_tested result with a formatted reason.
func NotTestedf(format string, args ...any) Result {
	return Result{Verdict: NotTested, Reason: fmt.Sprintf(format, args...)}
}

// Errorf returns an error result with a formatted reason.
func Errorf(format string, args ...any) Result {
	return Result{Verdict: Error, Reason: fmt.Sprintf(format, args...)}
}

// With returns r with evidence appended.
func (r Result) With(ev ...Evidence) Result {
	r.Evidence = append(r.Evidence, ev...)
	return r
}
