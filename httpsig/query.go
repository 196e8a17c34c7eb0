package httpsig

import (
	"strings"
	"unicode/utf8"
)

// appendQueryParam implements "@query-param" (RFC 9421 §2.2.8). The query is
// parsed as application/x-www-form-urlencoded (WHATWG URL §5.1); the name
// parameter and the value are the re-encoded nameString and valueString. A
// parameter that occurs more than once is refused: its lines would depend on
// the order of occurrence, and bankguard's APIs never repeat one.
func appendQueryParam(dst []byte, m *Message, c Component) ([]byte, error) {
	q := m.RawQuery
	found := false
	var value string
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		if pair == "" {
			continue
		}
		name, v, _ := strings.Cut(pair, "=")
		if formEncode(formDecode(name)) != c.Param {
			continue
		}
		if found {
			return nil, componentErr(c, "query parameter occurs more than once")
		}
		found, value = true, v
	}
	if !found {
		return nil, componentErr(c, "query parameter absent")
	}
	return append(dst, formEncode(formDecode(value))...), nil
}

// formDecode replaces '+' by a space and decodes percent-encoded octets,
// leaving malformed '%' sequences as they are (WHATWG URL §5.1).
func formDecode(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '+':
			b = append(b, ' ')
		case ch == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, ch)
		}
	}
	return string(b)
}

func isHex(c byte) bool { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') }

func unhex(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// formUnreserved reports whether c is outside the
// application/x-www-form-urlencoded percent-encode set.
func formUnreserved(c byte) bool {
	return isAlpha(c) || isDigit(c) || c == '*' || c == '-' || c == '.' || c == '_'
}

// formEncode percent-encodes s with the application/x-www-form-urlencoded
// percent-encode set, a space becoming "%20" as in RFC 9421's examples. The
// decoded octets are read as UTF-8: each byte that is not part of a valid
// sequence stands for U+FFFD, as WHATWG's UTF-8 decode does.
func formEncode(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if !formUnreserved(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)*3)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		seq := s[i : i+n]
		if r == utf8.RuneError && n == 1 {
			seq = "\uFFFD"
		}
		for j := 0; j < len(seq); j++ {
			if formUnreserved(seq[j]) {
				b = append(b, seq[j])
			} else {
				b = append(b, '%', hex[seq[j]>>4], hex[seq[j]&15])
			}
		}
		i += n
	}
	return string(b)
}
