package httpsig

import (
	"net/http"
	"strings"
)

// Message is the abstract HTTP message that components are derived from. Use
// NewRequestMessage and NewResponseMessage to build one from net/http values.
type Message struct {
	// Method is the request method, case preserved.
	Method string
	// Scheme is the lower-case scheme of the target URI ("https").
	Scheme string
	// Authority is the normalized authority of the target URI (RFC 9421 §2.2.3).
	Authority string
	// Path is the raw (still percent-encoded) absolute path.
	Path string
	// RawQuery is the raw query without the leading '?'.
	RawQuery string
	// Status is the status code of a response; 0 marks a request.
	Status int
	// Header holds the header fields.
	Header http.Header
	// Request is, for a response, the request that produced it (";req" components).
	Request *Message
}

// NewRequestMessage describes r for signing or verification. It serves both
// sides:
//
//   - an incoming server request (r.RequestURI set): path and query are taken
//     from r.RequestURI exactly as sent, the scheme is "https" when r.TLS is
//     set and "http" otherwise, and the authority is r.Host;
//   - an outgoing client request: r.URL.Scheme, r.Host (or r.URL.Host when
//     empty), r.URL.EscapedPath() and r.URL.RawQuery.
//
// The authority is normalized as RFC 9421 §2.2.3 requires: lower case, without
// the scheme's default port. A gateway behind a TLS-terminating proxy must
// set Scheme (and, if rewritten, Authority) from trusted configuration.
func NewRequestMessage(r *http.Request) *Message {
	m := &Message{Method: r.Method, Header: r.Header}
	if m.Method == "" {
		m.Method = http.MethodGet
	}
	if r.RequestURI != "" {
		m.Scheme = "http"
		if r.TLS != nil {
			m.Scheme = "https"
		}
		m.Path, m.RawQuery = splitRequestURI(r.RequestURI)
		m.Authority = NormalizeAuthority(m.Scheme, r.Host)
		return m
	}
	if r.URL == nil {
		return m
	}
	m.Scheme = strings.ToLower(r.URL.Scheme)
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	m.Authority = NormalizeAuthority(m.Scheme, host)
	m.Path = r.URL.EscapedPath()
	m.RawQuery = r.URL.RawQuery
	return m
}

// splitRequestURI splits a request target into the raw path and query: the
// origin form ("/p?q") and the asterisk form as they are, the absolute form
// ("https://host/p?q") after its authority.
func splitRequestURI(uri string) (path, rawQuery string) {
	if i := strings.Index(uri, "://"); i > 0 && !strings.HasPrefix(uri, "/") {
		rest := uri[i+3:]
		if j := strings.IndexAny(rest, "/?"); j >= 0 {
			uri = rest[j:]
		} else {
			uri = ""
		}
	}
	path, rawQuery, _ = strings.Cut(uri, "?")
	path, _, _ = strings.Cut(path, "#")
	return path, rawQuery
}

// NewResponseMessage describes a response with the given status and header
// fields; req is the request it answers (nil if unknown), from which ";req"
// components are derived.
func NewResponseMessage(status int, h http.Header, req *Message) *Message {
	return &Message{Status: status, Header: h, Request: req}
}

// NormalizeAuthority returns host (a "host[:port]" authority) in lower case,
// without the default port of scheme (RFC 9110 §4.2.3).
func NormalizeAuthority(scheme, host string) string {
	h := host
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		switch port := h[i+1:]; {
		case port == "",
			port == "80" && scheme == "http",
			port == "443" && scheme == "https":
			h = h[:i]
		}
	}
	for i := 0; i < len(h); i++ {
		if h[i] >= 'A' && h[i] <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

// isResponse reports whether m is a response.
func (m *Message) isResponse() bool { return m.Status != 0 }

// targetURI returns the target URI of a request (RFC 9421 §2.2.2).
func (m *Message) targetURI() string {
	return m.Scheme + "://" + m.Authority + m.requestTarget()
}

// path returns the absolute path, "/" when empty (RFC 9421 §2.2.6).
func (m *Message) path() string {
	if m.Path == "" {
		return "/"
	}
	return m.Path
}

// requestTarget returns the origin-form request target (RFC 9421 §2.2.5).
func (m *Message) requestTarget() string {
	if m.RawQuery == "" {
		return m.path()
	}
	return m.path() + "?" + m.RawQuery
}
