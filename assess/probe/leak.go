package probe

import (
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/bankguard/bankguard/profile"
)

// ownHost is the target's own address, which its answers may name.
type ownHost struct {
	name string
	ips  []netip.Addr
}

func targetHost(p *profile.Profile) ownHost {
	u, err := url.Parse(p.Target.BaseURL)
	if err != nil {
		return ownHost{}
	}
	h := ownHost{name: strings.ToLower(u.Hostname())}
	if a, err := netip.ParseAddr(h.name); err == nil {
		h.ips = append(h.ips, a.Unmap())
	} else if h.name == "localhost" {
		h.ips = append(h.ips, netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback())
	}
	return h
}

// leak is an internal detail an answer gives away; a note is worth telling
// but not a failure (a product name without its version).
type leak struct {
	what string
	note bool
}

// leakPatterns find stack traces, SQL text, software versions and file
// paths in an answer (T/PCAC 0008-2020 3.1-7).
var leakPatterns = []struct {
	what string
	re   *regexp.Regexp
}{
	{"a stack trace", regexp.MustCompile(`goroutine \d|\.go:\d|panic:|Traceback|at java\.|Exception|\tat `)},
	{"SQL text", sqlText},
	{"a software version", regexp.MustCompile(`(?i)\b(?:apache|nginx|tomcat|jetty|iis|openresty|express|weblogic|websphere|jboss|wildfly|kestrel|gunicorn|uvicorn|werkzeug|php|envoy|kong|java|python|openssl|mysql|mariadb|postgresql|redis)[ /-]?v?\d+\.\d+|\bgo1\.\d+`)},
	{"a file system path", regexp.MustCompile(`/home/|/usr/|/opt/|/var/lib/|/root/|\b[A-Z]:\\`)},
	{"an internal host name", regexp.MustCompile(`(?i)\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:internal|local|localdomain|intranet)\b|\blocalhost\b`)},
}

// sqlText is a database's error text.
var sqlText = regexp.MustCompile(`SQL syntax|SQLSTATE|\bORA-\d{5}|\bpq: |(?i:sqlite)|syntax error at or near|Unclosed quotation mark`)

var (
	serverVersion = regexp.MustCompile(`\d+\.\d+|/\s*v?\d`)
	ipv4          = regexp.MustCompile(`\d{1,3}(?:\.\d{1,3}){3}`)
	ipv6          = regexp.MustCompile(`(?i)[0-9a-f]*:[0-9a-f:]*:[0-9a-f.]*`)
)

// quietHeaders carry dates, ids and signatures, never leaks.
var quietHeaders = []string{"Date", "Signature", "Signature-Input", "Content-Digest", "X-Request-Id", "Server", "X-Powered-By"}

// findLeaks is the leak detector: what the answer tells about the target's
// software and internal network beyond what the caller sent.
func findLeaks(x *Exchange, own ownHost) []leak {
	var ls []leak
	if s := x.Header.Get("Server"); s != "" {
		ls = append(ls, leak{what: fmt.Sprintf("a Server header naming a version (%q)", clip(s))})
		if !serverVersion.MatchString(s) {
			ls[0] = leak{what: fmt.Sprintf("a Server header naming a product (%q)", clip(s)), note: true}
		}
	}
	for _, h := range []string{"X-Powered-By", "X-AspNet-Version", "X-AspNetMvc-Version"} {
		if v := x.Header.Get(h); v != "" {
			ls = append(ls, leak{what: fmt.Sprintf("an %s header (%q)", h, clip(v))})
		}
	}
	text := leakText(x)
	for _, p := range leakPatterns {
		for _, m := range p.re.FindAllString(text, 8) {
			if !strings.EqualFold(m, own.name) {
				ls = append(ls, leak{what: fmt.Sprintf("%s (%q)", p.what, clip(m))})
				break
			}
		}
	}
	if a := internalAddress(text, own); a != "" {
		ls = append(ls, leak{what: fmt.Sprintf("a private or loopback address (%q)", a)})
	}
	return ls
}

// leakText is the body and the headers that could carry a leak.
func leakText(x *Exchange) string {
	var sb strings.Builder
	sb.Write(x.Body)
	for _, k := range slices.Sorted(maps.Keys(x.Header)) {
		if !slices.ContainsFunc(quietHeaders, func(q string) bool { return strings.EqualFold(q, k) }) {
			fmt.Fprintf(&sb, "\n%s: %s", k, strings.Join(x.Header[k], ", "))
		}
	}
	return sb.String()
}

// internalAddress finds a private, loopback or link-local address in text
// other than the target's own.
func internalAddress(text string, own ownHost) string {
	internal := func(s string) bool {
		a, err := netip.ParseAddr(s)
		a = a.Unmap()
		return err == nil && (a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast()) && !slices.Contains(own.ips, a)
	}
	digit := func(i int) bool { return i >= 0 && i < len(text) && text[i] >= '0' && text[i] <= '9' }
	for _, loc := range ipv4.FindAllStringIndex(text, -1) {
		i, j := loc[0], loc[1]
		inside := digit(i-1) || i > 0 && text[i-1] == '.' || digit(j) || j < len(text) && text[j] == '.' && digit(j+1)
		if !inside && internal(text[i:j]) {
			return text[i:j]
		}
	}
	for _, m := range ipv6.FindAllString(text, -1) {
		if internal(m) {
			return m
		}
	}
	return ""
}
