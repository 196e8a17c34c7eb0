package httpsig_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/httpsig"
)

// line returns the first line of the signature base of one component.
func line(t *testing.T, m *httpsig.Message, id string) (string, error) {
	t.Helper()
	c, err := httpsig.ParseComponent(id)
	if err != nil {
		return "", err
	}
	base, err := httpsig.SignatureBase(m, httpsig.Input{Components: []httpsig.Component{c}})
	if err != nil {
		return "", err
	}
	l, _, _ := strings.Cut(string(base), "\n")
	return l, nil
}

func checkLines(t *testing.T, m *httpsig.Message, want map[string]string) {
	t.Helper()
	for id, w := range want {
		got, err := line(t, m, id)
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if got != w {
			t.Errorf("%s:\n got %q\nwant %q", id, got, w)
		}
	}
}

// TestHTTPFields follows the examples of RFC 9421 §2.1, §2.1.1, §2.1.2, §2.1.3.
func TestHTTPFields(t *testing.T) {
	h := http.Header{}
	h.Set("Host", "www.example.com")
	h.Set("Date", "Tue, 20 Apr 2021 02:07:56 GMT")
	h.Set("X-OWS-Header", "   Leading and trailing whitespace.  ")
	h.Set("X-Obs-Fold-Header", "Obsolete\r\n    line folding.")
	h.Add("Cache-Control", "max-age=60")
	h.Add("Cache-Control", "   must-revalidate")
	h.Set("Example-Dict", " a=1,    b=2;x=1;y=2,   c=(a   b   c)")
	h.Set("X-Empty-Header", "")
	// A known Dictionary field with the same value as Example-Dict, for ;sf.
	h.Set("Accept-Signature", " a=1,    b=2;x=1;y=2,   c=(a   b   c)")
	h.Set("Priority", "a=1, b=2;x=1;y=2, c=(a   b    c), d")
	h.Add("Example-Header", "value, with, lots")
	h.Add("Example-Header", "of, commas")
	h.Set("Single-Header", "value, with, lots, of, commas")
	m := httpsig.NewResponseMessage(200, h, nil)

	checkLines(t, m, map[string]string{
		`"host"`:                     `"host": www.example.com`,
		`"date"`:                     `"date": Tue, 20 Apr 2021 02:07:56 GMT`,
		`"x-ows-header"`:             `"x-ows-header": Leading and trailing whitespace.`,
		`"x-obs-fold-header"`:        `"x-obs-fold-header": Obsolete line folding.`,
		`"cache-control"`:            `"cache-control": max-age=60, must-revalidate`,
		`"example-dict"`:             `"example-dict": a=1,    b=2;x=1;y=2,   c=(a   b   c)`,
		`"x-empty-header"`:           `"x-empty-header": `,
		`"accept-signature";sf`:      `"accept-signature";sf: a=1, b=2;x=1;y=2, c=(a b c)`,
		`"priority";key="a"`:         `"priority";key="a": 1`,
		`"priority";key="d"`:         `"priority";key="d": ?1`,
		`"priority";key="b"`:         `"priority";key="b": 2;x=1;y=2`,
		`"priority";key="c"`:         `"priority";key="c": (a b c)`,
		`"example-dict";key="c"`:     `"example-dict";key="c": (a b c)`,
		`"example-header"`:           `"example-header": value, with, lots, of, commas`,
		`"example-header";bs`:        `"example-header";bs: :dmFsdWUsIHdpdGgsIGxvdHM=:, :b2YsIGNvbW1hcw==:`,
		`"single-header";bs`:         `"single-header";bs: :dmFsdWUsIHdpdGgsIGxvdHMsIG9mLCBjb21tYXM=:`,
		`"cache-control";bs`:         `"cache-control";bs: :bWF4LWFnZT02MA==:, :bXVzdC1yZXZhbGlkYXRl:`,
		`"x-obs-fold-header";bs`:     `"x-obs-fold-header";bs: :T2Jzb2xldGUgbGluZSBmb2xkaW5nLg==:`,
		`"accept-signature";key="b"`: `"accept-signature";key="b": 2;x=1;y=2`,
	})

	for id, reason := range map[string]string{
		`"example-dict";sf`:   "structured type of the field is not known",
		`"priority";key="zz"`: "dictionary member absent",
		`"x-missing"`:         "header field absent",
		`"date";key="a"`:      "not a valid dictionary",
		`"priority";req`:      "req used in a request",
	} {
		mm := m
		if strings.HasSuffix(id, ";req") {
			mm = &httpsig.Message{Header: h}
		}
		if _, err := line(t, mm, id); !errors.Is(err, httpsig.ErrComponent) || !strings.Contains(err.Error(), reason) {
			t.Errorf("%s: %v, want ErrComponent (%s)", id, err, reason)
		}
	}
	checkLines(t, m, map[string]string{`"cache-control";key="max-age"`: `"cache-control";key="max-age": 60`})
}

