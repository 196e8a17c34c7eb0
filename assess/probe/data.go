package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/profile"
)

// dataChecks are the checks of the data the target gives out and keeps:
// masking of personal data, the protection of A2 query answers, and the
// audit log (T/PCAC 0008-2020 3.2.5, 3.3.3, 8.3).
func dataChecks(t *Target) []assess.Check {
	return []assess.Check{
		{ID: "pii.masked", Title: "Personal data in answers is masked",
			Items: []string{"3.2.5-2"}, Run: t.checkPIIMasked},
		{ID: "transport.a2-response-protected", Title: "A2 query answers come over TLS with a valid bank signature",
			Items: []string{"3.2.5-3"}, Run: t.checkA2ResponseProtected},
		{ID: "audit.records", Title: "Each call leaves a complete audit record",
			Items: []string{"3.3.3-1", "3.3.3-2", "8.3-1"}, Run: t.checkAuditRecords},
		{ID: "audit.integrity", Title: "Audit records are covered by a signed, verifiable proof",
			Items: []string{"8.3-3"}, Run: t.checkAuditIntegrity},
	}
}

// checkPIIMasked calls endpoints.personal_data and looks at every value of
// the answer: card, ID and mobile numbers and e-mail addresses found by the
// pii detectors, and names and account numbers in members named for them,
// must be masked. T/PCAC 0008-2020 3.2.5.
func (t *Target) checkPIIMasked(ctx context.Context) assess.Result {
	ep := t.Profile.Endpoints.PersonalData
	if ep == nil {
		return assess.NotTestedf("The profile has no endpoints.personal_data, so masking could not be observed.")
	}
	x, res := t.callRole(ctx, ep, "endpoints.personal_data", "request for personal data")
	if res != nil {
		return *res
	}
	if x.Status < 200 || x.Status > 299 {
		return assess.NotTestedf("The endpoints.personal_data call (%s %s) answered %d, so masking could not be observed.", ep.Method, ep.Path, x.Status).With(x.Evidence)
	}
	var s piiScan
	if doc, err := decodeNumbers(x.Body); err == nil {
		s.walk(doc, "", "")
	} else {
		s.value("", "", string(x.Body))
	}
	switch {
	case len(s.unmasked) > 0:
		return assess.Failf("The endpoints.personal_data answer (%s %s) holds unmasked personal data: %s.", ep.Method, ep.Path, s.list()).With(x.Evidence)
	case s.masked == 0:
		return assess.NotTestedf("The endpoints.personal_data answer (%s %s) held no personal data, masked or not, so masking could not be observed.", ep.Method, ep.Path).With(x.Evidence)
	}
	return assess.Passf("The endpoints.personal_data answer (%s %s) held %d masked personal-data values and no unmasked card, ID, phone, e-mail, name or account number.", ep.Method, ep.Path, s.masked).With(x.Evidence)
}

// callRole calls a profile endpoint as its app. A non-nil result is the
// check's outcome: the app or the target could not be used.
func (t *Target) callRole(ctx context.Context, ep *profile.Endpoint, role, title string) (*Exchange, *assess.Result) {
	fail := func(r assess.Result) (*Exchange, *assess.Result) { return nil, &r }
	app, err := t.AppFor(ep)
	if err != nil {
		return fail(assess.NotTestedf("The %s call cannot be made: %v.", role, err))
	}
	req, err := t.Request(ctx, ep)
	if err != nil {
		return fail(assess.Errorf("The %s request cannot be built: %v.", role, err))
	}
	x, err := t.Call(ctx, app.AppID, title, req)
	if err != nil {
		r := assess.Errorf("The %s call (%s %s as %s) got no answer: %v.", role, ep.Method, ep.Path, app.AppID, err)
		if x != nil {
			r = r.With(x.Evidence)
		}
		return fail(r)
	}
	return x, nil
}

// decodeNumbers decodes a document keeping numbers as written.
func decodeNumbers(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// piiFound is personal data found unmasked: where and what, never the value.
type piiFound struct {
	path string
	kind pii.Kind
}

// piiScan walks an answer and counts masked and unmasked personal data.
type piiScan struct {
	unmasked []piiFound
	masked   int
}

// walk visits every value under path; member is the name of the member the
// value belongs to (array elements inherit it).
func (s *piiScan) walk(v any, path, member string) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			s.walk(v[k], path+"/"+pointerEscape(k), k)
		}
	case []any:
		for i, e := range v {
			s.walk(e, path+"/"+strconv.Itoa(i), member)
		}
	case string:
		s.value(path, member, v)
	case json.Number:
		s.value(path, member, v.String())
	}
}

