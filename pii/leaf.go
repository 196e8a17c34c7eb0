package pii

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// leaf rewrites the string or number doc[start:end], whose value (unescaped) is v, as c says; in
// describes v. Member-name hints apply to strings and integers (hinted), not to fractions and
// negative numbers.
func (w *rewriter) leaf(start, end int, v []byte, hinted bool, in *info, c *ctx) {
	if len(v) == 0 {
		return
	}
	if r := c.rule; r != nil {
		kind := r.Kind
		if kind == "" {
			hint := Kind("")
			if hinted {
				hint = hintFor(c.name)
			}
			if kind = classify(v, in, hint); kind == "" {
				kind = w.wholeFinding(v)
			}
		}
		if r.Action == ActionPseudonym {
			w.masked = w.pseudonym(kind, v)
			w.replace(start, end)
			return
		}
		w.masked = appendMask(w.maskBuf(), kind, v) // no kind: every character is hidden
		if !bytes.Equal(w.masked, v) {
			w.replace(start, end)
		}
		return
	}
	if !w.scan || !in.mayChange() {
		return
	}
	hint := Kind("")
	if hinted {
		hint = hintFor(c.name)
	}
	if kind := classify(v, in, hint); kind != "" {
		w.masked = appendMask(w.maskBuf(), kind, v)
		if !bytes.Equal(w.masked, v) {
			w.replace(start, end)
		}
		return
	}
	if !in.mayFind() {
		return
	}
	if fs := appendFindings(w.findBuf[:0], v); len(fs) > 0 {
		w.masked = appendMaskFindings(w.maskBuf(), v, fs)
		w.replace(start, end)
	}
}

// replace puts w.masked, quoted, in the place of doc[start:end].
func (w *rewriter) replace(start, end int) {
	w.cut(start, end)
	w.out = appendQuoted(w.out, w.masked)
	w.n++
}

// pseudonymMemo remembers the last pseudonyms made for one document: a list of a customer's
// accounts has the customer's identity number in every one, and a pseudonym costs an HMAC.
type pseudonymMemo struct {
	next    int
	entries [4]struct {
		kind             Kind
		value, pseudonym []byte
	}
}

// pseudonym returns the pseudonym of v in the buffer for masked values.
func (w *rewriter) pseudonym(kind Kind, v []byte) []byte {
	m := w.pseudonyms
	if m == nil {
		m = new(pseudonymMemo)
		w.pseudonyms = m
	}
	for _, x := range m.entries {
		if x.pseudonym != nil && x.kind == kind && bytes.Equal(x.value, v) {
			return append(w.maskBuf(), x.pseudonym...)
		}
	}
	p := appendPseudonym(w.e, w.maskBuf(), kind, v)
	x := &m.entries[m.next]
	x.kind, x.value, x.pseudonym = kind, bytes.Clone(v), bytes.Clone(p)
	m.next = (m.next + 1) % len(m.entries)
	return p
}

// maskBuf returns the buffer for masked values, emptied: one for all the values of a document.
func (w *rewriter) maskBuf() []byte {
	if w.masked == nil {
		w.alloc()
	}
	return w.masked[:0]
}

// wholeFinding returns the kind of the one finding that is all of v, or "".
func (w *rewriter) wholeFinding(v []byte) Kind {
	fs := appendFindings(w.findBuf[:0], v)
	if len(fs) == 1 && fs[0].Start == 0 && fs[0].End == len(v) {
		return fs[0].Kind
	}
	return ""
}

// classify returns the kind of v, which in describes, when the member-name hint fits it, or "".
func classify(v []byte, in *info, hint Kind) Kind {
	switch hint {
	case Name:
		if in.mayName() && looksLikeName(v) {
			return Name
		}
	case IDNumber:
		if in.digits > 0 {
			return IDNumber
		}
	case Phone:
		if in.digits >= 7 && onlyOf(v, " -+()") {
			return Phone
		}
	case Card:
		if in.digits > 0 && onlyOf(v, " -") {
			return Card
		}
	case Account:
		if n := in.digits; n > 0 && onlyOf(v, " -") {
			var d [19]byte
			if n >= 13 && n <= 19 && luhnValid(appendDigits(d[:0], v)) {
				return Card
			}
			return Account
		}
	case Email:
		var buf [2]Finding
		if fs := appendFindings(buf[:0], v); len(fs) == 1 && fs[0].Kind == Email && fs[0].Start == 0 && fs[0].End == len(v) {
			return Email
		}
	}
	return ""
}

// onlyOf reports whether v has nothing but ASCII digits and the bytes of seps.
func onlyOf(v []byte, seps string) bool {
	for _, c := range v {
		if !isDigit(c) && strings.IndexByte(seps, c) < 0 {
			return false
		}
	}
	return true
}

