package report

import (
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bankguard/bankguard/assess"
)

// SARIF 2.1.0 (OASIS): the version and the schema a SARIF file names.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/os/schemas/sarif-schema-2.1.0.json"
	// toolName is the driver's name in SARIF files.
	toolName = "bankguard assess"
	// toolURI is where the tool is documented.
	toolURI = "https://github.com/bankguard/bankguard"
)

// The subset of SARIF 2.1.0 the report uses.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool        sarifTool         `json:"tool"`
		Invocations []sarifInvocation `json:"invocations,omitempty"`
		Results     []sarifResult     `json:"results"`
		Properties  map[string]any    `json:"properties,omitempty"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		Version        string      `json:"version,omitempty"`
		InformationURI string      `json:"informationUri"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID               string         `json:"id"`
		ShortDescription sarifText      `json:"shortDescription"`
		Properties       map[string]any `json:"properties,omitempty"`
	}
	sarifText struct {
		Text string `json:"text"`
	}
	sarifInvocation struct {
		ExecutionSuccessful bool   `json:"executionSuccessful"`
		StartTimeUTC        string `json:"startTimeUtc,omitempty"`
		EndTimeUTC          string `json:"endTimeUtc,omitempty"`
	}
	sarifResult struct {
		RuleID     string          `json:"ruleId"`
		RuleIndex  int             `json:"ruleIndex"`
		Level      string          `json:"level"`
		Message    sarifText       `json:"message"`
		Locations  []sarifLocation `json:"locations"`
		Properties map[string]any  `json:"properties,omitempty"`
	}
	sarifLocation struct {
		PhysicalLocation sarifPhysical `json:"physicalLocation"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           *sarifRegion  `json:"region,omitempty"`
	}
	sarifArtifact struct {
		URI string `json:"uri"`
	}
	sarifRegion struct {
		StartLine int        `json:"startLine"`
		Snippet   *sarifText `json:"snippet,omitempty"`
	}
)

// WriteSARIF writes the file findings of the report (Results[].Findings) as a
// SARIF 2.1.0 log with one run: the rules are the findings' rules, each
// result carries the finding's level (error or note), message, relative path
// and line, and the catalog item ids in its properties. Probe results are
// not in it: SARIF describes places in files.
func WriteSARIF(w io.Writer, r *assess.Report) error {
	if r == nil {
		return errNoReport
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifOf(r))
}

// sarifOf builds the log.
func sarifOf(r *assess.Report) sarifLog {
	run := sarifRun{
		Tool:    sarifTool{Driver: sarifDriver{Name: toolName, Version: toolVersion(r.Tool), InformationURI: toolURI, Rules: []sarifRule{}}},
		Results: []sarifResult{},
		Properties: map[string]any{
			"spec":   r.Spec,
			"target": r.Target,
		},
	}
	if !r.Started.IsZero() {
		run.Invocations = []sarifInvocation{{
			ExecutionSuccessful: true,
			StartTimeUTC:        r.Started.UTC().Format(timeLayout),
			EndTimeUTC:          r.Finished.UTC().Format(timeLayout),
		}}
	}
	index := map[string]int{}
	for _, res := range r.Results {
		for _, f := range res.Findings {
			i, ok := index[f.Rule]
			if !ok {
				i = len(run.Tool.Driver.Rules)
				index[f.Rule] = i
				run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
					ID:               f.Rule,
					ShortDescription: sarifText{Text: ruleDescription(res, f)},
					Properties:       map[string]any{"check": res.Check, "items": []string{}},
				})
			}
			rule := &run.Tool.Driver.Rules[i]
			rule.Properties["items"] = union(rule.Properties["items"].([]string), f.Items)
			run.Results = append(run.Results, sarifResultOf(res, f, i))
		}
	}
	return sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}}
}

// timeLayout is RFC 3339 in UTC with milliseconds, as SARIF examples use.
const timeLayout = "2006-01-02T15:04:05.000Z"

// sarifResultOf turns one finding into a SARIF result.
func sarifResultOf(res assess.Result, f assess.Finding, ruleIndex int) sarifResult {
	loc := sarifPhysical{ArtifactLocation: sarifArtifact{URI: fileURI(f.Path)}}
	if f.Line > 0 {
		loc.Region = &sarifRegion{StartLine: f.Line}
		if f.Excerpt != "" {
			loc.Region.Snippet = &sarifText{Text: f.Excerpt}
		}
	}
	items := f.Items
	if items == nil {
		items = []string{}
	}
	return sarifResult{
		RuleID:     f.Rule,
		RuleIndex:  ruleIndex,
		Level:      sarifLevel(f.Level),
		Message:    sarifText{Text: f.Message},
		Locations:  []sarifLocation{{PhysicalLocation: loc}},
		Properties: map[string]any{"items": items, "check": res.Check},
	}
}

// ruleDescription describes a rule by the check that reported it.
func ruleDescription(res assess.Result, f assess.Finding) string {
	if res.Title == "" {
		return f.Rule
	}
	return res.Title + ": " + f.Rule
}

// sarifLevel maps a finding's level to SARIF's; a level SARIF does not know
// becomes "warning", SARIF's default.
func sarifLevel(level string) string {
	switch level {
	case "error", "warning", "note", "none":
		return level
	}
	return "warning"
}

// fileURI turns a finding's path into a URI reference: relative paths stay
// relative (with / separators, percent-encoded), absolute ones become file
// URIs.
func fileURI(p string) string {
	p = filepath.ToSlash(p)
	p = strings.TrimPrefix(p, "./")
	u := url.URL{Path: p}
	if filepath.IsAbs(filepath.FromSlash(p)) || strings.HasPrefix(p, "/") {
		u.Scheme = "file"
	}
	return u.String()
}

// toolVersion takes the version from the report's tool string, e.g.
// "bankguard 0.4.0" or "bankguard assess v0.4.0"; "" if there is none.
func toolVersion(tool string) string {
	f := strings.Fields(tool)
	if len(f) < 2 {
		return ""
	}
	v := f[len(f)-1]
	if s := strings.TrimPrefix(v, "v"); s != "" && (s[0] >= '0' && s[0] <= '9') {
		return v
	}
	return ""
}

// union returns a with the elements of b it lacks appended, keeping order.
func union(a, b []string) []string {
	for _, s := range b {
		if !slices.Contains(a, s) {
			a = append(a, s)
		}
	}
	return a
}
