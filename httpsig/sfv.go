package httpsig

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file holds a small, strict parser for the Structured Field Values of
// RFC 9651 that the verify path reads: Signature-Input, Signature and
// Content-Digest. It works on the field value in place (strings it returns
// are slices of the input unless an escape forced a copy), which keeps the
// gateway's hot path nearly allocation-free. Fields covered with ";sf" or
// ";key" are handled by github.com/dunglas/httpsfv instead (see base.go).

// Bare item kinds.
const (
	sfInteger = iota + 1
	sfDecimal
	sfString
	sfToken
	sfBytes
	sfBoolean
	sfDate
	sfDisplay
)

// sfBare is one parsed bare item.
type sfBare struct {
	kind int
	str  string // the unescaped string (sfString), the token (sfToken)
	num  int64  // the value of an integer or date; 1 or 0 for a boolean
	raw  string // the canonical serialization (RFC 9651 §4.1)
	b64  string // the base64 text of a byte sequence, as received
}

// sfParser reads one field value.
type sfParser struct {
	s   string
	off int
}

func (p *sfParser) eof() bool { return p.off >= len(p.s) }

func (p *sfParser) peek() byte {
	if p.off < len(p.s) {
		return p.s[p.off]
	}
	return 0
}

func (p *sfParser) skipSP() {
	for p.off < len(p.s) && p.s[p.off] == ' ' {
		p.off++
	}
}

func (p *sfParser) skipOWS() {
	for p.off < len(p.s) && (p.s[p.off] == ' ' || p.s[p.off] == '\t') {
		p.off++
	}
}

func isLCAlpha(c byte) bool { return c >= 'a' && c <= 'z' }
func isAlpha(c byte) bool   { return isLCAlpha(c) || (c >= 'A' && c <= 'Z') }
func isDigit(c byte) bool   { return c >= '0' && c <= '9' }

