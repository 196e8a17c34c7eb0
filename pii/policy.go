package pii

import (
	"errors"
	"fmt"
	"strings"
)

// Action is what a Rule does to the values it matches.
type Action string

// The actions of a Rule.
const (
	// ActionMask replaces the value by Mask of its kind; the default.
	ActionMask Action = "mask"
	// ActionPseudonym replaces the value by Engine.Pseudonym of its kind: stable, so an
	// application can still tell two customers apart, and irreversible without the key.
	ActionPseudonym Action = "pseudonym"
	// ActionDrop removes the member from its object, or the element from its array.
	ActionDrop Action = "drop"
	// ActionKeep passes the value unchanged, and keeps the scan away from it.
	ActionKeep Action = "keep"
)

// Rule says what happens to the values at the JSON paths a pattern matches. Rules live with
// the API, in its OpenAPI x-bankguard block (T/PCAC 0008-2020 3.2.5).
type Rule struct {
	// Path is a JSON pointer pattern (RFC 6901, with ~0 and ~1 escapes): "/accounts/*/card_number".
	// A segment "*" matches any one member name or array index, and "**" any number of
	// segments, none included: "/**/holder_name" matches holder_name at any depth. Patterns never
	// match the document itself, only what is inside it.
	Path string `json:"path" yaml:"path"`
	// Kind selects the masking format and the pseudonym domain; "" decides by member-name hint
	// and detector, and masks every character when neither tells.
	Kind Kind `json:"kind,omitempty" yaml:"kind,omitempty"`
	// Action is what to do; "" means ActionMask.
	Action Action `json:"action,omitempty" yaml:"action,omitempty"`
}

// Policy is how MaskJSON rewrites one kind of document.
//
// The first rule whose Path matches a value decides what happens to it. A rule that matches an
// object or an array applies to everything inside it: mask and pseudonym to every string and
// number, keep to all of it, drop removes it whole.
type Policy struct {
	// Rules are tried in order.
	Rules []Rule `json:"rules,omitempty" yaml:"rules,omitempty"`
	// Scan checks every string and integer no rule matched, by member-name hint and by the
	// detectors of Find:
	//
	//   - a member named like a person's name (name, holder_name, counterparty_name, *_name but
	//     product_name, bank_name, …) whose value looks like one (2–4 Chinese characters, two to
	//     four Latin words, not a business) is masked as Name;
	//   - id_number, id_no, id_card, certificate_no, *_id_number, … with digits: IDNumber;
	//   - phone, mobile, *_phone, … with 7 or more digits: Phone;
	//   - card_number, card_no, *_card_no, … of digits: Card;
	//   - account_number, account_no, acct_no, counterparty_account, *_account, … of digits:
	//     Card when it is 13–19 digits with a valid Luhn check digit, else Account;
	//   - email, *_email, … that is an e-mail address: Email;
	//   - anything else goes through MaskText, so a card in a memo ("转账给6222…") is masked
	//     inside it, and a value that is a card, ID or phone number whole is masked whole.
	//
	// Integers are checked like strings (JSON numbers can carry card numbers), other numbers by
	// MaskText alone; a masked number becomes a string. Member names go through MaskText too
	// (a map keyed by card number). Hints look at the name of the member a value belongs to, or
	// the array it is in, and at nothing further up.
	Scan bool `json:"scan" yaml:"scan"`
}

// Errors of MaskJSON. Each is wrapped with detail; test with errors.Is.
var (
	// ErrInvalidJSON means the document is not JSON.
	ErrInvalidJSON = errors.New("pii: invalid json")
	// ErrTooDeep means the document nests objects and arrays deeper than MaxDepth.
	ErrTooDeep = errors.New("pii: json nested too deep")
	// ErrTooLarge means the document is larger than MaxJSONBytes.
	ErrTooLarge = errors.New("pii: json document too large")
	// ErrPolicy means the Policy is not valid.
	ErrPolicy = errors.New("pii: invalid policy")
)

// Validate reports the first rule with a malformed path, an unknown action or an unknown kind.
func (p *Policy) Validate() error {
	for i, r := range p.Rules {
		if !strings.HasPrefix(r.Path, "/") {
			return fmt.Errorf("%w: rule %d: path %q must start with /", ErrPolicy, i, r.Path)
		}
		for j := 0; j < len(r.Path); j++ {
			if r.Path[j] == '~' && (j+1 == len(r.Path) || r.Path[j+1] != '0' && r.Path[j+1] != '1') {
				return fmt.Errorf("%w: rule %d: path %q has a bad ~ escape", ErrPolicy, i, r.Path)
			}
		}
		switch r.Action {
		case "", ActionMask, ActionPseudonym, ActionDrop, ActionKeep:
		default:
			return fmt.Errorf("%w: rule %d: unknown action %q", ErrPolicy, i, r.Action)
		}
		if r.Kind != "" && !r.Kind.known() {
			return fmt.Errorf("%w: rule %d: unknown kind %q", ErrPolicy, i, r.Kind)
		}
	}
	return nil
}

// seg is one step of the path to a value: a member name, or an array index when isIndex.
type seg struct {
	name    []byte
	index   int
	isIndex bool
}

// matchPath reports whether the pattern pat (valid, starting with '/') matches path.
func matchPath(pat string, path []seg) bool {
	for len(pat) > 0 {
		s := pat[1:]
		if j := strings.IndexByte(s, '/'); j >= 0 {
			s, pat = s[:j], s[j:]
		} else {
			pat = ""
		}
		if s == "**" {
			for k := 0; k <= len(path); k++ {
				if matchPath(pat, path[k:]) {
					return true
				}
			}
			return false
		}
		if len(path) == 0 || s != "*" && !segMatches(s, path[0]) {
			return false
		}
		path = path[1:]
	}
	return len(path) == 0
}

// segMatches reports whether the pattern segment s (with ~0 and ~1 escapes) names g.
func segMatches(s string, g seg) bool {
	if g.isIndex { // a decimal index without leading zeros (RFC 6901 section 4)
		if s == "" || len(s) > 1 && s[0] == '0' || len(s) > 9 {
			return false
		}
		n := 0
		for i := 0; i < len(s); i++ {
			if !isDigit(s[i]) {
				return false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n == g.index
	}
	if strings.IndexByte(s, '~') < 0 {
		return string(g.name) == s
	}
	k := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '~' && i+1 < len(s) {
			i++
			c = '~'
			if s[i] == '1' {
				c = '/'
			}
		}
		if k >= len(g.name) || g.name[k] != c {
			return false
		}
		k++
	}
	return k == len(g.name)
}
