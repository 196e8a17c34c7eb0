package pii

import "fmt"

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
//
// MaskJSON checks and prepares p on every call; a policy applied to many documents is better
// compiled once, with Policy.Compile, for MaskJSONCompiled.
func (e *Engine) MaskJSON(doc []byte, p *Policy) (out []byte, n int, err error) {
	if p == nil {
		return e.maskJSON(doc, true, nil)
	}
	if err := p.Validate(); err != nil {
		return nil, 0, err
	}
	var rules []compiledRule
	if len(p.Rules) > 0 {
		rules = compileRules(make([]compiledRule, 0, len(p.Rules)), p.Rules)
	}
	return e.maskJSON(doc, p.Scan, rules)
}

// maskJSON is MaskJSON by a valid policy, compiled.
func (e *Engine) maskJSON(doc []byte, scan bool, rules []compiledRule) (out []byte, n int, err error) {
	if len(doc) > MaxJSONBytes {
		return nil, 0, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(doc), MaxJSONBytes)
	}
	w := rewriter{e: e, scan: scan, rules: rules, doc: doc}
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
	e     *Engine
	scan  bool
	rules []compiledRule
	doc   []byte
	out   []byte // nil until the first change
	last  int    // doc[last:] is not yet in out
	n     int

	spare  []byte // the buffer out starts in
	masked []byte // the current value masked

	path       [MaxDepth + 1]seg // path[:depth] leads to the current value (kept only with rules)
	str        []byte            // the current string value, unescaped
	pseudonyms *pseudonymMemo    // made with the first pseudonym
	findBuf    [16]Finding
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
	case b == '"' || b == '-' || isDigit(b):
		return w.plainValue(i, depth, c)
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
		end, in := w.plainString(i)
		var err error
		if end < 0 {
			end, in, err = w.scanString(i)
		}
		if err != nil {
			return 0, err
		}
		name := w.doc[i+1 : end-1]
		if in.escaped {
			name = unescape(nil, name)
			in = infoOf(name)
		}
		if i = w.ws(end); i >= len(w.doc) || w.doc[i] != ':' {
			return 0, w.syntax(i, "where ':' was expected")
		}
		i = w.ws(i + 1)
		child := c
		child.name = name
		if !c.check && c.rule == nil && len(w.rules) > 0 {
			w.path[depth-1] = seg{name: name}
			child.rule = w.match(depth)
		}
		if child.rule == nil && !l.dropped { // the common case, without the bookkeeping of member
			if in.mayFind() && !c.check && w.scan {
				w.maskName(keyStart, end, name) // a map keyed by card number
			}
			if i, err = w.plainValue(i, depth, child); err != nil {
				return 0, err
			}
			l.kept, l.gap = true, i
		} else {
			l.start, l.nameEnd = keyStart, -1
			if in.mayFind() {
				l.nameEnd = end
			}
			if i, err = w.member(i, depth, child, &l); err != nil {
				return 0, err
			}
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
		if !c.check && c.rule == nil && len(w.rules) > 0 {
			w.path[depth-1] = seg{index: index, isIndex: true}
			child.rule = w.match(depth)
		}
		var err error
		if child.rule == nil && !l.dropped { // the common case, without the bookkeeping of member
			if i, err = w.plainValue(i, depth, child); err != nil {
				return 0, err
			}
			l.kept, l.gap = true, i
		} else {
			l.start, l.nameEnd = i, -1
			if i, err = w.member(i, depth, child, &l); err != nil {
				return 0, err
			}
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

// listState tracks removals among the members of one object or the elements of one array, and
// where the member at hand starts.
type listState struct {
	gap     int  // where the text after the previous member starts
	kept    bool // a member has been kept
	dropped bool // a member has been dropped
	start   int  // where the member at hand starts: its name, or its value for an element
	nameEnd int  // where its name ends when the detectors may find something in it, else -1
}

// member reads one member (or element) that starts at doc[l.start], with its value starting at
// doc[i], keeps or drops it, and returns the index after its value. (Few arguments: they are
// passed in registers.)
func (w *rewriter) member(i, depth int, c ctx, l *listState) (int, error) {
	start := l.start
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
	if l.nameEnd > 0 && action != ActionDrop && !c.check && w.scan {
		w.maskName(start, l.nameEnd, c.name) // a map keyed by card number
	}
	end, err := w.plainValue(i, depth, c)
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

// plainValue is value, with strings and numbers, the most common values, read with fewer calls.
func (w *rewriter) plainValue(i, depth int, c ctx) (int, error) {
	if i < len(w.doc) {
		switch b := w.doc[i]; {
		case b == '"':
			end, in := w.plainString(i)
			if end < 0 {
				return w.escapedString(i, c)
			}
			if c.check || c.rule == nil && (!w.scan || !in.mayChange()) {
				return end, nil // the common case: nothing to do
			}
			w.leaf(i, end, w.doc[i+1:end-1], true, &in, &c)
			return end, nil
		case b == '-' || isDigit(b):
			return w.number(i, c)
		}
	}
	return w.value(i, depth, c)
}

// escapedString reads the string at doc[i] with escapes, or that is not valid, as value does.
func (w *rewriter) escapedString(i int, c ctx) (int, error) {
	end, in, err := w.scanString(i)
	if err != nil || c.check || c.rule == nil && !w.scan {
		return end, err
	}
	if w.str == nil {
		w.str = make([]byte, 0, 256)
	}
	w.str = unescape(w.str[:0], w.doc[i+1:end-1])
	in = infoOf(w.str)
	w.leaf(i, end, w.str, true, &in, &c)
	return end, nil
}

// number reads the number at doc[i] as value does.
func (w *rewriter) number(i int, c ctx) (int, error) {
	end, err := w.scanNumber(i)
	if err != nil || c.check || c.rule == nil && !w.scan {
		return end, err
	}
	v := w.doc[i:end]
	in := infoOf(v)
	w.leaf(i, end, v, allDigits(v), &in, &c)
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

// maskBufLen is the size of the buffer for masked values; a longer value makes its own.
const maskBufLen = 256

// alloc makes the buffers of the first change: the output, and after it the buffer for masked
// values (MaskJSON's caller does not see it: out's capacity ends before it).
func (w *rewriter) alloc() {
	n := len(w.doc) + 64
	b := make([]byte, 0, n+maskBufLen)
	w.spare, w.masked = b[:0:n], b[n:n]
}

// cut removes doc[from:to] from the output; from is not before anything already copied.
func (w *rewriter) cut(from, to int) {
	if w.out == nil {
		if w.spare == nil {
			w.alloc()
		}
		w.out = w.spare
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