// value judges one value.
func (s *piiScan) value(path, member, v string) {
	kind := piiMemberKind(member)
	starred := strings.ContainsAny(v, "*＊")
	if starred && (kind != "" || strings.ContainsFunc(v, func(r rune) bool { return unicode.IsDigit(r) || unicode.Is(unicode.Han, r) })) ||
		kind != "" && strings.HasPrefix(v, "psn_") {
		s.masked++
	}
	found := map[pii.Kind]bool{}
	for _, f := range pii.Find(v) {
		found[f.Kind] = true
	}
	if !starred && len(found) == 0 {
		switch {
		case kind == pii.Name && unmaskedName(v):
			found[pii.Name] = true
		case kind == pii.Account && digitsOnly(v, 8, 32):
			found[pii.Account] = true
		case kind == pii.Card && digitsOnly(v, 12, 19):
			found[pii.Card] = true
		}
	}
	for _, k := range []pii.Kind{pii.Card, pii.Account, pii.IDNumber, pii.Phone, pii.Email, pii.Name} {
		if found[k] {
			s.unmasked = append(s.unmasked, piiFound{path: path, kind: k})
		}
	}
}

// list names the first findings for a reason.
func (s *piiScan) list() string {
	const shown = 5
	var parts []string
	for i, f := range s.unmasked {
		if i == shown {
			parts = append(parts, fmt.Sprintf("and %d more", len(s.unmasked)-shown))
			break
		}
		at := f.path
		if at == "" {
			at = "the body"
		}
		parts = append(parts, fmt.Sprintf("%s at %s", piiKindName(f.kind), at))
	}
	return strings.Join(parts, ", ")
}

// piiKindName is a kind as a reason says it.
func piiKindName(k pii.Kind) string {
	switch k {
	case pii.Card:
		return "a card number"
	case pii.Account:
		return "an account number"
	case pii.IDNumber:
		return "a resident ID number"
	case pii.Phone:
		return "a mobile number"
	case pii.Email:
		return "an e-mail address"
	}
	return "a name"
}

