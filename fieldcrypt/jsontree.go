package fieldcrypt

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// kind is the type of a JSON value.
type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindObject
	kindArray
)

// node is a parsed JSON value that keeps the order of object members and
// the literal text of numbers (never converted to float64).
type node struct {
	kind kind
	b    bool     // kindBool
	s    string   // kindString: the value; kindNumber: the literal
	keys []string // kindObject: member names, in document order
	kids []*node  // kindObject: member values; kindArray: elements
}

// member returns the index of the object member named name, or -1.
func (n *node) member(name string) int {
	for i, k := range n.keys {
		if k == name {
			return i
		}
	}
	return -1
}

// removeMember deletes member i of an object.
func (n *node) removeMember(i int) {
	n.keys = append(n.keys[:i], n.keys[i+1:]...)
	n.kids = append(n.kids[:i], n.kids[i+1:]...)
}

// parseJSON parses one JSON value that fills data entirely. Containers may
// nest at most maxDepth deep; member names must be unique in each object.
// Numbers keep their literal text.
func parseJSON(data []byte, maxDepth int) (*node, error) {
	if len(data) > MaxDocumentSize {
		return nil, wrap(ErrTooLarge, "document over "+strconv.Itoa(MaxDocumentSize>>20)+" MiB")
	}
	// json.Valid rejects every syntax error and trailing data up front, so
	// the scanner below only has to build the tree.
	if !json.Valid(data) {
		return nil, wrap(ErrMalformed, "not a json document")
	}
	p := parser{data: data, maxDepth: maxDepth}
	return p.value(0)
}

// parser builds the tree of a document json.Valid accepted.
type parser struct {
	data     []byte
	pos      int
	maxDepth int
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// value parses the next value; depth is the number of containers around it.
func (p *parser) value(depth int) (*node, error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return nil, wrap(ErrMalformed, "not a json document")
	}
	switch c := p.data[p.pos]; c {
	case '{', '[':
		if depth >= p.maxDepth {
			return nil, wrap(ErrTooLarge, "json nested more than "+strconv.Itoa(p.maxDepth)+" deep")
		}
		p.pos++
		if c == '{' {
			return p.object(depth + 1)
		}
		return p.array(depth + 1)
	case '"':
		s, err := p.str()
		return &node{kind: kindString, s: s}, err
	case 't':
		p.pos += len("true")
		return &node{kind: kindBool, b: true}, nil
	case 'f':
		p.pos += len("false")
		return &node{kind: kindBool}, nil
	case 'n':
		p.pos += len("null")
		return &node{kind: kindNull}, nil
	default:
		start := p.pos
		for p.pos < len(p.data) && strings.IndexByte("+-0123456789.eE", p.data[p.pos]) >= 0 {
			p.pos++
		}
		if p.pos == start {
			return nil, wrap(ErrMalformed, "not a json document")
		}
		return &node{kind: kindNumber, s: string(p.data[start:p.pos])}, nil
	}
}

// str parses the string at p.pos. Strings without escapes in valid UTF-8
// are taken as they are; the others are decoded by encoding/json, which
// also replaces invalid UTF-8 and lone surrogates with U+FFFD.
func (p *parser) str() (string, error) {
	start := p.pos
	p.pos++
	plain := true
	for p.pos < len(p.data) {
		switch c := p.data[p.pos]; {
		case c == '\\':
			plain = false
			p.pos += 2
			continue
		case c == '"':
			p.pos++
			raw := p.data[start+1 : p.pos-1]
			if plain && utf8.Valid(raw) {
				return string(raw), nil
			}
			var s string
			if err := json.Unmarshal(p.data[start:p.pos], &s); err != nil {
				return "", wrap(ErrMalformed, "not a json document")
			}
			return s, nil
		}
		p.pos++
	}
	return "", wrap(ErrMalformed, "not a json document")
}

// next skips space and consumes the byte that follows.
func (p *parser) next() byte {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return 0
	}
	p.pos++
	return p.data[p.pos-1]
}

func (p *parser) object(depth int) (*node, error) {
	n := &node{kind: kindObject}
	var seen map[string]struct{}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return n, nil
	}
	for {
		p.skipSpace()
		name, err := p.str()
		if err != nil {
			return nil, err
		}
		// Duplicate names would make a JSON pointer ambiguous.
		if len(n.keys) < 16 {
			if n.member(name) >= 0 {
				return nil, wrap(ErrMalformed, "duplicate object member name")
			}
		} else {
			if seen == nil {
				seen = make(map[string]struct{}, 2*len(n.keys))
				for _, k := range n.keys {
					seen[k] = struct{}{}
				}
			}
			if _, dup := seen[name]; dup {
				return nil, wrap(ErrMalformed, "duplicate object member name")
			}
			seen[name] = struct{}{}
		}
		if p.next() != ':' {
			return nil, wrap(ErrMalformed, "not a json document")
		}
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		n.keys = append(n.keys, name)
		n.kids = append(n.kids, v)
		switch p.next() {
		case ',':
		case '}':
			return n, nil
		default:
			return nil, wrap(ErrMalformed, "not a json document")
		}
	}
}

func (p *parser) array(depth int) (*node, error) {
	n := &node{kind: kindArray}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return n, nil
	}
	for {
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		n.kids = append(n.kids, v)
		switch p.next() {
		case ',':
		case ']':
			return n, nil
		default:
			return nil, wrap(ErrMalformed, "not a json document")
		}
	}
}

// appendJSON appends the compact JSON encoding of n to buf.
func appendJSON(buf []byte, n *node) []byte {
	switch n.kind {
	case kindNull:
		return append(buf, "null"...)
	case kindBool:
		return strconv.AppendBool(buf, n.b)
	case kindNumber:
		return append(buf, n.s...)
	case kindString:
		return appendString(buf, n.s)
	case kindObject:
		buf = append(buf, '{')
		for i, k := range n.keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendString(buf, k)
			buf = append(buf, ':')
			buf = appendJSON(buf, n.kids[i])
		}
		return append(buf, '}')
	default: // kindArray
		buf = append(buf, '[')
		for i, k := range n.kids {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSON(buf, k)
		}
		return append(buf, ']')
	}
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. It escapes '"', '\\', control
// characters and U+2028/U+2029 and keeps other characters as they are; s
// comes from the decoder, so it is valid UTF-8.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != '\u2028' && r != '\u2029' {
				i += size
				continue
			}
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\u202`...)
			buf = append(buf, hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		buf = append(buf, s[start:i]...)
		switch c {
		case '"', '\\':
			buf = append(buf, '\\', c)
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
