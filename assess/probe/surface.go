package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/profile"
	"github.com/bankguard/bankguard/sdk"
)

// surfaceChecks judge what the target shows its callers: its error answers
// (T/PCAC 0008-2020 3.1-7), its resistance to injection (3.3.2), its
// connectivity check (3.2.3) and how it announces the end of an API (7).
func surfaceChecks(t *Target) []assess.Check {
	run := func(f func(context.Context, *Target) assess.Result) func(context.Context) assess.Result {
		return func(ctx context.Context) assess.Result { return f(ctx, t) }
	}
	injection := func(fam *injectionFamily) func(context.Context) assess.Result {
		return func(ctx context.Context) assess.Result { return injectionCheck(ctx, t, fam) }
	}
	return []assess.Check{
		{ID: "errors.no-leak", Title: "Error answers leak no internal details", Items: []string{"3.1-7"}, Run: run(noLeakCheck)},
		{ID: "injection.sql", Title: "SQL injection probes are refused or inert", Items: []string{"3.3.2-1", "3.3.2-2"}, Run: injection(&sqlInjection)},
		{ID: "injection.script", Title: "Script injection probes are refused or inert", Items: []string{"3.3.2-1", "3.3.2-2"}, Run: injection(&scriptInjection)},
		{ID: "connectivity.ping", Title: "The connectivity check answers with the interface version", Items: []string{"3.2.3-1"}, Run: run(pingCheck)},
		{ID: "connectivity.invalid-parameter", Title: "An invalid parameter gets a clear 400", Items: []string{"3.2.3-1"}, Run: run(invalidParameterCheck)},
		{ID: "lifecycle.terminated", Title: "A terminated API tells callers the service ended", Items: []string{"7-3"}, Run: run(terminatedCheck)},
		{ID: "lifecycle.deprecated", Title: "A deprecated API announces its deprecation and sunset", Items: []string{"7-3"}, Run: run(deprecatedCheck)},
	}
}

// profileGap is a request the profile does not let a check build.
type profileGap struct{ error }

// sendAs signs a request as the endpoint's app and sends it. An answer comes
// back without error even when its body was cut at maxBody.
func sendAs(ctx context.Context, t *Target, ep *profile.Endpoint, title, method, path string, body []byte) (*Exchange, error) {
	app, err := t.AppFor(ep)
	if err != nil {
		return nil, profileGap{err}
	}
	req, err := sdk.NewRequest(ctx, method, t.Profile.URL(path), body)
	if err != nil {
		return nil, profileGap{fmt.Errorf("the profile gives an invalid request %s %s: %w", method, path, err)}
	}
	x, err := t.Call(ctx, app.AppID, title, req)
	if x != nil && x.Status != 0 {
		return x, nil
	}
	return x, err
}

// notAnswered turns a request that got no answer into a result: not_tested
// for a gap in the profile, error for a target that could not be reached.
func notAnswered(err error, x *Exchange, ev []assess.Evidence) assess.Result {
	var gap profileGap
	if errors.As(err, &gap) {
		return assess.NotTestedf("%v", gap.error).With(ev...)
	}
	r := assess.Errorf("the request got no answer from the target: %v", err).With(ev...)
	if x != nil {
		r = r.With(x.Evidence)
	}
	return r
}

// shown is a path fit for a reason: personal data masked.
func shown(method, path string) string { return method + " " + pii.MaskText(path) }

// statusText is a status with the problem code, if the answer has one.
func statusText(x *Exchange) string {
	if c := x.Code(); c != "" {
		return fmt.Sprintf("%d (%s)", x.Status, clip(c))
	}
	return fmt.Sprint(x.Status)
}

// clip shortens text quoted in a reason.
func clip(s string) string {
	if r := []rune(s); len(r) > 48 {
		return string(r[:48]) + "…"
	}
	return s
}

// noLeakCheck provokes errors with signed requests as a valid app and
// judges every answer with the leak detector (3.1-7): no software versions,
// stack traces, SQL text, internal addresses or file paths, and no 5xx.
func noLeakCheck(ctx context.Context, t *Target) assess.Result {
	probes, gaps := leakProbes(t.Profile)
	if len(probes) == 0 {
		return assess.NotTestedf("the profile has no endpoint to provoke errors with: %s", strings.Join(gaps, "; "))
	}
	own := targetHost(t.Profile)
	var ev []assess.Evidence
	var bad, notes tally
	for _, p := range probes {
		x, err := sendAs(ctx, t, p.ep, p.title, p.method, p.path, p.body)
		if err != nil {
			return notAnswered(err, x, ev)
		}
		b, n := judgeErrorAnswer(x, own)
		bad.add(p.title, b...)
		notes.add(p.title, n...)
		x.Evidence.Note = strings.Join(append(b, n...), "; ")
		ev = append(ev, x.Evidence)
	}
	if len(bad.order) > 0 {
		return assess.Failf("error answers leak internal details or break: %s", listed(bad.list(len(probes)))).With(ev...)
	}
	r := assess.Passf("none of the %d answers to malformed requests (bad bodies, unknown path, wrong method, bad parameter) was a server error or named a server, middleware, database, file path or internal address", len(probes))
	if more := append(notes.list(len(probes)), gaps...); len(more) > 0 {
		r.Reason += "; note: " + listed(more)
	}
	return r.With(ev...)
}

