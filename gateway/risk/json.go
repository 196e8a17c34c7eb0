package risk

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Errors of the body readers; they stay internal.
var (
	errNotJSON   = errors.New("risk: the body is not one JSON document")
	errPointer   = errors.New("risk: malformed JSON pointer")
	errAbsent    = errors.New("risk: the body has no member at the pointer")
	errAmbiguous = errors.New("risk: the body names a member more than once")
	errNotString = errors.New("risk: the member is not a string")
	errTooDeep   = errors.New("risk: the body nests too deeply")
)

// maxDepth bounds the nesting the fingerprint walks.
const maxDepth = 64

// unescape decodes a JSON pointer segment: ~1 is "/", ~0 is "~" (RFC 6901 §4).
var unescape = strings.NewReplacer("~1", "/", "~0", "~")

// escape encodes a member name as a JSON pointer segment.
var escape = strings.NewReplacer("~", "~0", "/", "~1")

// validPointer reports whether p is a JSON pointer to a member (RFC 6901):
// "/a/b", with ~ only in ~0 and ~1.
func validPointer(p string) bool {
	if p == "" || p[0] != '/' || !utf8.ValidString(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '~' && (i+1 == len(p) || p[i+1] != '0' && p[i+1] != '1') {
			return false
		}
	}
	return true
}

// valueAt returns the JSON value at pointer in body.
//
// The gateway must assess the same amount and payee the backend will act
// on: an object on the way that names the member twice — also in another
// letter case, which some decoders (Go's encoding/json among them) match
// case-insensitively — is refused, not resolved.
func valueAt(body []byte, pointer string) (json.RawMessage, error) {
	if !utf8.Valid(body) || !json.Valid(body) {
		return nil, errNotJSON
	}
	if !validPointer(pointer) {
		return nil, errPointer
	}
	raw := json.RawMessage(body)
	for _, seg := range strings.Split(pointer[1:], "/") {
		var err error
		if raw, err = child(raw, unescape.Replace(seg)); err != nil {
			return nil, err
		}
	}
	return raw, nil
}

// stringAt returns the string at pointer in body.
func stringAt(body []byte, pointer string) (string, error) {
	raw, err := valueAt(body, pointer)
	if err != nil {
		return "", err
	}
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil { // null would decode to ""
		return "", errNotString
	}
	return s, nil
}

// amountAt reads the amount at pointer: a JSON string, or a JSON number
// whose text is a plain decimal ("1234.56", not 1.23456e3).
func amountAt(body []byte, pointer string) (Fen, error) {
	raw, err := valueAt(body, pointer)
	if err != nil {
		return 0, err
	}
	text := string(raw)
	if len(raw) > 0 && raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return 0, errNotString
		}
	}
	return ParseAmount(text)
}

// child returns the member seg of the object raw, or its element seg if it
// is an array.
func child(raw []byte, seg string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, errNotJSON
	}
	switch tok {
	case json.Delim('{'):
		var found json.RawMessage
		seen := 0
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, errNotJSON
			}
			key, _ := kt.(string)
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, errNotJSON
			}
			if strings.EqualFold(key, seg) {
				seen++
				if key == seg {
					found = v
				}
			}
		}
		switch {
		case seen > 1:
			return nil, errAmbiguous
		case found == nil:
			return nil, errAbsent
		}
		return found, nil
	case json.Delim('['):
		idx, ok := arrayIndex(seg)
		if !ok {
			return nil, errAbsent
		}
		for i := 0; dec.More(); i++ {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, errNotJSON
			}
			if i == idx {
				return v, nil
			}
		}
	}
	return nil, errAbsent
}

// arrayIndex parses an RFC 6901 array index: "0" or a decimal without a
// leading zero.
func arrayIndex(seg string) (int, bool) {
	if seg == "" || len(seg) > 9 || len(seg) > 1 && seg[0] == '0' || !digits(seg) {
		return 0, false
	}
	n, err := strconv.Atoi(seg)
	return n, err == nil
}

