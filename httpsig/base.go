package httpsig

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/dunglas/httpsfv"
)

// SignatureBase returns the signature base of in over m (RFC 9421 §2.5): one
// line per covered component followed by the "@signature-params" line. It
// fails with ErrMalformed for an invalid Input and with ErrComponent when a
// covered component cannot be derived from m.
func SignatureBase(m *Message, in Input) ([]byte, error) {
	b, _, err := signatureBase(m, in)
	return b, err
}

// signatureBase also returns the offset of the "@signature-params" value.
func signatureBase(m *Message, in Input) ([]byte, int, error) {
	if m == nil {
		return nil, 0, wrap(ErrComponent, "no message")
	}
	if err := checkComponents(in.Components); err != nil {
		return nil, 0, err
	}
	buf := make([]byte, 0, 256+48*len(in.Components)+len(m.Path)+len(m.RawQuery))
	var err error
	for _, c := range in.Components {
		buf = appendComponent(buf, c)
		buf = append(buf, ':', ' ')
		if buf, err = appendValue(buf, m, c); err != nil {
			return nil, 0, err
		}
		buf = append(buf, '\n')
	}
	buf = append(buf, `"@signature-params": `...)
	at := len(buf)
	if buf, err = appendSignatureParams(buf, in); err != nil {
		return nil, 0, err
	}
	return buf, at, nil
}

// checkComponents checks each identifier and rejects duplicates.
func checkComponents(cs []Component) error {
	for i, c := range cs {
		if err := checkComponent(c); err != nil {
			return err
		}
		for _, d := range cs[:i] {
			if c.equal(d) {
				return malformed("duplicate component " + c.String())
			}
		}
	}
	return nil
}

// appendSignatureParams appends the "@signature-params" value (RFC 9421 §2.3).
func appendSignatureParams(dst []byte, in Input) ([]byte, error) {
	dst = append(dst, '(')
	for i, c := range in.Components {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = appendComponent(dst, c)
	}
	dst = append(dst, ')')
	return in.Params.appendTo(dst)
}

// appendValue appends the canonical value of c, taken from m.
func appendValue(dst []byte, m *Message, c Component) ([]byte, error) {
	if c.Req {
		if !m.isResponse() {
			return nil, componentErr(c, "req used in a request")
		}
		if m.Request == nil {
			return nil, componentErr(c, "no related request")
		}
		m = m.Request
	}
	if c.Tr {
		return nil, componentErr(c, "trailers are not supported")
	}
	if c.Name[0] == '@' {
		return appendDerived(dst, m, c)
	}
	return appendField(dst, m, c)
}

// appendDerived appends the value of a derived component (RFC 9421 §2.2).
func appendDerived(dst []byte, m *Message, c Component) ([]byte, error) {
	start := len(dst)
	if c.Name == "@status" {
		if !m.isResponse() {
			return nil, componentErr(c, "not a response")
		}
		if m.Status < 100 || m.Status > 999 {
			return nil, componentErr(c, "invalid status code")
		}
		return strconv.AppendInt(dst, int64(m.Status), 10), nil
	}
	if m.isResponse() {
		return nil, componentErr(c, "request component in a response")
	}
	switch c.Name {
	case "@method":
		dst = append(dst, m.Method...)
	case "@target-uri":
		if m.Scheme == "" || m.Authority == "" {
			return nil, componentErr(c, "scheme or authority unknown")
		}
		dst = append(append(append(dst, m.Scheme...), "://"...), m.Authority...)
		dst = appendRequestTarget(dst, m)
	case "@authority":
		dst = append(dst, m.Authority...)
	case "@scheme":
		dst = append(dst, m.Scheme...)
	case "@request-target":
		dst = appendRequestTarget(dst, m)
	case "@path":
		dst = append(dst, m.path()...)
	case "@query":
		dst = append(append(dst, '?'), m.RawQuery...)
	case "@query-param":
		return appendQueryParam(dst, m, c)
	default:
		return nil, componentErr(c, "unknown derived component")
	}
	v := dst[start:]
	if len(v) == 0 {
		return nil, componentErr(c, "value absent")
	}
	if v[0] == ' ' || v[len(v)-1] == ' ' {
		return nil, componentErr(c, "value has surrounding whitespace")
	}
	for _, ch := range v {
		if ch < 0x20 || ch > 0x7e {
			return nil, componentErr(c, "value has a control or non-ascii character")
		}
	}
	return dst, nil
}

func appendRequestTarget(dst []byte, m *Message) []byte {
	dst = append(dst, m.path()...)
	if m.RawQuery != "" {
		dst = append(append(dst, '?'), m.RawQuery...)
	}
	return dst
}

