package risk

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bankguard/bankguard/jsonptr"
)

// Errors of the body readers; they stay internal.
var (
	errNotJSON   = jsonptr.ErrNotJSON
	errAmbiguous = jsonptr.ErrAmbiguous
	errTooDeep   = errors.New("risk: the body nests too deeply")
)

// maxDepth bounds the nesting the fingerprint walks.
const maxDepth = 64

// escape encodes a member name as a JSON pointer segment.
var escape = strings.NewReplacer("~", "~0", "/", "~1")

// amountAt reads the amount at pointer: a JSON string, or a JSON number
// whose text is a plain decimal ("1234.56", not 1.23456e3).
func amountAt(body []byte, pointer string) (Fen, error) {
	raw, err := jsonptr.Value(body, pointer)
	if err != nil {
		return 0, err
	}
	text := string(raw)
	if len(raw) > 0 && raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return 0, jsonptr.ErrNotString
		}
	}
	return ParseAmount(text)
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
		if jsonptr.Valid(p) {
			patterns = append(patterns, jsonptr.Segments(p))
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