// TestFieldValueInjection: a value that would add a line to the signature
// base, or carries control or non-ASCII bytes, cannot be covered.
func TestFieldValueInjection(t *testing.T) {
	tests := []struct {
		name, v     string
		plain, bsOK bool
	}{
		{"lf", "a\n\"@method\": GET", false, false},
		{"cr", "a\rb", false, false},
		{"crlf without fold", "a\r\nb", false, false},
		{"trailing lf", "a\n", false, false},
		{"nul", "a\x00b", false, true},
		{"tab", "a\tb", false, true},
		{"del", "a\x7fb", false, true},
		{"utf-8", "caf\u00e9", false, true},
		{"latin-1", "caf\xe9", false, true},
		{"obs-fold", "a\r\n\tb", true, true},
	}
	for _, tt := range tests {
		m := httpsig.NewResponseMessage(200, http.Header{"X-Test": {tt.v}}, nil)
		if _, err := line(t, m, `"x-test"`); (err == nil) != tt.plain || (err != nil && !errors.Is(err, httpsig.ErrComponent)) {
			t.Errorf("%s: %v", tt.name, err)
		}
		// ;bs wraps any octets, but a newline that is not a fold is still refused.
		if _, err := line(t, m, `"x-test";bs`); (err == nil) != tt.bsOK {
			t.Errorf("%s;bs: %v", tt.name, err)
		}
	}
	// Derived values are checked too.
	m := &httpsig.Message{Method: "GET\n\"x\": y", Scheme: "https", Authority: "example.com", Path: "/"}
	if _, err := line(t, m, `"@method"`); !errors.Is(err, httpsig.ErrComponent) {
		t.Errorf("@method with newline: %v", err)
	}
	m = &httpsig.Message{Method: "GET", Scheme: "https", Authority: "exa mple.com ", Path: "/\x01"}
	for _, id := range []string{`"@authority"`, `"@path"`, `"@target-uri"`} {
		if _, err := line(t, m, id); !errors.Is(err, httpsig.ErrComponent) {
			t.Errorf("%s: %v", id, err)
		}
	}
}

