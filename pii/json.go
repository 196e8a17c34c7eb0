package pii

import (
	"fmt"
	"strings"
)

// Limits of MaskJSON. A document past them is refused, never partly masked.
const (
	// MaxDepth is how deeply objects and arrays may nest.
	MaxDepth = 64
	// MaxJSONBytes is the largest document MaskJSON reads.
	MaxJSONBytes = 16 << 20
)

// MaskJSON rewrites the JSON document doc by policy p (T/PCAC 0008-2020 3.2.5): it masks,
// pseudonymizes or drops what the rules say and, with p.Scan, masks the personal data the
// member-name hints and the detectors find in the rest. A nil p scans without rules. n is the
// number of values changed or dropped.
//
// Everything MaskJSON does not change is copied byte for byte, whitespace, member order,
// escapes and number literals included (a large integer never becomes a float). When n is 0,
// out is doc itself.
//
// A document that is not JSON, nests deeper than MaxDepth or is larger than MaxJSONBytes is an
// error (ErrInvalidJSON, ErrTooDeep, ErrTooLarge), and so is an invalid policy (ErrPolicy): the
// caller must then not pass the document on. MaskJSON never recurses deeper than MaxDepth.
func (e *Engine) MaskJSON(doc []byte, p *Policy) (out []byte, n int, err error) {
	if p == nil {
		p = &Policy{Scan: true}
	}
	if err := p.Validate(); err != nil {
		return nil, 0, err
	}
	if len(doc) > MaxJSONBytes {
		return nil, 0, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(doc), MaxJSONBytes)
	}
	w := rewriter{e: e, p: p, doc: doc}
	i, err := w.value(w.ws(0), 0, ctx{})
	if err != nil {
		return nil, 0, err
	}
	if i = w.ws(i); i != len(doc) {
		return nil, 0, w.syntax(i, "after the top-level value")
	}
	if w.out == nil {
		return doc, 0, nil
	}
	return append(w.out, doc[w.last:]...), w.n, nil
}

// rewriter is the state of one MaskJSON call: a single pass over doc that validates it and
// copies it to out lazily, from the first change on.
type rewriter struct {
	e    *Engine
	p    *Policy
	doc  []byte
	out  []byte // nil until the first change
	last int    // doc[last:] is not yet in out
	n    int

	path    [MaxDepth + 1]seg // path[:depth] leads to the current value (kept only with rules)
	str     []byte            // the current string value, unescaped
	masked  []byte            // the current value masked
	findBuf [16]Finding
}

// ctx is what the enclosing values decide for a value.
type ctx struct {
	name  []byte // the name of the member the value belongs to (or its array does)
	rule  *Rule  // the rule that governs the value and everything inside it
	check bool   // only validate: the value is kept or dropped whole
}

// value reads the value at doc[i], rewrites it as ctx says, and returns the index after it.
func (w *rewriter) value(i, depth int, c ctx) (int, error) {
	if i >= len(w.doc) {
		return 0, w.syntax(i, "where a value was expected")
	}
	switch b := w.doc[i]; {
	case b == '{' || b == '[':
		if depth >= MaxDepth {
			return 0, fmt.Errorf("%w: more than %d levels at offset %d", ErrTooDeep, MaxDepth, i)
		}
		if b == '{' {
			return w.object(i, depth+1, c)
		}
		return w.array(i, depth+1, c)
	case b == '"':
		end, escaped, err := w.scanString(i)
		if err != nil || c.check {
			return end, err
		}
		return end, w.leaf(i, end, true, escaped, c)
	case b == '-' || isDigit(b):
		end, err := w.scanNumber(i)
		if err != nil || c.check {
			return end, err
		}
		return end, w.leaf(i, end, false, false, c)
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if len(w.doc)-i >= len(lit) && string(w.doc[i:i+len(lit)]) == lit {
			return i + len(lit), nil
		}
	}
	return 0, w.syntax(i, "where a value was expected")
}

// object reads the object at doc[i] (depth counts it) and returns the index after it.
func (w *rewriter) object(i, depth int, c ctx) (int, error) {
	i = w.ws(i + 1)
	if i < len(w.doc) && w.doc[i] == '}' {
		return i + 1, nil
	}
	var l listState
	for {
		if i >= len(w.doc) || w.doc[i] != '"' {
			return 0, w.syntax(i, "where a member name was expected")
		}
		keyStart := i
		end, escaped, err := w.scanString(i)
		if err != nil {
			return 0, err
		}
		name := w.doc[i+1 : end-1]
		if escaped {
			name = unescape(nil, name)
		}
		if i = w.ws(end); i >= len(w.doc) || w.doc[i] != ':' {
			return 0, w.syntax(i, "where ':' was expected")
		}
		i = w.ws(i + 1)
		child := c
		child.name = name
		if !c.check && c.rule == nil {
			w.path[depth-1] = seg{name: name}
			child.rule = w.match(depth)
		}
		if i, err = w.member(keyStart, end, i, depth, child, &l); err != nil {
			return 0, err
		}
		switch i = w.ws(i); {
		case i < len(w.doc) && w.doc[i] == ',':
			i = w.ws(i + 1)
		case i < len(w.doc) && w.doc[i] == '}':
			return i + 1, nil
		default:
			return 0, w.syntax(i, "where ',' or '}' was expected")
		}
	}
}

