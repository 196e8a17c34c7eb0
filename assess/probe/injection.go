package probe

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/profile"
)

// injectionFamily is a family of classic injection payloads and how an
// answer to one is judged: "" when it was refused or inert.
type injectionFamily struct {
	name, inert string
	payloads    []string
	judge       func(payload string, x *Exchange, took time.Duration) string
}

// At most this many payloads of a family go into a fund transfer's body.
const transferProbes = 2

var sqlInjection = injectionFamily{
	name:     "SQL injection",
	inert:    "no 5xx, no SQL error text, no delay",
	payloads: []string{`' OR '1'='1`, `' AND SLEEP(5)--`, `1; DROP TABLE users--`, `1 UNION SELECT NULL--`},
	judge: func(payload string, x *Exchange, took time.Duration) string {
		switch {
		case x.Status >= 500:
			return "answered " + statusText(x)
		case sqlText.Match(x.Body):
			return fmt.Sprintf("answered %d with SQL error text (%q)", x.Status, sqlText.Find(x.Body))
		case strings.Contains(payload, "SLEEP") && took > 4*time.Second:
			return fmt.Sprintf("took %.1f s to answer, as if the database slept", took.Seconds())
		}
		return ""
	},
}

var scriptInjection = injectionFamily{
	name:     "script injection",
	inert:    "no 5xx, no unescaped reflection",
	payloads: []string{`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`, `javascript:alert(1)`, `<svg onload=alert(1)>`},
	judge: func(payload string, x *Exchange, _ time.Duration) string {
		switch {
		case x.Status >= 500:
			return "answered " + statusText(x)
		case reflectsUnescaped(x, payload):
			return fmt.Sprintf("answered %d reflecting it unescaped as %q", x.Status, clip(x.Header.Get("Content-Type")))
		}
		return ""
	},
}

// reflectsUnescaped reports whether the answer carries the payload as
// written where a browser could run it: in anything but JSON, or in JSON a
// browser may sniff as HTML (no X-Content-Type-Options: nosniff).
func reflectsUnescaped(x *Exchange, payload string) bool {
	if !bytes.Contains(x.Body, []byte(payload)) {
		return false
	}
	mt, _, _ := mime.ParseMediaType(x.Header.Get("Content-Type"))
	isJSON := mt == "application/json" || strings.HasSuffix(mt, "+json")
	nosniff := strings.EqualFold(x.Header.Get("X-Content-Type-Options"), "nosniff")
	return !isJSON || !nosniff && strings.ContainsAny(payload, "<>")
}

// injectionProbe is one payload placed in one request.
type injectionProbe struct {
	ep            *profile.Endpoint
	where         string
	path, payload string
	body          []byte
}

// injectionCheck places a family's payloads, properly signed, in a query
// parameter of a1_read and in the free-text member of a2_transfer's body,
// and passes when each is refused (4xx) or handled as inert data
// (T/PCAC 0008-2020 3.3.2).
func injectionCheck(ctx context.Context, t *Target, fam *injectionFamily) assess.Result {
	probes, gaps := injectionProbes(&t.Profile.Endpoints, fam)
	if len(probes) == 0 {
		return assess.NotTestedf("nowhere to place the probes: %s", strings.Join(gaps, "; "))
	}
	var ev []assess.Evidence
	var bad []string
	refused := 0
	for _, p := range probes {
		start := time.Now()
		x, err := sendAs(ctx, t, p.ep, fam.name+" in the "+p.where, p.ep.Method, p.path, p.body)
		if err != nil {
			return notAnswered(err, x, ev)
		}
		if why := fam.judge(p.payload, x, time.Since(start)); why != "" {
			x.Evidence.Note = why
			bad = append(bad, fmt.Sprintf("%q in the %s %s", p.payload, p.where, why))
		} else if x.Status >= 400 {
			refused++
		}
		ev = append(ev, x.Evidence)
	}
	if len(bad) > 0 {
		return assess.Failf("%s was not contained: %s", fam.name, listed(bad)).With(ev...)
	}
	r := assess.Passf("all %d %s probes were refused (%d) or handled as inert data (%d): %s",
		len(probes), fam.name, refused, len(probes)-refused, fam.inert)
	if len(gaps) > 0 {
		r.Reason += "; not probed: " + strings.Join(gaps, "; ")
	}
	return r.With(ev...)
}

// injectionProbes places the payloads: each in a query parameter of a1_read,
// the first few in a2_transfer's free-text member (a transfer moves money).
func injectionProbes(e *profile.Endpoints, fam *injectionFamily) (probes []injectionProbe, gaps []string) {
	if ep := e.A1Read; ep != nil {
		param := injectionParam(e)
		base, _, _ := strings.Cut(ep.Path, "?")
		where := fmt.Sprintf("query parameter %s of %s", param, shown(ep.Method, base))
		for _, pl := range fam.payloads {
			probes = append(probes, injectionProbe{ep: ep, where: where, path: withQuery(ep.Path, param, pl), payload: pl, body: ep.Body})
		}
	} else {
		gaps = append(gaps, "the profile has no endpoints.a1_read")
	}
	ep := e.A2Transfer
	if ep == nil {
		return probes, append(gaps, "the profile has no endpoints.a2_transfer")
	}
	doc := jsonObject(ep.Body)
	member := freeTextMember(doc, false)
	if member == "" {
		return probes, append(gaps, "endpoints.a2_transfer.body has no free-text member such as memo")
	}
	for _, pl := range fam.payloads[:min(transferProbes, len(fam.payloads))] {
		doc[member] = pl
		probes = append(probes, injectionProbe{ep: ep, where: member + " of " + shown(ep.Method, ep.Path), path: ep.Path, payload: pl, body: marshalRaw(doc)})
	}
	return probes, gaps
}

// injectionParam is the query parameter of a1_read the payloads go into: its
// own first one, else invalid_parameter's when it is the same API, else q.
func injectionParam(e *profile.Endpoints) string {
	if names := queryNames(e.A1Read.Path); len(names) > 0 {
		return names[0]
	}
	if ip := e.InvalidParameter; ip != nil {
		a, _, _ := strings.Cut(e.A1Read.Path, "?")
		b, _, _ := strings.Cut(ip.Path, "?")
		if names := queryNames(ip.Path); a == b && len(names) > 0 {
			return names[0]
		}
	}
	return "q"
}

// sendRole sends an endpoint's request as it is in the profile; missing
// names the profile field the check needs.
func sendRole(ctx context.Context, t *Target, ep *profile.Endpoint, field, title string) (*Exchange, assess.Result, bool) {
	if ep == nil {
		return nil, assess.NotTestedf("the profile has no endpoints.%s", field), false
	}
	x, err := sendAs(ctx, t, ep, title, ep.Method, ep.Path, ep.Body)
	if err != nil {
		return nil, notAnswered(err, x, nil), false
	}
	return x, assess.Result{}, true
}
