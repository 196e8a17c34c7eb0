package probe_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/assess/internal/weak"
)

// The demo's paths the surface mutants aim at (demo/profile.go).
const (
	surfacePing       = "/v1/ping"
	surfaceTerminated = "/v1/loyalty-points"
	surfaceDeprecated = "/v1/exchange-rates"
	surfaceTransfers  = "/v1/transfers"
)

// surfaceMutants are the mutants of the checks in surface.go.
var surfaceMutants = []mutant{
	// errors.no-leak
	{check: "errors.no-leak", onDemo: assess.Pass, name: "Server header with a version on error answers",
		mutation: weak.Mutation{Response: surfaceOnError(func(r *http.Response) { r.Header.Set("Server", "Apache/2.4.41 (Ubuntu)") })}},
	{check: "errors.no-leak", onDemo: assess.Pass, name: "X-Powered-By header on error answers",
		mutation: weak.Mutation{Response: surfaceOnError(func(r *http.Response) { r.Header.Set("X-Powered-By", "Express") })}},
	{check: "errors.no-leak", onDemo: assess.Pass, name: "Java stack trace for an unknown path",
		mutation: weak.Mutation{Response: surfaceOnStatus(http.StatusNotFound, func(r *http.Response) {
			surfaceSetBody(r, http.StatusNotFound, "text/plain", "java.lang.IllegalStateException: no route\n\tat com.bank.api.Router.route(Router.java:42)\n")
		})}},
	{check: "errors.no-leak", onDemo: assess.Pass, name: "internal address in an error detail",
		mutation: weak.Mutation{Response: surfaceOnStatus(http.StatusMethodNotAllowed, surfaceDetail("upstream 10.20.30.40:8080 refused DELETE"))}},
	{check: "errors.no-leak", onDemo: assess.Pass, name: "internal host name in an error detail",
		mutation: weak.Mutation{Response: surfaceOnStatus(http.StatusNotFound, surfaceDetail("no route on core-api.bank.internal"))}},
	{check: "errors.no-leak", onDemo: assess.Pass, name: "file path and SQL text in an error detail",
		mutation: weak.Mutation{Response: surfaceOnStatus(http.StatusBadRequest, surfaceDetail("/usr/local/app/handler.py: SQLSTATE[22P02]"))}},
	{check: "errors.no-leak", onDemo: assess.Pass, name: "500 for a malformed request",
		mutation: weak.Mutation{Response: surfaceOnStatus(http.StatusBadRequest, func(r *http.Response) {
			surfaceSetBody(r, http.StatusInternalServerError, "application/problem+json", `{"status":500,"title":"Internal error","code":"internal"}`)
		})}},

	// injection.sql
	{check: "injection.sql", onDemo: assess.Pass, name: "SQL error text for a payload in the query",
		mutation: weak.Mutation{Handle: surfaceOnPayload(func(s string) bool { return strings.Contains(s, "'") || strings.Contains(s, "SELECT") },
			http.StatusInternalServerError, "text/html", "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version")}},
	{check: "injection.sql", onDemo: assess.Pass, name: "SQL error text in a 200 for a payload in the memo",
		mutation: weak.Mutation{Handle: surfaceOnMemo(func(m string) bool { return strings.Contains(m, "'") },
			http.StatusOK, "application/json", `{"error":"SQLSTATE[42000]: Syntax error or access violation"}`)}},
	{check: "injection.sql", onDemo: assess.Pass, name: "time-based payload delays the answer",
		mutation: weak.Mutation{Request: func(r *http.Request) {
			if strings.Contains(r.URL.Query().Encode(), "SLEEP") {
				time.Sleep(4500 * time.Millisecond)
			}
		}}},

	// injection.script
	{check: "injection.script", onDemo: assess.Pass, name: "query parameter reflected unescaped in HTML",
		mutation: weak.Mutation{Handle: surfaceReflect}},
	{check: "injection.script", onDemo: assess.Pass, name: "memo reflected unescaped in HTML",
		mutation: weak.Mutation{Handle: surfaceOnMemo(func(m string) bool { return strings.Contains(m, "<") },
			http.StatusCreated, "text/html", `<p>Transfer done. Memo: <script>alert(1)</script></p>`)}},
	{check: "injection.script", onDemo: assess.Pass, name: "500 for a script payload",
		mutation: weak.Mutation{Handle: surfaceOnPayload(func(s string) bool { return strings.Contains(s, "alert(") },
			http.StatusInternalServerError, "application/problem+json", `{"status":500,"title":"Internal error"}`)}},

	// connectivity.ping
	{check: "connectivity.ping", onDemo: assess.Pass, name: "ping names no interface version",
		mutation: weak.Mutation{Response: surfaceOnPath(surfacePing, surfaceDropMember("interface_version"))}},
	{check: "connectivity.ping", onDemo: assess.Pass, name: "ping refuses a correctly signed request",
		mutation: weak.Mutation{Response: surfaceOnPath(surfacePing, func(r *http.Response) {
			surfaceSetBody(r, http.StatusUnauthorized, "application/problem+json", `{"status":401,"title":"Signature invalid","code":"signature_invalid"}`)
		})}},

	// connectivity.invalid-parameter
	{check: "connectivity.invalid-parameter", onDemo: assess.Pass, name: "invalid parameter accepted",
		mutation: weak.Mutation{Response: weak.AcceptRefusals("request_invalid")}},
	{check: "connectivity.invalid-parameter", onDemo: assess.Pass, name: "400 that does not name the parameter",
		mutation: weak.Mutation{Response: surfaceOnStatus(http.StatusBadRequest, surfaceDetail("the request is invalid"))}},
	{check: "connectivity.invalid-parameter", onDemo: assess.Pass, name: "400 in plain text",
		mutation: weak.Mutation{Response: surfaceOnStatus(http.StatusBadRequest, func(r *http.Response) {
			surfaceSetBody(r, http.StatusBadRequest, "text/plain", "bad page_size")
		})}},
	{check: "connectivity.invalid-parameter", onDemo: assess.Pass, name: "400 that names the framework's version",
		mutation: weak.Mutation{Response: surfaceOnStatus(http.StatusBadRequest, surfaceDetail("page_size: must be at most 100 (kin-openapi on go1.26.8)"))}},

	// lifecycle.terminated
	{check: "lifecycle.terminated", onDemo: assess.Pass, name: "terminated API answers a bare 404",
		mutation: weak.Mutation{Response: surfaceOnPath(surfaceTerminated, func(r *http.Response) { surfaceSetBody(r, http.StatusNotFound, "", "") })}},
	{check: "lifecycle.terminated", onDemo: assess.Pass, name: "terminated API still served",
		mutation: weak.Mutation{Response: weak.AcceptRefusals("service_terminated")}},
	{check: "lifecycle.terminated", onDemo: assess.Pass, name: "404 problem without a notice",
		mutation: weak.Mutation{Response: surfaceOnPath(surfaceTerminated, func(r *http.Response) {
			surfaceSetBody(r, http.StatusNotFound, "application/problem+json", `{"status":404,"title":"Not found","code":"not_found","detail":"no API is published at this path"}`)
		})}},

	// lifecycle.deprecated
	{check: "lifecycle.deprecated", onDemo: assess.Pass, name: "no Deprecation or Sunset header",
		mutation: weak.Mutation{Response: surfaceOnPath(surfaceDeprecated, func(r *http.Response) {
			r.Header.Del("Deprecation")
			r.Header.Del("Sunset")
		})}},
	{check: "lifecycle.deprecated", onDemo: assess.Pass, name: "Deprecation header that is not a date",
		mutation: weak.Mutation{Response: surfaceOnPath(surfaceDeprecated, func(r *http.Response) { r.Header.Set("Deprecation", "soon") })}},
	{check: "lifecycle.deprecated", onDemo: assess.Pass, name: "deprecated API already refused",
		mutation: weak.Mutation{Response: surfaceOnPath(surfaceDeprecated, func(r *http.Response) {
			surfaceSetBody(r, http.StatusGone, "application/problem+json", `{"status":410,"title":"Gone"}`)
		})}},
}