// pointerEscape escapes a member name for a JSON pointer (RFC 6901).
func pointerEscape(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

// piiMemberKind is the kind of personal data a member's name announces, or "".
// Names are compared in snake_case: holderName reads as holder_name.
func piiMemberKind(member string) pii.Kind {
	words := strings.Split(snakeMember(member), "_")
	last, prev := words[len(words)-1], ""
	if len(words) > 1 {
		prev = words[len(words)-2]
	}
	switch last {
	case "name", "surname", "holder", "cardholder":
		if last == "name" && piiThingWords[prev] {
			return ""
		}
		return pii.Name
	case "phone", "mobile", "tel", "telephone", "cellphone":
		return pii.Phone
	case "email", "mail":
		return pii.Email
	case "idno", "idcard":
		return pii.IDNumber
	case "cardno", "pan":
		return pii.Card
	case "account", "acct", "acctno":
		return pii.Account
	case "no", "number", "num":
		switch prev {
		case "id", "idcard", "cert", "certificate", "identity", "passport":
			return pii.IDNumber
		case "card":
			return pii.Card
		case "account", "acct":
			return pii.Account
		case "phone", "mobile", "tel":
			return pii.Phone
		}
	}
	return ""
}

// piiThingWords name things, not people, before _name: product_name, bank_name.
var piiThingWords = map[string]bool{
	"product": true, "bank": true, "branch": true, "file": true, "app": true, "company": true, "org": true,
	"issuer": true, "currency": true, "type": true, "channel": true, "business": true, "service": true,
	"api": true, "category": true, "brand": true, "city": true, "province": true, "country": true,
	"region": true, "shop": true, "store": true, "merchant": true, "plan": true, "fund": true, "field": true,
	"key": true, "method": true, "status": true, "item": true, "goods": true, "project": true,
	"institution": true, "department": true, "device": true, "host": true, "event": true, "user": true,
}

// snakeMember converts a member name to lower snake_case.
func snakeMember(name string) string {
	var b strings.Builder
	prevLower := false
	for _, r := range name {
		switch {
		case r == '-' || r == ' ' || r == '.':
			r = '_'
		case unicode.IsUpper(r):
			if prevLower {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
		prevLower = unicode.IsLower(r) || unicode.IsDigit(r)
	}
	return b.String()
}

// piiOrgSuffixes end the names of organizations, which are not masked.
var piiOrgSuffixes = []string{"公司", "银行", "支行", "分行", "集团", "中心", "商城", "商店", "超市", "医院", "学校",
	"大学", "学院", "酒店", "基金", "理财", "保险", "证券", "店", "馆", "厂", "局"}

// unmaskedName reports a value that is a person's name in clear: 2–4 Han
// characters, not an organization's name.
func unmaskedName(v string) bool {
	v = strings.TrimSpace(v)
	n := utf8.RuneCountInString(v)
	if n < 2 || n > 4 || strings.ContainsFunc(v, func(r rune) bool { return !unicode.Is(unicode.Han, r) }) {
		return false
	}
	return !slices.ContainsFunc(piiOrgSuffixes, func(s string) bool { return strings.HasSuffix(v, s) })
}

// digitsOnly reports a value of min to max digits, spaces and hyphens aside.
func digitsOnly(v string, minDigits, maxDigits int) bool {
	n := 0
	for _, r := range v {
		switch {
		case r >= '0' && r <= '9':
			n++
		case r == ' ' || r == '-':
		default:
			return false
		}
	}
	return n >= minDigits && n <= maxDigits
}

// checkA2ResponseProtected calls endpoints.a2_read: the answer must come over
// TLS and carry a bank signature that verifies, which protects the query's
// confidentiality and integrity. T/PCAC 0008-2020 3.2.5.
func (t *Target) checkA2ResponseProtected(ctx context.Context) assess.Result {
	ep := t.Profile.Endpoints.A2Read
	if ep == nil {
		return assess.NotTestedf("The profile has no endpoints.a2_read, so the protection of an A2 query could not be observed.")
	}
	app, err := t.AppFor(ep)
	if err != nil {
		return assess.NotTestedf("The endpoints.a2_read call cannot be made: %v.", err)
	}
	c, err := t.Client(ctx, app.AppID)
	if err != nil {
		return assess.Errorf("The client for %s cannot be set up (app credentials or the bank's keys): %v.", app.AppID, err)
	}
	var conn tls.ConnectionState
	var overTLS bool
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if tc, ok := info.Conn.(*tls.Conn); ok {
			conn, overTLS = tc.ConnectionState(), true
		}
	}}
	req, err := t.Request(httptrace.WithClientTrace(ctx, trace), ep)
	if err != nil {
		return assess.Errorf("The endpoints.a2_read request cannot be built: %v.", err)
	}
	x, err := t.Call(ctx, app.AppID, "A2 read-only query", req)
	if err != nil {
		r := assess.Errorf("The endpoints.a2_read call (%s %s as %s) got no answer: %v.", ep.Method, ep.Path, app.AppID, err)
		if x != nil {
			r = r.With(x.Evidence)
		}
		return r
	}
	return judgeA2Answer(ep.Method+" "+ep.Path, x, overTLS, conn, func() (string, error) {
		v, err := c.VerifyResponse(req, x.Status, x.Header, x.Body)
		if err != nil || v == nil {
			return "", err
		}
		return fmt.Sprintf("key %s, %s", v.KeyID, v.Alg), nil
	}).With(x.Evidence)
}

// judgeA2Answer decides transport.a2-response-protected; verify checks the
// bank signature and describes it ("" with no error: there is none).
func judgeA2Answer(what string, x *Exchange, overTLS bool, conn tls.ConnectionState, verify func() (string, error)) assess.Result {
	if x.Status < 200 || x.Status > 299 {
		return assess.NotTestedf("The endpoints.a2_read call (%s) answered %d, so the protection of a query answer could not be observed.", what, x.Status)
	}
	if !overTLS {
		return assess.Failf("The answer to %s did not come over TLS.", what)
	}
	sig, err := verify()
	switch {
	case err != nil:
		return assess.Failf("The answer to %s carries a bank signature that does not verify: %v.", what, err)
	case sig == "":
		return assess.Failf("The answer to %s (status %d) carries no bank signature, so its integrity is not protected.", what, x.Status)
	}
	return assess.Passf("The answer to %s came over %s (%s) and carries a bank signature (%s) that verifies over its status, body digest and the request.",
		what, tls.VersionName(conn.Version), tls.CipherSuiteName(conn.CipherSuite), sig)
}

// adminClient returns an HTTP client for the admin API (target.admin_url):
// it trusts target.ca_cert and presents target.admin_client_cert.
func (t *Target) adminClient() (*http.Client, error) {
	tp := t.Profile.Target
	cfg, err := t.Profile.TLSConfig(nil)
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(t.Profile.Path(tp.AdminClientCert), t.Profile.Path(tp.AdminClientKey))
	if err != nil {
		return nil, fmt.Errorf("target.admin_client_cert: %w", err)
	}
	cfg.Certificates = []tls.Certificate{cert}
	return &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}