// TestDerivedComponents follows RFC 9421 §2.2.
func TestDerivedComponents(t *testing.T) {
	r := httptest.NewRequest("POST", "/path?param=value&foo=bar&baz=bat%2Dman", nil)
	r.Host = "www.example.com"
	r.TLS = &tls.ConnectionState{}
	m := httpsig.NewRequestMessage(r)
	checkLines(t, m, map[string]string{
		`"@method"`:         `"@method": POST`,
		`"@target-uri"`:     `"@target-uri": https://www.example.com/path?param=value&foo=bar&baz=bat%2Dman`,
		`"@authority"`:      `"@authority": www.example.com`,
		`"@scheme"`:         `"@scheme": https`,
		`"@request-target"`: `"@request-target": /path?param=value&foo=bar&baz=bat%2Dman`,
		`"@path"`:           `"@path": /path`,
		`"@query"`:          `"@query": ?param=value&foo=bar&baz=bat%2Dman`,
	})

	r = httptest.NewRequest("GET", "/path?queryString", nil)
	r.TLS = nil
	checkLines(t, httpsig.NewRequestMessage(r), map[string]string{
		`"@query"`:  `"@query": ?queryString`,
		`"@scheme"`: `"@scheme": http`,
	})
	r = httptest.NewRequest("GET", "/path", nil)
	checkLines(t, httpsig.NewRequestMessage(r), map[string]string{`"@query"`: `"@query": ?`})

	// Query parameters (§2.2.8), including the percent-encoding example.
	r = httptest.NewRequest("GET", "/path?param=value&foo=bar&baz=batman&qux=", nil)
	checkLines(t, httpsig.NewRequestMessage(r), map[string]string{
		`"@query-param";name="baz"`:   `"@query-param";name="baz": batman`,
		`"@query-param";name="qux"`:   `"@query-param";name="qux": `,
		`"@query-param";name="param"`: `"@query-param";name="param": value`,
	})
	r = httptest.NewRequest("GET", "/parameters?var=this%20is%20a%20big%0Avalue&bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something", nil)
	checkLines(t, httpsig.NewRequestMessage(r), map[string]string{
		`"@query-param";name="var"`:                  `"@query-param";name="var": this%20is%20a%20big%0Avalue`,
		`"@query-param";name="bar"`:                  `"@query-param";name="bar": with%20plus%20whitespace`,
		`"@query-param";name="fa%C3%A7ade%22%3A%20"`: `"@query-param";name="fa%C3%A7ade%22%3A%20": something`,
	})
	r = httptest.NewRequest("GET", "/p?a=1&b=2&a=3&c=%ZZ&d=%e4%b8%ad&e=%FF", nil)
	m = httpsig.NewRequestMessage(r)
	checkLines(t, m, map[string]string{
		`"@query-param";name="c"`: `"@query-param";name="c": %25ZZ`,
		`"@query-param";name="d"`: `"@query-param";name="d": %E4%B8%AD`,
		`"@query-param";name="e"`: `"@query-param";name="e": %EF%BF%BD`,
	})
	for _, id := range []string{`"@query-param";name="a"`, `"@query-param";name="zz"`} {
		if _, err := line(t, m, id); !errors.Is(err, httpsig.ErrComponent) {
			t.Errorf("%s: %v, want ErrComponent", id, err)
		}
	}

	// Status (§2.2.9) on a response only; request components on a request only.
	res := httpsig.NewResponseMessage(503, http.Header{}, nil)
	checkLines(t, res, map[string]string{`"@status"`: `"@status": 503`})
	for _, id := range []string{`"@method"`, `"@path"`, `"@query-param";name="a"`, `"@method";req`, `"@unknown"`} {
		if _, err := line(t, res, id); !errors.Is(err, httpsig.ErrComponent) {
			t.Errorf("%s on a response: %v, want ErrComponent", id, err)
		}
	}
	for _, id := range []string{`"@status"`, `"@method";req`, `"date";req`, `"date";tr`} {
		if _, err := line(t, m, id); !errors.Is(err, httpsig.ErrComponent) {
			t.Errorf("%s on a request: %v, want ErrComponent", id, err)
		}
	}
}

// TestNewRequestMessage covers both sides and the authority normalization of
// RFC 9421 §2.2.3.
func TestNewRequestMessage(t *testing.T) {
	tests := []struct {
		name                        string
		r                           func() *http.Request
		scheme, authority, path, rq string
	}{
		{"server https default port", func() *http.Request {
			r := httptest.NewRequest("GET", "/a%2Fb/c?x=1&y=%41", nil)
			r.Host, r.TLS = "WWW.Example.COM:443", &tls.ConnectionState{}
			return r
		}, "https", "www.example.com", "/a%2Fb/c", "x=1&y=%41"},
		{"server http default port", func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.Host, r.TLS = "example.com:80", nil
			return r
		}, "http", "example.com", "/", ""},
		{"server other port", func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.Host = "example.com:8443"
			return r
		}, "http", "example.com:8443", "/", ""},
		{"server ipv6", func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.Host, r.TLS = "[::1]:443", &tls.ConnectionState{}
			return r
		}, "https", "[::1]", "/", ""},
		{"server absolute form", func() *http.Request {
			r := httptest.NewRequest("GET", "https://example.com/p%20q?z", nil)
			r.RequestURI = "https://example.com/p%20q?z"
			return r
		}, "https", "example.com", "/p%20q", "z"},
		{"client", func() *http.Request {
			r, _ := http.NewRequest("POST", "https://API.Bank.example:443/v1/accounts%2F1?page=2", nil)
			return r
		}, "https", "api.bank.example", "/v1/accounts%2F1", "page=2"},
		{"client host override", func() *http.Request {
			r, _ := http.NewRequest("GET", "http://10.0.0.1:8080", nil)
			r.Host = "Gateway.example"
			return r
		}, "http", "gateway.example", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := httpsig.NewRequestMessage(tt.r())
			if m.Scheme != tt.scheme || m.Authority != tt.authority || m.Path != tt.path || m.RawQuery != tt.rq {
				t.Fatalf("got %q %q %q %q", m.Scheme, m.Authority, m.Path, m.RawQuery)
			}
		})
	}
	if got := httpsig.NormalizeAuthority("http", "Example.com:"); got != "example.com" {
		t.Errorf("empty port: %q", got)
	}
	m := httpsig.NewRequestMessage(tests[6].r())
	checkLines(t, m, map[string]string{`"@path"`: `"@path": /`, `"@target-uri"`: `"@target-uri": http://gateway.example/`})
}