// appendField appends the value of an HTTP field component (RFC 9421 §2.1).
func appendField(dst []byte, m *Message, c Component) ([]byte, error) {
	lines := headerValues(m.Header, c.Name)
	if len(lines) == 0 {
		return nil, componentErr(c, "header field absent")
	}
	switch {
	case c.BS:
		return appendByteSequences(dst, c, lines)
	case c.Key != "":
		return appendDictMember(dst, c, lines)
	case c.SF:
		return appendStrict(dst, c, lines)
	}
	for i, line := range lines {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		var ok bool
		if dst, ok = appendFieldLine(dst, line, true); !ok {
			return nil, componentErr(c, "value has a newline, control or non-ascii character")
		}
	}
	return dst, nil
}

// appendFieldLine appends one field line with leading and trailing
// whitespace removed and obsolete line folding replaced by one space. With
// strict set it fails on any other control character (HTAB included), a
// newline or a non-ASCII byte, so that a value can never inject a line into
// the signature base.
func appendFieldLine(dst []byte, line string, strict bool) ([]byte, bool) {
	line = strings.Trim(line, " \t")
	for i := 0; i < len(line); i++ {
		ch := line[i]
		if ch == '\r' || ch == '\n' {
			j := i
			if line[j] == '\r' {
				j++
			}
			if j >= len(line) || line[j] != '\n' {
				return dst, false
			}
			k := j + 1
			for k < len(line) && (line[k] == ' ' || line[k] == '\t') {
				k++
			}
			if k == j+1 {
				return dst, false // a newline that is not a fold
			}
			for len(dst) > 0 && (dst[len(dst)-1] == ' ' || dst[len(dst)-1] == '\t') {
				dst = dst[:len(dst)-1]
			}
			dst = append(dst, ' ')
			i = k - 1
			continue
		}
		if strict && (ch < 0x20 || ch > 0x7e) {
			return dst, false
		}
		dst = append(dst, ch)
	}
	return dst, true
}

// headerValues returns the field lines of name (lower case) without
// allocating: the canonical key is built on the stack.
func headerValues(h http.Header, name string) []string {
	if h == nil {
		return nil
	}
	var buf [64]byte
	if len(name) <= len(buf) {
		k := buf[:len(name)]
		upper := true
		for i := 0; i < len(name); i++ {
			ch := name[i]
			if upper && ch >= 'a' && ch <= 'z' {
				ch -= 'a' - 'A'
			}
			k[i] = ch
			upper = ch == '-'
		}
		if v, ok := h[string(k)]; ok {
			return v
		}
	} else if v, ok := h[http.CanonicalHeaderKey(name)]; ok {
		return v
	}
	return h[name]
}

// appendByteSequences implements ";bs" (RFC 9421 §2.1.3).
func appendByteSequences(dst []byte, c Component, lines []string) ([]byte, error) {
	var scratch []byte
	for i, line := range lines {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		var ok bool
		if scratch, ok = appendFieldLine(scratch[:0], line, false); !ok {
			return nil, componentErr(c, "value has a bare newline")
		}
		dst = append(dst, ':')
		dst = base64.StdEncoding.AppendEncode(dst, scratch)
		dst = append(dst, ':')
	}
	return dst, nil
}

// sfType returns the structured type of the fields bankguard knows: 'd' for a
// Dictionary, 'l' for a List, 'i' for an Item, 0 if unknown.
func sfType(name string) byte {
	switch name {
	case "accept-signature", "content-digest", "priority", "repr-digest", "signature",
		"signature-input", "unencoded-digest", "want-content-digest", "want-repr-digest":
		return 'd'
	case "cache-status", "client-cert-chain", "proxy-status":
		return 'l'
	case "client-cert":
		return 'i'
	}
	return 0
}

// appendStrict implements ";sf" (RFC 9421 §2.1.1) for the known types.
func appendStrict(dst []byte, c Component, lines []string) ([]byte, error) {
	var v httpsfv.StructuredFieldValue
	var err error
	switch sfType(c.Name) {
	case 'd':
		v, err = httpsfv.UnmarshalDictionary(lines)
	case 'l':
		v, err = httpsfv.UnmarshalList(lines)
	case 'i':
		v, err = httpsfv.UnmarshalItem(lines)
	default:
		return nil, componentErr(c, "structured type of the field is not known")
	}
	if err != nil {
		return nil, componentErr(c, "field is not a valid structured field")
	}
	return appendMarshaled(dst, c, v)
}

// appendDictMember implements ";key" (RFC 9421 §2.1.2). The field is parsed as
// a Dictionary, which the key parameter asserts it is.
func appendDictMember(dst []byte, c Component, lines []string) ([]byte, error) {
	d, err := httpsfv.UnmarshalDictionary(lines)
	if err != nil {
		return nil, componentErr(c, "field is not a valid dictionary")
	}
	member, ok := d.Get(c.Key)
	if !ok {
		return nil, componentErr(c, "dictionary member absent")
	}
	return appendMarshaled(dst, c, member)
}

func appendMarshaled(dst []byte, c Component, v httpsfv.StructuredFieldValue) ([]byte, error) {
	s, err := httpsfv.Marshal(v)
	if err != nil || !printable(s) {
		return nil, componentErr(c, "cannot serialize the structured field")
	}
	return append(dst, s...), nil
}
