package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bankguard/bankguard/assess"
)

// The JUnit XML document, in the shape CI systems read (Jenkins, GitLab,
// GitHub test reporters): one testsuite per clause, one testcase per item.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Timestamp  string          `xml:"timestamp,attr,omitempty"`
		Properties []junitProperty `xml:"properties>property,omitempty"`
		Cases      []junitCase     `xml:"testcase"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		ClassName string        `xml:"classname,attr"`
		Name      string        `xml:"name,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitProblem `xml:"failure,omitempty"`
		Error     *junitProblem `xml:"error,omitempty"`
		Skipped   *junitSkipped `xml:"skipped,omitempty"`
	}
	junitProblem struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
	junitSkipped struct {
		Message string `xml:"message,attr"`
	}
)

// WriteJUnit writes the report as JUnit XML: a testsuite per clause (named
// "5.2.2 安全传输"), a testcase per item (classname the clause id, name the
// item id and summary). A failed item has a <failure>, an erring one an
// <error>, a passed one nothing; partial, not_tested, manual and
// not_applicable items are <skipped> with "verdict: reason". A testcase's
// time is the sum of the run times of the checks its verdict rests on.
func WriteJUnit(w io.Writer, r *assess.Report) error {
	if r == nil {
		return errNoReport
	}
	doc := junitDoc(r)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// junitDoc builds the document with its counts.
func junitDoc(r *assess.Report) junitSuites {
	results := resultsByCheck(r)
	doc := junitSuites{Name: strings.TrimSpace(r.Spec + " " + r.Target)}
	var total time.Duration
	for _, cl := range r.Clauses {
		s, d := junitSuiteOf(cl, results, r.Started)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		total += d
		doc.Suites = append(doc.Suites, s)
	}
	doc.Time = seconds(total)
	return doc
}

// junitSuiteOf builds a clause's testsuite and returns it with its time.
func junitSuiteOf(cl assess.Clause, results map[string]*assess.Result, started time.Time) (junitSuite, time.Duration) {
	s := junitSuite{
		Name: strings.TrimSpace(cl.ID + " " + cl.Title),
		Properties: []junitProperty{
			{Name: "verdict", Value: string(cl.Verdict)},
			{Name: "side", Value: cl.Side},
			{Name: "section", Value: fmt.Sprint(cl.Section)},
		},
	}
	if !started.IsZero() {
		s.Timestamp = started.UTC().Format("2006-01-02T15:04:05")
	}
	var total time.Duration
	for _, it := range cl.Items {
		d := itemElapsed(it, results)
		total += d
		c := junitCase{ClassName: cl.ID, Name: strings.TrimSpace(it.ID + " " + it.Summary), Time: seconds(d)}
		switch it.Verdict {
		case assess.Pass:
		case assess.Fail:
			c.Failure = &junitProblem{Message: it.Reason, Type: string(it.Verdict), Text: junitBody(it)}
			s.Failures++
		case assess.Error:
			c.Error = &junitProblem{Message: it.Reason, Type: string(it.Verdict), Text: junitBody(it)}
			s.Errors++
		default:
			c.Skipped = &junitSkipped{Message: string(it.Verdict) + ": " + it.Reason}
			s.Skipped++
		}
		s.Tests++
		s.Cases = append(s.Cases, c)
	}
	s.Time = seconds(total)
	return s, total
}

// junitBody is the text of a failure or error: the reason and the checks.
func junitBody(it assess.Item) string {
	var b strings.Builder
	b.WriteString(it.Reason)
	if len(it.Checks) > 0 {
		b.WriteString("\nchecks: " + strings.Join(it.Checks, ", "))
	}
	return b.String()
}

// itemElapsed sums the run times of the checks an item rests on.
func itemElapsed(it assess.Item, results map[string]*assess.Result) time.Duration {
	var d time.Duration
	for _, id := range it.Checks {
		if res, ok := results[id]; ok {
			d += res.Elapsed
		}
	}
	return d
}

// seconds formats a duration as JUnit does: seconds with three decimals.
func seconds(d time.Duration) string {
	return fmt.Sprintf("%.3f", d.Seconds())
}