// TestParseComponent checks serialization round trips and refusals.
func TestParseComponent(t *testing.T) {
	for _, s := range []string{`"@method"`, `"content-digest";sf`, `"@query-param";name="Pet"`,
		`"signature";req;key="sig1"`, `"signature";key="sig1";req`, `"x";bs;req`, `"@authority";req`,
		`"example-dict";key="a\"b\\c"`} {
		c, err := httpsig.ParseComponent(s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if c.String() != s {
			t.Errorf("%s re-serialized as %s", s, c.String())
		}
	}
	c, _ := httpsig.ParseComponent(`"signature";req;key="sig1"`)
	if c.Name != "signature" || c.Key != "sig1" || !c.Req || c.SF || c.BS || c.Tr {
		t.Errorf("parsed %+v", c)
	}
	if s := (httpsig.Component{Name: "signature", Req: true, Key: "sig1"}).String(); s != `"signature";key="sig1";req` {
		t.Errorf("default order: %s", s)
	}
	in := httpsig.Input{Components: []httpsig.Component{c}}
	if !in.Covers(httpsig.Component{Name: "signature", Key: "sig1", Req: true}) || in.Covers(httpsig.Component{Name: "signature", Key: "sig1"}) {
		t.Error("Covers")
	}

	for _, s := range []string{
		``, `@method`, `"@method" x`, `"Content-Type"`, `"@Method"`, `"@signature-params"`, `"@"`,
		`"a";foo`, `"a";sf=?0`, `"a";sf;sf`, `"a";bs;sf`, `"a";bs;key="x"`, `"a";key=1`, `"a";key=""`,
		`"@method";key="x"`, `"@method";sf`, `"@query-param"`, `"@query-param";name=""`, `"a";name="x"`,
		`"a b"`, `"a:b"`, `"@path";req=?0`, `("a")`, `"a";name="x";name="y"`, `"é"`, `"a";key="é"`,
	} {
		if _, err := httpsig.ParseComponent(s); !errors.Is(err, httpsig.ErrMalformed) {
			t.Errorf("ParseComponent(%q) = %v, want ErrMalformed", s, err)
		}
	}
}

// TestSignatureBaseInputChecks: structural faults of an Input are ErrMalformed.
func TestSignatureBaseInputChecks(t *testing.T) {
	m := httpsig.NewRequestMessage(httptest.NewRequest("GET", "/", nil))
	for name, in := range map[string]httpsig.Input{
		"duplicate":         {Components: []httpsig.Component{{Name: "@method"}, {Name: "@method"}}},
		"duplicate reorder": {Components: comps(t, `"a";req;sf`, `"a";sf;req`)},
		"signature-params":  {Components: []httpsig.Component{{Name: "@signature-params"}}},
		"upper case":        {Components: []httpsig.Component{{Name: "Host"}}},
		"non-ascii param":   {Components: []httpsig.Component{{Name: "@method"}}, Params: httpsig.Params{KeyID: "k\u00e9"}},
		"newline param":     {Components: []httpsig.Component{{Name: "@method"}}, Params: httpsig.Params{Nonce: "a\nb"}},
		"created too large": {Params: httpsig.Params{Created: time.Unix(1e16, 0)}},
	} {
		if _, err := httpsig.SignatureBase(m, in); !errors.Is(err, httpsig.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
	if _, err := httpsig.SignatureBase(nil, httpsig.Input{}); !errors.Is(err, httpsig.ErrComponent) {
		t.Errorf("nil message: %v", err)
	}
}