// canonical returns body in a canonical form — object members sorted,
// insignificant whitespace dropped, numbers as written — without the
// members that match the pointer patterns in skip ("*" one segment, "**"
// any number). Two bodies that ask for the same transfer, with their sealed
// fields sealed afresh, have the same canonical form. A member named twice
// (in any letter case) is refused.
func canonical(body []byte, skip []string) ([]byte, error) {
	if !utf8.Valid(body) || !json.Valid(body) {
		return nil, errNotJSON
	}
	patterns := make([][]string, 0, len(skip))
	for _, p := range skip {
		if validPointer(p) {
			patterns = append(patterns, segments(p))
		}
	}
	c := canonicalizer{dec: json.NewDecoder(bytes.NewReader(body)), skip: patterns}
	c.dec.UseNumber()
	return c.value(nil, nil)
}

type canonicalizer struct {
	dec  *json.Decoder
	skip [][]string
}

// value appends the canonical form of the next value, at path, to out.
func (c *canonicalizer) value(out []byte, path []string) ([]byte, error) {
	if len(path) > maxDepth {
		return nil, errTooDeep
	}
	tok, err := c.dec.Token()
	if err != nil {
		return nil, errNotJSON
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return c.array(out, path)
		}
		return c.object(out, path)
	case string:
		b, _ := json.Marshal(t)
		return append(out, b...), nil
	case json.Number:
		return append(out, t...), nil
	case bool:
		return strconv.AppendBool(out, t), nil
	default:
		return append(out, "null"...), nil
	}
}

func (c *canonicalizer) object(out []byte, path []string) ([]byte, error) {
	type member struct {
		key string
		val []byte
	}
	var members []member
	seen := map[string]bool{}
	for c.dec.More() {
		kt, err := c.dec.Token()
		if err != nil {
			return nil, errNotJSON
		}
		key, _ := kt.(string)
		folded := strings.ToLower(key)
		if seen[folded] {
			return nil, errAmbiguous
		}
		seen[folded] = true
		p := append(path[:len(path):len(path)], key)
		v, err := c.value(nil, p)
		if err != nil {
			return nil, err
		}
		if !c.skipped(p) {
			members = append(members, member{key, v})
		}
	}
	if _, err := c.dec.Token(); err != nil {
		return nil, errNotJSON
	}
	slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	out = append(out, '{')
	for i, m := range members {
		if i > 0 {
			out = append(out, ',')
		}
		k, _ := json.Marshal(m.key)
		out = append(append(append(out, k...), ':'), m.val...)
	}
	return append(out, '}'), nil
}

func (c *canonicalizer) array(out []byte, path []string) ([]byte, error) {
	out = append(out, '[')
	for i := 0; c.dec.More(); i++ {
		p := append(path[:len(path):len(path)], strconv.Itoa(i))
		v, err := c.value(nil, p)
		if err != nil {
			return nil, err
		}
		if c.skipped(p) {
			v = []byte("null") // keep the positions of the others
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, v...)
	}
	if _, err := c.dec.Token(); err != nil {
		return nil, errNotJSON
	}
	return append(out, ']'), nil
}

func (c *canonicalizer) skipped(path []string) bool {
	for _, p := range c.skip {
		if matchSegments(p, path) {
			return true
		}
	}
	return false
}

// segments splits a JSON pointer into its unescaped segments.
func segments(p string) []string {
	s := strings.Split(p[1:], "/")
	for i := range s {
		s[i] = unescape.Replace(s[i])
	}
	return s
}

// matchSegments reports whether path matches pattern: "*" is one segment,
// "**" any number of them (the registry's pattern syntax).
func matchSegments(pattern, path []string) bool {
	if len(pattern) == 0 {
		return len(path) == 0
	}
	switch pattern[0] {
	case "**":
		for i := 0; i <= len(path); i++ {
			if matchSegments(pattern[1:], path[i:]) {
				return true
			}
		}
		return false
	case "*":
		return len(path) > 0 && matchSegments(pattern[1:], path[1:])
	}
	return len(path) > 0 && pattern[0] == path[0] && matchSegments(pattern[1:], path[1:])
}
