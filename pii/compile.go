package pii

import "strings"

// Compiled is a Policy checked and prepared once. MaskJSON checks and prepares its Policy on
// every call; a gateway that applies one policy to every response of an API compiles it when
// it loads the API and calls MaskJSONCompiled. A Compiled is immutable and safe for concurrent
// use: later changes to the Policy it came from do not reach it.
type Compiled struct {
	scan  bool
	rules []compiledRule
}

// compiledRule is a Rule with its pattern's depth and last segment decoded, so that most rules
// are ruled out for a value by a comparison or two, without walking its path.
type compiledRule struct {
	rule Rule
	// anyLast is set when the last segment is "*" or "**" and matches anything.
	anyLast bool
	// lastName is the last segment with its ~0 and ~1 escapes decoded: the member name it
	// matches.
	lastName string
	// lastIndex is the array index the last segment matches, or -1 when it matches none.
	lastIndex int
	// depth is the number of segments, and so of the path the pattern matches, when it has no
	// "**"; -1 when it has.
	depth int
	// lastOnly is set for patterns "/**/name": the last segment alone decides.
	lastOnly bool
}

// Compile checks p as Validate does and returns it prepared for MaskJSONCompiled. A nil p
// compiles to the policy MaskJSON applies for a nil Policy: a scan without rules.
func (p *Policy) Compile() (*Compiled, error) {
	if p == nil {
		return &Compiled{scan: true}, nil
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Compiled{scan: p.Scan, rules: compileRules(make([]compiledRule, 0, len(p.Rules)), p.Rules)}, nil
}

// MaskJSONCompiled is MaskJSON with a policy compiled beforehand: the same output, without the
// cost of checking and preparing the policy on every call. A nil c scans without rules, as a
// nil Policy does.
func (e *Engine) MaskJSONCompiled(doc []byte, c *Compiled) (out []byte, n int, err error) {
	if c == nil {
		return e.maskJSON(doc, true, nil)
	}
	return e.maskJSON(doc, c.scan, c.rules)
}

// compileRules appends the valid rules rs, prepared, to dst.
func compileRules(dst []compiledRule, rs []Rule) []compiledRule {
	for _, r := range rs {
		last := r.Path[strings.LastIndexByte(r.Path, '/')+1:]
		c := compiledRule{rule: r, anyLast: last == "*" || last == "**", lastIndex: -1}
		if !c.anyLast {
			c.lastName = unescapeSegment(last)
			c.lastIndex = indexOf(last)
		}
		c.depth = strings.Count(r.Path, "/")
		for seg := range strings.SplitSeq(r.Path[1:], "/") {
			if seg == "**" {
				c.depth = -1
			}
		}
		c.lastOnly = !c.anyLast && strings.HasPrefix(r.Path, "/**/") && strings.Count(r.Path, "/") == 2
		dst = append(dst, c)
	}
	return dst
}

// unescapeSegment decodes the ~0 and ~1 escapes of a valid pattern segment, as segMatches
// reads them.
func unescapeSegment(s string) string {
	if strings.IndexByte(s, '~') < 0 {
		return s
	}
	return strings.NewReplacer("~1", "/", "~0", "~").Replace(s)
}

// indexOf returns the array index the pattern segment s names, as segMatches reads it (at most 9
// decimal digits, no leading zeros), or -1.
func indexOf(s string) int {
	if s == "" || len(s) > 1 && s[0] == '0' || len(s) > 9 {
		return -1
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return -1
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// match returns the first rule whose pattern matches path[:depth], or nil.
func (w *rewriter) match(depth int) *Rule {
	g := &w.path[depth-1]
	for k := range w.rules {
		r := &w.rules[k]
		if r.depth >= 0 && r.depth != depth {
			continue
		}
		// Most patterns end in a member name: compare it before walking the whole path.
		if !r.anyLast {
			if g.isIndex {
				if r.lastIndex != g.index {
					continue
				}
			} else if string(g.name) != r.lastName {
				continue
			}
		}
		if r.lastOnly || matchPath(r.rule.Path, w.path[:depth]) {
			return &r.rule
		}
	}
	return nil
}