// tally groups findings by what was found, in the order first seen.
type tally struct {
	order []string
	where map[string][]string
}

func (ty *tally) add(where string, whats ...string) {
	if ty.where == nil {
		ty.where = map[string][]string{}
	}
	for _, w := range whats {
		if _, ok := ty.where[w]; !ok {
			ty.order = append(ty.order, w)
		}
		ty.where[w] = append(ty.where[w], where)
	}
}

func (ty *tally) list(total int) []string {
	var out []string
	for _, w := range ty.order {
		if ps := ty.where[w]; len(ps) == 1 {
			out = append(out, w+" in the answer to the "+ps[0])
		} else {
			out = append(out, fmt.Sprintf("%s in %d of %d answers", w, len(ps), total))
		}
	}
	return out
}

// listed joins findings for a reason, at most three of them.
func listed(s []string) string {
	if len(s) > 3 {
		return strings.Join(s[:3], "; ") + fmt.Sprintf("; and %d more (see the evidence)", len(s)-3)
	}
	return strings.Join(s, "; ")
}

// judgeErrorAnswer returns what is wrong with the answer to a malformed
// request, and what is merely worth noting.
func judgeErrorAnswer(x *Exchange, own ownHost) (bad, notes []string) {
	_, isProblem := x.Problem()
	switch {
	case x.Status >= 500:
		bad = append(bad, "a server error "+statusText(x))
	case x.Status < 400:
		notes = append(notes, fmt.Sprintf("a success status (%d)", x.Status))
	case !isProblem:
		notes = append(notes, fmt.Sprintf("a %d without a problem+json body", x.Status))
	}
	for _, l := range findLeaks(x, own) {
		if l.note {
			notes = append(notes, l.what)
		} else {
			bad = append(bad, l.what)
		}
	}
	return bad, notes
}

// leakProbe is one request that provokes an error.
type leakProbe struct {
	title        string
	ep           *profile.Endpoint
	method, path string
	body         []byte
}

// leakProbes are the error-provoking requests the profile allows, and what
// it lacks for the others.
func leakProbes(p *profile.Profile) (probes []leakProbe, gaps []string) {
	e := &p.Endpoints
	post := e.A2Transfer
	if post == nil || !hasBody(post.Method) {
		post = firstEndpoint(e, func(ep *profile.Endpoint) bool { return hasBody(ep.Method) })
	}
	if post != nil {
		malformed, wrong, huge := badBodies(post.Body)
		probes = append(probes,
			leakProbe{"request with a malformed JSON body", post, post.Method, post.Path, malformed},
			leakProbe{"request with wrong JSON types and a 40-digit number", post, post.Method, post.Path, wrong},
			leakProbe{"request with a 1 MiB JSON string", post, post.Method, post.Path, huge})
	} else {
		gaps = append(gaps, "no POST endpoint (endpoints.a2_transfer), so no malformed-body probes")
	}
	get := firstEndpoint(e, func(ep *profile.Endpoint) bool { return ep.Method == http.MethodGet })
	if get == nil {
		return probes, append(gaps, "no GET endpoint (endpoints.a1_read), so no path, method or parameter probes")
	}
	path, _, _ := strings.Cut(get.Path, "?")
	qep, qpath := wrongTypeQuery(e, get)
	return append(probes,
		leakProbe{"request for an unknown path under the API prefix", get, http.MethodGet, apiPrefix(path) + "bankguard-probe-no-such-api", nil},
		leakProbe{"request with the wrong method (DELETE) on a known path", get, http.MethodDelete, path, nil},
		leakProbe{"request with a query parameter of the wrong type", qep, http.MethodGet, qpath, nil}), gaps
}

func hasBody(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}

// firstEndpoint returns the first endpoint that fits, a1_read first and
// the roles that expect a refusal last.
func firstEndpoint(e *profile.Endpoints, fits func(*profile.Endpoint) bool) *profile.Endpoint {
	eps := []*profile.Endpoint{e.A1Read, e.A2Transfer, e.Ping, e.A2Read, e.Deprecated, e.PersonalData,
		e.InvalidParameter, e.NotGranted, e.OtherUserResource, e.Terminated}
	if e.RateLimited != nil {
		eps = append(eps, &e.RateLimited.Endpoint)
	}
	for _, ep := range eps {
		if ep != nil && fits(ep) {
			return ep
		}
	}
	return nil
}