// surfaceOnError applies f to answers with a 4xx or 5xx status.
func surfaceOnError(f func(*http.Response)) func(*http.Response) error {
	return func(r *http.Response) error {
		if r.StatusCode >= 400 {
			f(r)
		}
		return nil
	}
}

// surfaceOnStatus applies f to answers with the status.
func surfaceOnStatus(status int, f func(*http.Response)) func(*http.Response) error {
	return func(r *http.Response) error {
		if r.StatusCode == status {
			f(r)
		}
		return nil
	}
}

// surfaceOnPath applies f to answers to requests for the path.
func surfaceOnPath(path string, f func(*http.Response)) func(*http.Response) error {
	return func(r *http.Response) error {
		if r.Request != nil && r.Request.URL.Path == path {
			f(r)
		}
		return nil
	}
}

// surfaceSetBody replaces an answer's status and body; an empty ctype
// removes Content-Type. The bank signature no longer fits, which the
// surface checks do not look at.
func surfaceSetBody(r *http.Response, status int, ctype, body string) {
	r.Body.Close()
	r.StatusCode, r.Status = status, fmt.Sprintf("%d %s", status, http.StatusText(status))
	r.Header.Del("Content-Type")
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	r.Body = io.NopCloser(strings.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
}

// surfaceEditJSON changes an answer's JSON object with f.
func surfaceEditJSON(r *http.Response, f func(map[string]any)) {
	b, _ := io.ReadAll(r.Body)
	var doc map[string]any
	if json.Unmarshal(b, &doc) == nil {
		f(doc)
		b, _ = json.Marshal(doc)
	}
	surfaceSetBody(r, r.StatusCode, r.Header.Get("Content-Type"), string(b))
}

// surfaceDetail replaces a problem's detail.
func surfaceDetail(detail string) func(*http.Response) {
	return func(r *http.Response) { surfaceEditJSON(r, func(doc map[string]any) { doc["detail"] = detail }) }
}

// surfaceDropMember removes a member of the answer's JSON object.
func surfaceDropMember(name string) func(*http.Response) {
	return func(r *http.Response) { surfaceEditJSON(r, func(doc map[string]any) { delete(doc, name) }) }
}

// surfaceOnPayload answers by itself a request whose query holds a value
// that matches.
func surfaceOnPayload(match func(string) bool, status int, ctype, body string) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		for _, vs := range r.URL.Query() {
			for _, v := range vs {
				if match(v) {
					surfaceWrite(w, status, ctype, body)
					return true
				}
			}
		}
		return false
	}
}

// surfaceOnMemo answers by itself a transfer whose memo matches.
func surfaceOnMemo(match func(string) bool, status int, ctype, body string) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost || r.URL.Path != surfaceTransfers {
			return false
		}
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		var t struct{ Memo string }
		if json.Unmarshal(b, &t) != nil || !match(t.Memo) {
			return false
		}
		surfaceWrite(w, status, ctype, body)
		return true
	}
}

// surfaceReflect answers a query holding markup with a page that shows it
// as it came, as a search page without output encoding would.
func surfaceReflect(w http.ResponseWriter, r *http.Request) bool {
	var vals []string
	for _, vs := range r.URL.Query() {
		vals = append(vals, vs...)
	}
	page := strings.Join(vals, " ")
	if !strings.ContainsAny(page, "<:") {
		return false
	}
	surfaceWrite(w, http.StatusOK, "text/html; charset=utf-8", "<html><body>No results for "+page+"</body></html>")
	return true
}

func surfaceWrite(w http.ResponseWriter, status int, ctype, body string) {
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