// appendDigits appends the ASCII digits of v to d.
func appendDigits(d, v []byte) []byte {
	for _, c := range v {
		if isDigit(c) {
			d = append(d, c)
		}
	}
	return d
}

// allDigits reports whether v is a non-empty run of ASCII digits.
func allDigits(v []byte) bool {
	for _, c := range v {
		if !isDigit(c) {
			return false
		}
	}
	return len(v) > 0
}

// scanString checks the string that starts at doc[i] and returns the index after it and what
// its bytes are (when it has escapes, only that it has).
func (w *rewriter) scanString(i int) (end int, in info, err error) {
	d := w.doc
	for j := i + 1; j < len(d); {
		k, class, digits := plainPrefix(d[j:])
		j += k
		in.class |= class
		in.digits += digits
		if j >= len(d) {
			break
		}
		switch c := d[j]; {
		case c == '"':
			return j + 1, in, nil
		case c == '\\':
			in.escaped = true
			if j+1 >= len(d) {
				return 0, info{}, w.syntax(len(d), "in a string")
			}
			switch d[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(d) || !hex4(d[j+2:j+6]) {
					return 0, info{}, fmt.Errorf("%w: bad \\u escape at offset %d", ErrInvalidJSON, j)
				}
				j += 6
			default:
				return 0, info{}, fmt.Errorf("%w: bad escape at offset %d", ErrInvalidJSON, j)
			}
		default: // c < 0x20
			return 0, info{}, fmt.Errorf("%w: control character in a string at offset %d", ErrInvalidJSON, j)
		}
	}
	return 0, info{}, w.syntax(len(d), "in a string")
}

// plainString is scanString of the string at doc[i] when it has no escapes, as most do, small
// enough to be inlined; it returns end -1 for any other string.
func (w *rewriter) plainString(i int) (end int, in info) {
	for k, b := range w.doc[i+1:] {
		c := byteClass[b]
		if c&clStop != 0 {
			if b != '"' {
				break
			}
			return i + 2 + k, in
		}
		in.class |= c
		in.digits += int(c & clDigit)
	}
	return -1, in
}

// plainPrefix returns the length of the longest prefix of s without quotes, backslashes and
// control characters, and the classes and the number of digits of its bytes.
func plainPrefix(s []byte) (n int, class uint8, digits int) {
	for k, b := range s {
		c := byteClass[b]
		if c&clStop != 0 {
			return k, class, digits
		}
		class |= c
		digits += int(c & clDigit)
	}
	return len(s), class, digits
}

// scanNumber checks the number that starts at doc[i] and returns the index after it.
func (w *rewriter) scanNumber(i int) (int, error) {
	d := w.doc
	j := i
	if j < len(d) && d[j] == '-' {
		j++
	}
	switch {
	case j < len(d) && d[j] == '0':
		j++
	case j < len(d) && d[j] >= '1' && d[j] <= '9':
		for j < len(d) && isDigit(d[j]) {
			j++
		}
	default:
		return 0, w.syntax(j, "in a number")
	}
	if j < len(d) && d[j] == '.' {
		j++
		if j >= len(d) || !isDigit(d[j]) {
			return 0, w.syntax(j, "in a number")
		}
		for j < len(d) && isDigit(d[j]) {
			j++
		}
	}
	if j < len(d) && (d[j] == 'e' || d[j] == 'E') {
		j++
		if j < len(d) && (d[j] == '+' || d[j] == '-') {
			j++
		}
		if j >= len(d) || !isDigit(d[j]) {
			return 0, w.syntax(j, "in a number")
		}
		for j < len(d) && isDigit(d[j]) {
			j++
		}
	}
	return j, nil
}

// hex4 reports whether b is four hexadecimal digits.
func hex4(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) && (c|0x20 < 'a' || c|0x20 > 'f') {
			return false
		}
	}
	return true
}

// unhex4 parses four hexadecimal digits.
func unhex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case isDigit(c):
			r = r<<4 | rune(c-'0')
		default:
			r = r<<4 | rune(c|0x20-'a'+10)
		}
	}
	return r
}

// unescape appends the content of a checked JSON string (without its quotes) to dst, decoded.
// A lone surrogate decodes as U+FFFD, as encoding/json does.
func unescape(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch s[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := unhex4(s[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if r2 := utf16.DecodeRune(r, unhex4(s[i+2:i+6])); r2 != utf8.RuneError {
						r = r2
						i += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, s[i+1])
		}
		i += 2
	}
	return dst
}

// appendQuoted appends s as a JSON string. Invalid UTF-8 becomes U+FFFD; U+2028 and U+2029 are
// escaped, as encoding/json does.
func appendQuoted(dst, s []byte) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	i := 0 // s[:i] needs no escapes: copied at once
	for i < len(s) && s[i] >= 0x20 && s[i] < utf8.RuneSelf && s[i] != '"' && s[i] != '\\' {
		i++
	}
	dst = append(dst, s[:i]...)
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