// apiPrefix is the first segment of a path ("/v1/" of "/v1/products").
func apiPrefix(path string) string {
	if seg, rest, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/"); ok && rest != "" {
		return "/" + seg + "/"
	}
	return "/"
}

// wrongTypeQuery gives a non-numeric value to a parameter the target checks:
// the invalid_parameter endpoint's, else the GET endpoint's first, else
// page_size on the GET endpoint.
func wrongTypeQuery(e *profile.Endpoints, get *profile.Endpoint) (*profile.Endpoint, string) {
	ep := get
	if e.InvalidParameter != nil && e.InvalidParameter.Method == http.MethodGet && len(queryNames(e.InvalidParameter.Path)) > 0 {
		ep = e.InvalidParameter
	}
	param := "page_size"
	if names := queryNames(ep.Path); len(names) > 0 {
		param = names[0]
	}
	return ep, withQuery(ep.Path, param, "not-a-number")
}

// queryNames are the names in a path's query, sorted.
func queryNames(path string) []string {
	_, raw, _ := strings.Cut(path, "?")
	q, _ := url.ParseQuery(raw)
	return slices.Sorted(maps.Keys(q))
}

// withQuery returns path with the query parameter set to value.
func withQuery(path, param, value string) string {
	base, raw, _ := strings.Cut(path, "?")
	q, err := url.ParseQuery(raw)
	if err != nil {
		q = url.Values{}
	}
	q.Set(param, value)
	return base + "?" + q.Encode()
}

// Huge and wrongly typed values of the malformed bodies.
const (
	hugeString = 1 << 20
	longNumber = "1234567890123456789012345678901234567890"
)

// badBodies are a truncated body, one with wrong types and a 40-digit
// number, and one with a 1 MiB string, built from the endpoint's body
// without its secret members (so no payment can go through).
func badBodies(example json.RawMessage) (malformed, wrong, huge []byte) {
	doc := jsonObject(example)
	for k := range doc {
		if slices.Contains(secretMembers, strings.ToLower(k)) {
			delete(doc, k)
		}
	}
	w := map[string]any{}
	for i, k := range slices.Sorted(maps.Keys(doc)) {
		switch _, isString := doc[k].(string); {
		case i == 0:
			w[k] = json.Number(longNumber)
		case isString:
			w[k] = true
		default:
			w[k] = "bankguard-probe"
		}
	}
	if len(w) == 0 {
		w = map[string]any{"amount": true, "id": json.Number(longNumber)}
	}
	h := maps.Clone(doc)
	h[freeTextMember(doc, true)] = strings.Repeat("A", hugeString)
	return []byte(`{"bankguard_probe": [1, 2,`), marshalRaw(w), marshalRaw(h)
}

// jsonObject decodes a JSON object keeping numbers exact; anything else
// gives an empty object.
func jsonObject(b []byte) map[string]any {
	doc := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if dec.Decode(&doc) != nil || doc == nil {
		return map[string]any{}
	}
	return doc
}

