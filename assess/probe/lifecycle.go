package probe

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bankguard/bankguard/assess"
)

// terminatedCheck calls the terminated API and passes when it answers 410
// (or 404/403) with a notice that the service ended: the baffle of
// T/PCAC 0008-2020 7 that tells callers before the API goes offline.
func terminatedCheck(ctx context.Context, t *Target) assess.Result {
	ep := t.Profile.Endpoints.Terminated
	x, r, ok := sendRole(ctx, t, ep, "terminated", "call of the terminated API")
	if !ok {
		return r
	}
	sent := "signed " + shown(ep.Method, ep.Path)
	p, isProblem := x.Problem()
	notice := strings.TrimSpace(p.Title + " " + p.Detail)
	if !isProblem {
		notice = strings.TrimSpace(string(x.Body[:min(len(x.Body), maxShown)]))
	}
	switch {
	case x.Status == http.StatusGone && isProblem && notice != "",
		(x.Status == http.StatusGone || x.Status == http.StatusNotFound || x.Status == http.StatusForbidden) &&
			(p.Code == "service_terminated" || saysEnded(notice)):
		return assess.Passf("%s answered %s with a notice that the service has ended", sent, statusText(x)).With(x.Evidence)
	case x.Status/100 == 2:
		return assess.Failf("%s answered %d: the terminated API is still served", sent, x.Status).With(x.Evidence)
	case len(bytes.TrimSpace(x.Body)) == 0:
		return assess.Failf("%s answered %d with an empty body: callers are not told the service has ended", sent, x.Status).With(x.Evidence)
	}
	return assess.Failf("%s answered %s without a notice that the service has ended (expected 410, or 404/403, with a problem+json detail saying so)", sent, statusText(x)).With(x.Evidence)
}

// saysEnded reports whether a notice says a service has ended.
func saysEnded(notice string) bool {
	n := strings.ToLower(notice)
	for _, w := range []string{"terminat", "discontinu", "retired", "decommission", "no longer", "has ended", "终止", "下线", "停止", "停用", "废止", "不再提供"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// deprecatedCheck calls the deprecated API and passes when it answers 2xx
// with a Deprecation (RFC 9745) and/or Sunset (RFC 8594) header holding a
// valid date: callers learn before the service ends (T/PCAC 0008-2020 7).
func deprecatedCheck(ctx context.Context, t *Target) assess.Result {
	ep := t.Profile.Endpoints.Deprecated
	x, r, ok := sendRole(ctx, t, ep, "deprecated", "call of the deprecated API")
	if !ok {
		return r
	}
	sent := "signed " + shown(ep.Method, ep.Path)
	if x.Status/100 != 2 {
		return assess.Failf("%s answered %s; a deprecated API should still answer normally, with Deprecation and Sunset headers", sent, statusText(x)).With(x.Evidence)
	}
	var got, bad, missing []string
	judge := func(name string, date time.Time, ok bool) {
		switch v := x.Header.Get(name); {
		case v != "" && ok:
			got = append(got, name+" "+date.UTC().Format(time.DateOnly))
		case v != "":
			bad = append(bad, fmt.Sprintf("%s %q is not a valid date", name, clip(v)))
		default:
			missing = append(missing, name)
		}
	}
	dep, ok := deprecationDate(x.Header.Get("Deprecation"))
	judge("Deprecation", dep, ok)
	sun, err := http.ParseTime(x.Header.Get("Sunset"))
	judge("Sunset", sun, err == nil)
	switch {
	case len(bad) > 0:
		return assess.Failf("%s answered %d, but %s (RFC 9745 wants @<unix seconds>, RFC 8594 an HTTP date)", sent, x.Status, strings.Join(bad, " and ")).With(x.Evidence)
	case len(got) == 0:
		return assess.Failf("%s answered %d without a Deprecation (RFC 9745) or Sunset (RFC 8594) header: callers are not told the API is going away", sent, x.Status).With(x.Evidence)
	}
	r = assess.Passf("%s answered %d with %s", sent, x.Status, strings.Join(got, " and "))
	if len(missing) > 0 {
		r.Reason += fmt.Sprintf(" (no %s header)", missing[0])
	}
	return r.With(x.Evidence)
}

// deprecationDate parses an RFC 9745 Deprecation value (@<unix seconds>),
// or an HTTP date as earlier drafts had it.
func deprecationDate(v string) (time.Time, bool) {
	if s, ok := strings.CutPrefix(strings.TrimSpace(v), "@"); ok {
		n, err := strconv.ParseInt(s, 10, 64)
		return time.Unix(n, 0), err == nil
	}
	d, err := http.ParseTime(v)
	return d, err == nil
}
