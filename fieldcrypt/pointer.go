package fieldcrypt

import (
	"strconv"
	"strings"
)

// wildcard is the pattern segment that matches any member or index.
const wildcard = "*"

// pattern is a parsed JSON-pointer pattern: its unescaped segments.
type pattern []string

// parsePatterns parses JSON-pointer patterns (RFC 6901, plus the segment "*"
// for any member or index). The empty pointer, which names the whole
// document, is refused: the envelope must stay outside the encrypted values.
func parsePatterns(ps []string) ([]pattern, error) {
	out := make([]pattern, 0, len(ps))
	for _, p := range ps {
		segs, err := parsePointer(p)
		if err != nil {
			return nil, err
		}
		if len(segs) == 0 {
			return nil, wrap(ErrMalformed, "pattern must name a field, not the whole document")
		}
		out = append(out, segs)
	}
	return out, nil
}

// parsePointer splits a JSON pointer into unescaped segments.
func parsePointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if p[0] != '/' {
		return nil, wrap(ErrMalformed, "json pointer must start with /")
	}
	segs := strings.Split(p[1:], "/")
	for i, s := range segs {
		if !strings.Contains(s, "~") {
			continue
		}
		for j := 0; j < len(s); j++ {
			if s[j] == '~' && (j+1 == len(s) || (s[j+1] != '0' && s[j+1] != '1')) {
				return nil, wrap(ErrMalformed, "json pointer has an invalid ~ escape")
			}
		}
		segs[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return segs, nil
}

// appendSegment appends "/" and the escaped segment to a pointer.
func appendSegment(ptr []byte, seg string) []byte {
	ptr = append(ptr, '/')
	for i := 0; i < len(seg); i++ {
		switch seg[i] {
		case '~':
			ptr = append(ptr, '~', '0')
		case '/':
			ptr = append(ptr, '~', '1')
		default:
			ptr = append(ptr, seg[i])
		}
	}
	return ptr
}

// arrayIndex parses an RFC 6901 array index: "0" or digits without a
// leading zero.
func arrayIndex(seg string) (int, bool) {
	if seg == "" || len(seg) > 9 || (len(seg) > 1 && seg[0] == '0') {
		return 0, false
	}
	i, err := strconv.Atoi(seg)
	if err != nil || i < 0 {
		return 0, false
	}
	return i, true
}

// match is one value selected by patterns: the concrete pointer and the
// place that holds it.
type match struct {
	ptr    string
	parent *node
	index  int
}

// state is a pattern partly matched: the next segment to match is pat[pos].
type state struct {
	pat pattern
	pos int
}

// matchAll returns the values of root selected by patterns, in document
// order. A value selected by one pattern is not searched further, so of two
// nested selections (patterns "/a" and "/a/b") only the outer one counts.
func matchAll(root *node, pats []pattern) []match {
	init := make([]state, len(pats))
	for i, p := range pats {
		init[i] = state{pat: p}
	}
	var out []match
	walk(root, make([]byte, 0, 64), init, &out)
	return out
}

// walk visits the children of n that some active state can step into.
func walk(n *node, ptr []byte, active []state, out *[]match) {
	if n.kind != kindObject && n.kind != kindArray {
		return
	}
	next := make([]state, 0, len(active))
	for i, kid := range n.kids {
		var name string
		if n.kind == kindObject {
			name = n.keys[i]
		}
		next = next[:0]
		selected := false
		for _, st := range active {
			seg := st.pat[st.pos]
			if !segmentMatches(seg, n.kind, name, i) {
				continue
			}
			if st.pos+1 == len(st.pat) {
				selected = true
				break
			}
			next = append(next, state{pat: st.pat, pos: st.pos + 1})
		}
		if !selected && len(next) == 0 {
			continue
		}
		var child []byte
		if n.kind == kindObject {
			child = appendSegment(ptr, name)
		} else {
			child = strconv.AppendInt(append(ptr, '/'), int64(i), 10)
		}
		if selected {
			*out = append(*out, match{ptr: string(child), parent: n, index: i})
			continue
		}
		walk(kid, child, append([]state(nil), next...), out)
	}
}

// segmentMatches reports whether a pattern segment selects member name
// (object) or element i (array).
func segmentMatches(seg string, k kind, name string, i int) bool {
	if seg == wildcard {
		return true
	}
	if k == kindObject {
		return seg == name
	}
	j, ok := arrayIndex(seg)
	return ok && j == i
}

// trie is a set of concrete pointers stored by segment, so that locating all
// of them costs one pass over the parts of the document they lead through.
type trie struct {
	kids map[string]*trie
	leaf int // index of the pointer ending here, or -1
}

// locate finds the value named by each concrete pointer of ptrs in root and
// returns the matches in the order of ptrs. It fails if a pointer is
// invalid, repeated, inside another one, or names nothing.
func locate(root *node, ptrs []string) ([]match, error) {
	top := &trie{leaf: -1}
	for i, p := range ptrs {
		segs, err := parsePointer(p)
		if err != nil || len(segs) == 0 {
			return nil, wrap(ErrMalformed, "envelope lists an invalid json pointer")
		}
		t := top
		for _, s := range segs {
			if t.leaf >= 0 {
				return nil, wrap(ErrEnvelope, "envelope lists field "+quotePointer(p)+" inside another listed field")
			}
			next := t.kids[s]
			if next == nil {
				if t.kids == nil {
					t.kids = make(map[string]*trie)
				}
				next = &trie{leaf: -1}
				t.kids[s] = next
			}
			t = next
		}
		if t.leaf >= 0 {
			return nil, wrap(ErrEnvelope, "envelope lists field "+quotePointer(p)+" twice")
		}
		if len(t.kids) > 0 {
			return nil, wrap(ErrEnvelope, "envelope lists a field inside field "+quotePointer(p))
		}
		t.leaf = i
	}
	out := make([]match, len(ptrs))
	found := make([]bool, len(ptrs))
	locateIn(root, top, ptrs, out, found)
	for i, ok := range found {
		if !ok {
			return nil, wrap(ErrEnvelope, "listed field "+quotePointer(ptrs[i])+" is not in the document")
		}
	}
	return out, nil
}

// locateIn records the children of n that the trie t names.
func locateIn(n *node, t *trie, ptrs []string, out []match, found []bool) {
	visit := func(i int, sub *trie) {
		if sub.leaf >= 0 {
			out[sub.leaf] = match{ptr: ptrs[sub.leaf], parent: n, index: i}
			found[sub.leaf] = true
			return
		}
		locateIn(n.kids[i], sub, ptrs, out, found)
	}
	switch n.kind {
	case kindObject:
		for i, name := range n.keys {
			if sub := t.kids[name]; sub != nil {
				visit(i, sub)
			}
		}
	case kindArray:
		for seg, sub := range t.kids {
			if i, ok := arrayIndex(seg); ok && i < len(n.kids) {
				visit(i, sub)
			}
		}
	}
}
