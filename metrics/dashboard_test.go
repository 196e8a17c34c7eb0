package metrics_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/metrics"
)

const dashboardFile = "../docs/grafana-dashboard.json"

// exposed returns every series name the metrics expose (histograms and
// summaries as their _bucket, _sum and _count series) with its label names.
func exposed(t *testing.T) map[string]map[string]bool {
	t.Helper()
	m, err := metrics.NewFromConfig(metrics.Config{OmitRuntime: true})
	if err != nil {
		t.Fatal(err)
	}
	// Touch every metric so that every family has a series.
	m.InFlight()
	m.Observe(metrics.Outcome{APIID: apiA, AppID: "a", Status: 200, Latency: time.Millisecond, Upstream: time.Millisecond})
	m.ObserveAuditCommit(time.Millisecond, 1)
	m.RiskFlag("risk.large_amount")
	m.AlertRaised("ratelimit.alarm", "warning")
	m.SetBreakerStates(func() map[string]string { return map[string]string{"core": "closed"} })
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	out := map[string]map[string]bool{}
	label := regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="`)
	for _, line := range strings.Split(w.Body.String(), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, labels, _ := strings.Cut(line[:strings.LastIndexByte(line, ' ')], "{")
		if out[name] == nil {
			out[name] = map[string]bool{}
		}
		for _, l := range label.FindAllStringSubmatch(labels, -1) {
			out[name][l[1]] = true
		}
	}
	return out
}

type panel struct {
	ID         int                `json:"id"`
	Type       string             `json:"type"`
	Title      string             `json:"title"`
	Datasource *datasource        `json:"datasource"`
	GridPos    struct{ X, W int } `json:"gridPos"`
	Targets    []struct {
		Datasource *datasource `json:"datasource"`
		Expr       string      `json:"expr"`
		RefID      string      `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type dashboard struct {
	Inputs []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	SchemaVersion int     `json:"schemaVersion"`
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string      `json:"name"`
			Type       string      `json:"type"`
			Datasource *datasource `json:"datasource"`
			Definition string      `json:"definition"`
			Query      struct {
				Query string `json:"query"`
			} `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

const dsInput = "${DS_PROMETHEUS}"

var (
	quoted   = regexp.MustCompile(`"[^"]*"`)
	inside   = regexp.MustCompile(`\[[^\]]*\]|\{[^}]*\}|\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	ident    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	selector = regexp.MustCompile(`\b(bankguard_[a-z0-9_]+)\s*\{([^}]*)\}`)
	matcher  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"`)
	grouping = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
)

// checkExpr checks that a PromQL expression uses only series and labels
// that Metrics exposes (plus the target labels Prometheus adds); it returns
// the series it uses and what is wrong with it.
func checkExpr(expr string, names map[string]map[string]bool) (used, problems []string) {
	errorf := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if strings.TrimSpace(expr) == "" {
		return nil, []string{"empty expression"}
	}
	if !balanced(expr) {
		errorf("unbalanced brackets or quotes in %q", expr)
	}
	// What is left once strings, selectors, ranges and groupings are gone
	// is functions (followed by a parenthesis), keywords, numbers and the
	// metric names.
	bare := inside.ReplaceAllString(quoted.ReplaceAllString(expr, `""`), " ")
	for _, id := range ident.FindAllStringSubmatch(bare, -1) {
		ref := id[0]
		if id[1] != "" || keywords[ref] {
			continue
		}
		if !strings.HasPrefix(ref, "bankguard_") {
			errorf("%s is not a bankguard metric", ref)
			continue
		}
		if names[ref] == nil {
			errorf("%s is not exposed by Metrics", ref)
			continue
		}
		used = append(used, ref)
	}
	labelsOf := map[string]bool{"instance": true, "job": true}
	for _, ref := range used {
		for l := range names[ref] {
			labelsOf[l] = true
		}
	}
	for _, sel := range selector.FindAllStringSubmatch(expr, -1) {
		for _, mt := range matcher.FindAllStringSubmatch(sel[2], -1) {
			if !names[sel[1]][mt[1]] {
				errorf("%s has no label %q", sel[1], mt[1])
			}
		}
	}
	for _, g := range grouping.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(g[1], ",") {
			if l = strings.TrimSpace(l); l != "" && !labelsOf[l] {
				errorf("groups by %q, which none of its metrics has", l)
			}
		}
	}
	return used, problems
}

// check reports an expression's problems as test errors.
func check(t *testing.T, where, expr string, names map[string]map[string]bool) []string {
	t.Helper()
	used, problems := checkExpr(expr, names)
	for _, p := range problems {
		t.Errorf("%s: %s", where, p)
	}
	return used
}

var keywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true}

func balanced(s string) bool {
	var stack []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	inQuote := false
	for _, c := range s {
		switch {
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '(' || c == '[' || c == '{':
			stack = append(stack, c)
		case pairs[c] != 0:
			if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
				return false
			}
			stack = stack[:len(stack)-1]
		}
	}
	return !inQuote && len(stack) == 0
}

// The dashboard's queries reference only what Metrics registers, through
// the ${DS_PROMETHEUS} input, and cover every monitored quantity.
func TestDashboard(t *testing.T) {
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s is not valid JSON: %v", dashboardFile, err)
	}
	if d.SchemaVersion < 36 || d.SchemaVersion > 41 || d.UID == "" || d.Title == "" {
		t.Errorf("schemaVersion %d, uid %q, title %q", d.SchemaVersion, d.UID, d.Title)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].Type != "datasource" || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs = %+v, want the DS_PROMETHEUS datasource input", d.Inputs)
	}
	names := exposed(t)
	used := map[string]bool{}

	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		if v.Type != "query" || v.Datasource == nil || v.Datasource.UID != dsInput || !strings.HasPrefix(v.Query.Query, "label_values(") {
			t.Errorf("variable %s: want a label_values query on %s", v.Name, dsInput)
		}
		if v.Query.Query != v.Definition {
			t.Errorf("variable %s: definition %q differs from query %q", v.Name, v.Definition, v.Query.Query)
		}
		args := strings.TrimSuffix(strings.TrimPrefix(v.Query.Query, "label_values("), ")")
		i := strings.LastIndexByte(args, ',')
		if i < 0 {
			t.Errorf("variable %s: %q is not label_values(selector, label)", v.Name, v.Query.Query)
			continue
		}
		series, label := args[:i], strings.TrimSpace(args[i+1:])
		for _, n := range check(t, "variable "+v.Name, series, names) {
			if !names[n][label] {
				t.Errorf("variable %s: %s has no label %q", v.Name, n, label)
			}
		}
	}
	if !vars["api"] || !vars["app"] {
		t.Errorf("template variables %v, want api and app", vars)
	}

	ids := map[int]bool{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel id %d used twice", p.ID)
			}
			ids[p.ID] = true
			if p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("panel %q: gridPos x=%d w=%d outside the 24 columns", p.Title, p.GridPos.X, p.GridPos.W)
			}
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			if p.Title == "" || p.Datasource == nil || p.Datasource.UID != dsInput || len(p.Targets) == 0 {
				t.Errorf("panel %d %q: want a title, the %s datasource and targets", p.ID, p.Title, dsInput)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				if tg.Datasource == nil || tg.Datasource.UID != dsInput || tg.RefID == "" || refs[tg.RefID] {
					t.Errorf("panel %q target %q: want the %s datasource and a unique refId", p.Title, tg.RefID, dsInput)
				}
				refs[tg.RefID] = true
				for _, n := range check(t, "panel "+p.Title, tg.Expr, names) {
					used[n] = true
				}
			}
		}
	}
	walk(d.Panels)

	for _, n := range []string{
		"bankguard_requests_total",                   // volume and success rate per API and app
		"bankguard_request_duration_seconds_bucket",  // gateway latency quantiles
		"bankguard_upstream_duration_seconds_bucket", // upstream latency
		"bankguard_app_request_duration_seconds_sum", // latency per app
		"bankguard_requests_in_flight",               // in flight
		"bankguard_auth_failures_total",              // authentication failures by reason
		"bankguard_rejections_total",                 // rejections by control
		"bankguard_upstream_breaker_state",           // breaker state
		"bankguard_audit_commit_seconds_bucket",      // audit commit latency
		"bankguard_risk_flags_total",                 // risk flags
		"bankguard_alerts_total",                     // alerts by severity
	} {
		if !used[n] {
			t.Errorf("no panel shows %s", n)
		}
	}
}

// The checker itself refuses what it should.
func TestDashboardCheckerRefuses(t *testing.T) {
	names := exposed(t)
	for _, expr := range []string{
		`sum(rate(bankguard_requests_totl[5m]))`,                       // misspelt metric
		`sum by (api) (rate(bankguard_auth_failures_total[5m]))`,       // label it has not
		`rate(bankguard_request_duration_seconds_bucket{app="a"}[5m])`, // matcher on a missing label
		`sum(rate(bankguard_requests_total[5m])`,                       // unbalanced
		`sum(rate(http_requests_total[5m]))`,                           // someone else's metric
	} {
		if _, problems := checkExpr(expr, names); len(problems) == 0 {
			t.Errorf("checker passed %q", expr)
		}
	}
}