// marshalRaw encodes v without HTML escaping, so payloads go out as written.
func marshalRaw(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // maps of strings, numbers and booleans always encode
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// freeTextMember is the body's free-text member (memo, remark…); failing
// that, with orAny, its first string member or a new one, else "".
func freeTextMember(doc map[string]any, orAny bool) string {
	for _, k := range []string{"memo", "remark", "remarks", "note", "comment", "description", "postscript", "purpose"} {
		if _, ok := doc[k].(string); ok {
			return k
		}
	}
	if !orAny {
		return ""
	}
	for _, k := range slices.Sorted(maps.Keys(doc)) {
		if _, ok := doc[k].(string); ok {
			return k
		}
	}
	return "bankguard_probe"
}

// pingCheck calls the connectivity check, signed, and passes when it answers
// 2xx naming the interface version (T/PCAC 0008-2020 3.2.3).
func pingCheck(ctx context.Context, t *Target) assess.Result {
	ep := t.Profile.Endpoints.Ping
	x, r, ok := sendRole(ctx, t, ep, "ping", "signed connectivity check")
	if !ok {
		return r
	}
	sent := "signed " + shown(ep.Method, ep.Path)
	if x.Status/100 != 2 {
		return assess.Failf("%s answered %s; the connectivity check should answer 2xx to a correctly signed request", sent, statusText(x)).With(x.Evidence)
	}
	v, where := interfaceVersion(x)
	if v == "" {
		return assess.Failf("%s answered %d but named no interface version (no member such as interface_version or version, no API-Version header)", sent, x.Status).With(x.Evidence)
	}
	return assess.Passf("%s answered %d naming interface version %q (%s)", sent, x.Status, clip(v), where).With(x.Evidence)
}

// interfaceVersion finds the interface version in an API version header or
// a JSON member such as interface_version (at the top or one level down).
func interfaceVersion(x *Exchange) (v, where string) {
	for _, h := range []string{"Api-Version", "X-Api-Version", "Interface-Version", "X-Interface-Version"} {
		if v := strings.TrimSpace(x.Header.Get(h)); v != "" {
			return v, "header " + h
		}
	}
	return versionMember(jsonObject(x.Body), 2)
}

func versionMember(doc map[string]any, depth int) (v, where string) {
	norm := strings.NewReplacer("_", "", "-", "")
	keys := slices.Sorted(maps.Keys(doc))
	for _, k := range keys {
		switch norm.Replace(strings.ToLower(k)) {
		case "interfaceversion", "apiversion", "version", "serviceversion":
			if s := strings.TrimSpace(fmt.Sprint(doc[k])); s != "" && isScalar(doc[k]) {
				return s, "member " + k
			}
		}
	}
	for _, k := range keys {
		if m, ok := doc[k].(map[string]any); ok && depth > 1 {
			if v, where := versionMember(m, depth-1); v != "" {
				return v, where
			}
		}
	}
	return "", ""
}

func isScalar(v any) bool {
	switch v.(type) {
	case string, json.Number:
		return true
	}
	return false
}

// invalidParameterCheck sends the profile's request with an invalid
// parameter, signed, and passes when the answer is 400 problem+json naming
// the parameter and leaking nothing (T/PCAC 0008-2020 3.2.3, 3.1-7).
func invalidParameterCheck(ctx context.Context, t *Target) assess.Result {
	ep := t.Profile.Endpoints.InvalidParameter
	if ep != nil && len(offendingNames(ep)) == 0 {
		return assess.NotTestedf("endpoints.invalid_parameter names no parameter: its path has no query and it has no JSON body")
	}
	x, r, ok := sendRole(ctx, t, ep, "invalid_parameter", "request with an invalid parameter")
	if !ok {
		return r
	}
	sent, names := "signed "+shown(ep.Method, ep.Path), offendingNames(ep)
	_, isProblem := x.Problem()
	switch {
	case x.Status != http.StatusBadRequest:
		return assess.Failf("%s answered %s; an invalid parameter should get 400 with a problem+json body naming it", sent, statusText(x)).With(x.Evidence)
	case !isProblem:
		return assess.Failf("%s answered 400 without an RFC 9457 problem+json body", sent).With(x.Evidence)
	case !namesParameter(x.Body, names):
		return assess.Failf("%s answered 400, but the answer does not name the offending parameter (%s)", sent, strings.Join(names, ", ")).With(x.Evidence)
	}
	var bad []string
	for _, l := range findLeaks(x, targetHost(t.Profile)) {
		if !l.note {
			bad = append(bad, l.what)
		}
	}
	if len(bad) > 0 {
		return assess.Failf("%s answered 400 naming the parameter, but the answer gives away %s", sent, listed(bad)).With(x.Evidence)
	}
	return assess.Passf("%s answered 400 problem+json naming the offending parameter and no internal details", sent).With(x.Evidence)
}

// offendingNames are the parameter names of the invalid request: its query's,
// else its JSON body's members.
func offendingNames(ep *profile.Endpoint) []string {
	if names := queryNames(ep.Path); len(names) > 0 {
		return names
	}
	return slices.Sorted(maps.Keys(jsonObject(ep.Body)))
}

// namesParameter reports whether a member name or a string value of the
// problem names one of the parameters as a whole word.
func namesParameter(body []byte, names []string) bool {
	var doc any
	if json.Unmarshal(body, &doc) != nil {
		return false
	}
	var walk func(v any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case map[string]any:
			for k, m := range v {
				if slices.Contains(names, k) || walk(m) {
					return true
				}
			}
		case []any:
			return slices.ContainsFunc(v, walk)
		case string:
			return slices.ContainsFunc(names, func(n string) bool { return containsWord(v, n) })
		}
		return false
	}
	return walk(doc)
}

// containsWord reports whether s holds w not touching a letter, digit or _.
func containsWord(s, w string) bool {
	word := func(c byte) bool { return c == '_' || c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z' }
	for i := 0; w != ""; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		a, b := i+j, i+j+len(w)
		if (a == 0 || !word(s[a-1])) && (b == len(s) || !word(s[b])) {
			return true
		}
		i = a + 1
	}
	return false
}