// array reads the array at doc[i] (depth counts it) and returns the index after it.
func (w *rewriter) array(i, depth int, c ctx) (int, error) {
	i = w.ws(i + 1)
	if i < len(w.doc) && w.doc[i] == ']' {
		return i + 1, nil
	}
	var l listState
	for index := 0; ; index++ {
		child := c // elements keep the hint of the array's member name
		if !c.check && c.rule == nil {
			w.path[depth-1] = seg{index: index, isIndex: true}
			child.rule = w.match(depth)
		}
		var err error
		if i, err = w.member(i, -1, i, depth, child, &l); err != nil {
			return 0, err
		}
		switch i = w.ws(i); {
		case i < len(w.doc) && w.doc[i] == ',':
			i = w.ws(i + 1)
		case i < len(w.doc) && w.doc[i] == ']':
			return i + 1, nil
		default:
			return 0, w.syntax(i, "where ',' or ']' was expected")
		}
	}
}

// listState tracks removals among the members of one object or the elements of one array.
type listState struct {
	gap     int  // where the text after the previous member starts
	kept    bool // a member has been kept
	dropped bool // a member has been dropped
}

// member reads one member (or element) that starts at doc[start], with its name ending at
// doc[keyEnd] (-1 for an element) and its value starting at doc[i], keeps or drops it, and
// returns the index after its value.
func (w *rewriter) member(start, keyEnd, i, depth int, c ctx, l *listState) (int, error) {
	action := Action("") // inside a value kept or dropped whole, nothing more is done
	if c.rule != nil && !c.check {
		action = c.rule.Action
	}
	if action == ActionDrop || action == ActionKeep {
		c.check = true
	}
	if action != ActionDrop && !l.kept && l.dropped {
		w.cut(w.last, start) // the separator between the dropped members and this one
	}
	if keyEnd > 0 && action != ActionDrop && !c.check && w.p.Scan {
		w.maskName(start, keyEnd, c.name) // a map keyed by card number
	}
	end, err := w.value(i, depth, c)
	if err != nil {
		return 0, err
	}
	if action == ActionDrop {
		// The separator before it goes too; the first member takes the one after it instead,
		// with the member after that.
		switch {
		case l.kept:
			w.cut(l.gap, end)
		case l.dropped:
			w.cut(w.last, end)
		default:
			w.cut(start, end)
		}
		w.n++
		l.dropped = true
	} else {
		l.kept = true
	}
	l.gap = end
	return end, nil
}

// maskName masks the member name doc[start:end], decoded name, with MaskText.
func (w *rewriter) maskName(start, end int, name []byte) {
	if fs := appendFindings(w.findBuf[:0], name); len(fs) > 0 {
		w.masked = appendMaskFindings(w.maskBuf(), name, fs)
		w.cut(start, end)
		w.out = appendQuoted(w.out, w.masked)
		w.n++
	}
}

// match returns the first rule whose pattern matches path[:depth], or nil.
func (w *rewriter) match(depth int) *Rule {
	for k := range w.p.Rules {
		pat := w.p.Rules[k].Path
		// Most patterns end in a member name: compare it before walking the whole path.
		if last := pat[strings.LastIndexByte(pat, '/')+1:]; last != "*" && last != "**" && !segMatches(last, w.path[depth-1]) {
			continue
		}
		if matchPath(pat, w.path[:depth]) {
			return &w.p.Rules[k]
		}
	}
	return nil
}

// cut removes doc[from:to] from the output; from is not before anything already copied.
func (w *rewriter) cut(from, to int) {
	if w.out == nil {
		w.out = make([]byte, 0, len(w.doc)+64)
	}
	w.out = append(w.out, w.doc[w.last:from]...)
	w.last = to
}

// ws returns the index of the first non-whitespace byte at or after i.
func (w *rewriter) ws(i int) int {
	for i < len(w.doc) {
		switch w.doc[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// syntax returns an ErrInvalidJSON error at offset i.
func (w *rewriter) syntax(i int, where string) error {
	if i >= len(w.doc) {
		return fmt.Errorf("%w: unexpected end %s", ErrInvalidJSON, where)
	}
	return fmt.Errorf("%w: unexpected %q at offset %d %s", ErrInvalidJSON, w.doc[i], i, where)
}