// isTchar reports whether c is a token character (RFC 9110 §5.6.2).
func isTchar(c byte) bool {
	if isAlpha(c) || isDigit(c) {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// key parses a dictionary or parameter key (RFC 9651 §4.2.3.3).
func (p *sfParser) key() (string, error) {
	start := p.off
	if p.eof() || !(isLCAlpha(p.s[p.off]) || p.s[p.off] == '*') {
		return "", malformed("invalid key")
	}
	for p.off < len(p.s) {
		c := p.s[p.off]
		if !isLCAlpha(c) && !isDigit(c) && c != '_' && c != '-' && c != '.' && c != '*' {
			break
		}
		p.off++
	}
	return p.s[start:p.off], nil
}

// validKey reports whether k is a valid Structured Field key.
func validKey(k string) bool {
	p := sfParser{s: k}
	_, err := p.key()
	return err == nil && p.eof()
}

// bare parses a bare item (RFC 9651 §4.2.3.1).
func (p *sfParser) bare() (sfBare, error) {
	switch c := p.peek(); {
	case c == '-' || isDigit(c):
		return p.number()
	case c == '"':
		return p.str()
	case c == '*' || isAlpha(c):
		return p.token(), nil
	case c == ':':
		return p.bytes()
	case c == '?':
		if p.off+1 < len(p.s) && (p.s[p.off+1] == '0' || p.s[p.off+1] == '1') {
			v := sfBare{kind: sfBoolean, raw: p.s[p.off : p.off+2], num: int64(p.s[p.off+1] - '0')}
			p.off += 2
			return v, nil
		}
		return sfBare{}, malformed("invalid boolean")
	case c == '@':
		p.off++
		v, err := p.number()
		if err != nil || v.kind != sfInteger {
			return sfBare{}, malformed("invalid date")
		}
		v.kind, v.raw = sfDate, "@"+v.raw
		return v, nil
	case c == '%':
		return p.display()
	}
	return sfBare{}, malformed("invalid item")
}

// number parses an integer or a decimal (RFC 9651 §4.2.4).
func (p *sfParser) number() (sfBare, error) {
	start := p.off
	neg := p.peek() == '-'
	if neg {
		p.off++
	}
	intStart := p.off
	for p.off < len(p.s) && isDigit(p.s[p.off]) {
		p.off++
	}
	intDigits := p.s[intStart:p.off]
	if len(intDigits) == 0 {
		return sfBare{}, malformed("invalid number")
	}
	if p.peek() != '.' {
		if len(intDigits) > 15 {
			return sfBare{}, malformed("integer out of range")
		}
		n, _ := strconv.ParseInt(intDigits, 10, 64)
		if neg {
			n = -n
		}
		raw := p.s[start:p.off]
		if (len(intDigits) > 1 && intDigits[0] == '0') || (neg && n == 0) {
			raw = strconv.FormatInt(n, 10)
		}
		return sfBare{kind: sfInteger, num: n, raw: raw}, nil
	}
	if len(intDigits) > 12 {
		return sfBare{}, malformed("decimal out of range")
	}
	p.off++ // '.'
	fracStart := p.off
	for p.off < len(p.s) && isDigit(p.s[p.off]) {
		p.off++
	}
	frac := p.s[fracStart:p.off]
	if len(frac) == 0 || len(frac) > 3 {
		return sfBare{}, malformed("invalid decimal")
	}
	// Canonical form: no leading zeros, trailing zeros dropped but one digit kept.
	i := strings.TrimLeft(intDigits, "0")
	if i == "" {
		i = "0"
	}
	f := strings.TrimRight(frac, "0")
	if f == "" {
		f = "0"
	}
	raw := i + "." + f
	if neg && (i != "0" || f != "0") {
		raw = "-" + raw
	}
	return sfBare{kind: sfDecimal, raw: raw}, nil
}

// str parses a String (RFC 9651 §4.2.5). Its raw form is always canonical.
func (p *sfParser) str() (sfBare, error) {
	start := p.off
	p.off++ // '"'
	escaped := false
	for p.off < len(p.s) {
		c := p.s[p.off]
		switch {
		case c == '\\':
			if p.off+1 >= len(p.s) || (p.s[p.off+1] != '"' && p.s[p.off+1] != '\\') {
				return sfBare{}, malformed("invalid string escape")
			}
			escaped = true
			p.off += 2
		case c == '"':
			p.off++
			raw := p.s[start:p.off]
			v := raw[1 : len(raw)-1]
			if escaped {
				v = unescapeString(v)
			}
			return sfBare{kind: sfString, str: v, raw: raw}, nil
		case c < 0x20 || c > 0x7e:
			return sfBare{}, malformed("invalid string character")
		default:
			p.off++
		}
	}
	return sfBare{}, malformed("unterminated string")
}

func unescapeString(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// token parses a Token (RFC 9651 §4.2.6); the caller checked the first byte.
func (p *sfParser) token() sfBare {
	start := p.off
	p.off++
	for p.off < len(p.s) && (isTchar(p.s[p.off]) || p.s[p.off] == ':' || p.s[p.off] == '/') {
		p.off++
	}
	t := p.s[start:p.off]
	return sfBare{kind: sfToken, str: t, raw: t}
}

// bytes parses a Byte Sequence (RFC 9651 §4.2.7) without decoding it; see decodeBytes.
func (p *sfParser) bytes() (sfBare, error) {
	p.off++ // ':'
	end := strings.IndexByte(p.s[p.off:], ':')
	if end < 0 {
		return sfBare{}, malformed("unterminated byte sequence")
	}
	b64 := p.s[p.off : p.off+end]
	for i := 0; i < len(b64); i++ {
		c := b64[i]
		if !isAlpha(c) && !isDigit(c) && c != '+' && c != '/' && c != '=' {
			return sfBare{}, malformed("invalid byte sequence")
		}
	}
	p.off += end + 1
	if _, err := decodedLen(b64); err != nil {
		return sfBare{}, err
	}
	return sfBare{kind: sfBytes, b64: b64}, nil
}

// decodedLen checks the base64 text of a byte sequence and returns its decoded
// length. Missing padding is tolerated, as RFC 9651 §4.2.7 asks.
func decodedLen(b64 string) (int, error) {
	t := strings.TrimRight(b64, "=")
	if strings.IndexByte(t, '=') >= 0 || len(b64)-len(t) > 2 || len(t)%4 == 1 {
		return 0, malformed("invalid byte sequence")
	}
	if len(b64)-len(t) > 0 && len(b64)%4 != 0 {
		return 0, malformed("invalid byte sequence padding")
	}
	return base64.RawStdEncoding.DecodedLen(len(t)), nil
}

// decodeBytes decodes the base64 text of a byte sequence into dst's spare
// capacity (allocating when it is too small).
func decodeBytes(dst []byte, b64 string) ([]byte, error) {
	n, err := decodedLen(b64)
	if err != nil {
		return nil, err
	}
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	t := strings.TrimRight(b64, "=")
	if _, err := base64.RawStdEncoding.Decode(dst, []byte(t)); err != nil {
		return nil, malformed("invalid byte sequence")
	}
	return dst, nil
}

// canonicalBytes returns the canonical serialization of a byte sequence.
func canonicalBytes(b64 string) (string, error) {
	b, err := decodeBytes(nil, b64)
	if err != nil {
		return "", err
	}
	return ":" + base64.StdEncoding.EncodeToString(b) + ":", nil
}

// display parses a Display String (RFC 9651 §4.2.10).
func (p *sfParser) display() (sfBare, error) {
	if p.off+1 >= len(p.s) || p.s[p.off+1] != '"' {
		return sfBare{}, malformed("invalid display string")
	}
	p.off += 2
	var buf []byte
	for p.off < len(p.s) {
		c := p.s[p.off]
		switch {
		case c == '%':
			if p.off+2 >= len(p.s) {
				return sfBare{}, malformed("invalid display string")
			}
			h, ok1 := lowerHex(p.s[p.off+1])
			l, ok2 := lowerHex(p.s[p.off+2])
			if !ok1 || !ok2 {
				return sfBare{}, malformed("invalid display string escape")
			}
			buf = append(buf, h<<4|l)
			p.off += 3
		case c == '"':
			p.off++
			if !utf8.Valid(buf) {
				return sfBare{}, malformed("invalid display string encoding")
			}
			out := []byte{'%', '"'}
			for _, b := range buf {
				if b == '%' || b == '"' || b < 0x20 || b > 0x7e {
					out = append(out, '%', "0123456789abcdef"[b>>4], "0123456789abcdef"[b&15])
				} else {
					out = append(out, b)
				}
			}
			return sfBare{kind: sfDisplay, raw: string(append(out, '"'))}, nil
		case c < 0x20 || c > 0x7e:
			return sfBare{}, malformed("invalid display string character")
		default:
			buf = append(buf, c)
			p.off++
		}
	}
	return sfBare{}, malformed("unterminated display string")
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case isDigit(c):
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// params parses parameters (RFC 9651 §4.2.3.2), calling fn for each one. It
// rejects a key that occurs twice: RFC 9651 would keep the last value, but a
// repeated signature or component parameter is never legitimate and must not
// silently change what is verified.
func (p *sfParser) params(fn func(key string, v sfBare) error) error {
	seen := make([]string, 0, maxParams)
	for p.peek() == ';' {
		p.off++
		p.skipSP()
		k, err := p.key()
		if err != nil {
			return err
		}
		if contains(seen, k) {
			return malformed("duplicate parameter")
		}
		if len(seen) == maxParams {
			return malformed("too many parameters")
		}
		seen = append(seen, k)
		v := sfBare{kind: sfBoolean, num: 1, raw: "?1"}
		if p.peek() == '=' {
			p.off++
			if v, err = p.bare(); err != nil {
				return err
			}
		}
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// maxParams bounds the parameters on one item; RFC 9421 defines six.
const maxParams = 16

// skipParams parses and discards parameters.
func (p *sfParser) skipParams() error {
	return p.params(func(string, sfBare) error { return nil })
}

// innerList parses an inner list (RFC 9651 §4.2.1.2), calling item for each
// member with the parser positioned at the member's bare item; item must
// consume the bare item and its parameters. The list's own parameters are
// left for the caller.
func (p *sfParser) innerList(item func() error) error {
	if p.peek() != '(' {
		return malformed("expected inner list")
	}
	p.off++
	for !p.eof() {
		p.skipSP()
		if p.peek() == ')' {
			p.off++
			return nil
		}
		if err := item(); err != nil {
			return err
		}
		if c := p.peek(); c != ' ' && c != ')' {
			return malformed("invalid inner list")
		}
	}
	return malformed("unterminated inner list")
}

// skipMember parses and discards a dictionary member value (an item or an
// inner list with parameters); the '=' has been consumed.
func (p *sfParser) skipMember() error {
	if p.peek() == '(' {
		err := p.innerList(func() error {
			if _, err := p.bare(); err != nil {
				return err
			}
			return p.skipParams()
		})
		if err != nil {
			return err
		}
	} else if _, err := p.bare(); err != nil {
		return err
	}
	return p.skipParams()
}

// dict parses a Dictionary (RFC 9651 §4.2.2). For each member it calls fn with
// the key and whether a value follows ('=' consumed); fn must consume the
// member value and its parameters (for a member without a value: its
// parameters). Duplicate keys are rejected for the reason given at params.
func (p *sfParser) dict(fn func(key string, hasValue bool) error) error {
	p.skipSP()
	seen := make([]string, 0, 8)
	for !p.eof() {
		k, err := p.key()
		if err != nil {
			return err
		}
		if contains(seen, k) {
			return malformed("duplicate dictionary key")
		}
		if len(seen) == maxMembers {
			return malformed("too many dictionary members")
		}
		seen = append(seen, k)
		hasValue := p.peek() == '='
		if hasValue {
			p.off++
		}
		if err := fn(k, hasValue); err != nil {
			return err
		}
		p.skipOWS()
		if p.eof() {
			return nil
		}
		if p.s[p.off] != ',' {
			return malformed("invalid dictionary")
		}
		p.off++
		p.skipOWS()
		if p.eof() {
			return malformed("trailing comma in dictionary")
		}
	}
	return nil
}
