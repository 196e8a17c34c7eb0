package pii

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"testing"
	"unicode"
	"unicode/utf8"
)

// The scan takes shortcuts for speed: findFrom skips text that cannot hold a finding, hintFor
// glances at the last word of a name, looksLikeName and appendKept have paths for common
// characters, rewriter.leaf skips values by what one pass over their bytes tells (info). None
// may change a result: each is checked here against the plain code it stands for.

// referenceTexts seed FuzzShortcuts: texts at the edges of the shortcuts.
var referenceTexts = []string{
	"", "13812345678", "1381234567", "138 1234 5678", "138-1234-5678", "138 1234-5678", "+86 138 1234 5678",
	"ab.13812345678@qq.com", "1.13812345678ab 13812345678", "1a13812345678", "x-13812345678",
	"12 13812345678", "1.5 13812345678", "1234x 13812345678", "2026-11-26T09:06:07+08:00",
	"TX202611260000000053", "a@b", "11010519491231002X", "110105 19491231 002X", "王小明", "欧阳·娜娜",
	"沙盒沪深300指数基金", "沙盒纯债债券基金", "Zhang San", "Apple Store", "㐀㐁", "\xe4\xb8", "\xe9\xbf\xbf\xe9",
	"𠀀𠀁", "鲜丰生活超市", "王 小 明", "明", "name", "holder_name", "holderName", "id_no", "card_number",
	"product_name", "HOLDER_NAME", "Holder-Name", "issuer", "a_b_c_number", "id_card_no", "x_mail",
	"621999*********2367", "6219991234567890120", "+86 180 3541 3832", "-13812345678", "1e5",
}

func FuzzShortcuts(f *testing.F) {
	for _, s := range referenceTexts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		if got, want := appendFindings(nil, s), findFromStart(s); !slices.Equal(got, want) {
			t.Fatalf("Find(%q) = %v, from the start %v", s, got, want)
		}
		if got, want := hintFor(b), hintOf(b); got != want {
			t.Fatalf("hintFor(%q) = %q, hintOf %q", s, got, want)
		}
		if got, want := looksLikeName(b), looksLikeNamePlain(b); got != want {
			t.Fatalf("looksLikeName(%q) = %v, plainly %v", s, got, want)
		}
		for _, hp := range [][3]int{{6, 4, 0}, {0, 4, 0}, {1, 1, 0}, {3, 4, 2}, {0, 1, 0}, {0, 0, 0}} {
			if got, want := appendKept(nil, b, hp[0], hp[1], hp[2]), appendKeptPlain(nil, b, hp[0], hp[1], hp[2]); string(got) != string(want) {
				t.Fatalf("appendKept(%q, %v) = %q, plainly %q", s, hp, got, want)
			}
		}
		for i := 0; i < len(s); i++ {
			r, w := decodeRune(s, i)
			if r2, w2 := utf8.DecodeRuneInString(s[i:]); r != r2 || w != w2 {
				t.Fatalf("decodeRune(%q, %d) = %q %d, utf8 %q %d", s, i, r, w, r2, w2)
			}
		}
		in := infoOf(b)
		if !in.mayChange() && (len(appendFindings(nil, b)) > 0 || looksLikeName(b) || in.digits > 0) {
			t.Fatalf("%q: info %+v says nothing can change", s, in)
		}
		if !in.mayFind() && len(appendFindings(nil, b)) > 0 {
			t.Fatalf("%q: info %+v says nothing can be found", s, in)
		}
		if !in.mayName() && looksLikeName(b) {
			t.Fatalf("%q: info %+v says it is no name", s, in)
		}
		for _, hint := range []Kind{Name, IDNumber, Phone, Card, Account, Email} {
			if k := classify(b, &in, hint); k != "" && !in.mayChange() {
				t.Fatalf("%q: classify %s as %s, info %+v says nothing can change", s, hint, k, in)
			}
		}
	})
}

func TestShortcutsOnSeeds(t *testing.T) {
	for _, s := range referenceTexts {
		if got, want := appendFindings(nil, s), findFromStart(s); !slices.Equal(got, want) {
			t.Errorf("Find(%q) = %v, from the start %v", s, got, want)
		}
		if got, want := hintFor([]byte(s)), hintOf([]byte(s)); got != want {
			t.Errorf("hintFor(%q) = %q, hintOf %q", s, got, want)
		}
		if got, want := looksLikeName(s), looksLikeNamePlain([]byte(s)); got != want {
			t.Errorf("looksLikeName(%q) = %v, plainly %v", s, got, want)
		}
	}
}

// TestHintWordList checks that hintWordList, by which hintFor rules most names out at a glance,
// has every word the outer switch of hintOf has a case for, and no other.
func TestHintWordList(t *testing.T) {
	file, err := parser.ParseFile(token.NewFileSet(), "hints.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var words []string
	for _, d := range file.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "hintOf" {
			continue
		}
		for _, st := range fn.Body.List {
			sw, ok := st.(*ast.SwitchStmt)
			if !ok {
				continue
			}
			for _, cc := range sw.Body.List {
				for _, e := range cc.(*ast.CaseClause).List {
					w, err := strconv.Unquote(e.(*ast.BasicLit).Value)
					if err != nil {
						t.Fatal(err)
					}
					words = append(words, w)
				}
			}
		}
	}
	list := hintWordList[:]
	slices.Sort(words)
	list = slices.Sorted(slices.Values(list))
	if len(words) == 0 || !slices.Equal(words, list) {
		t.Fatalf("hintOf has cases for %q, hintWordList is %q", words, list)
	}
}

// findFromStart is appendFindings without findFrom: the search from the start of s of every
// text with a digit or an '@'.
func findFromStart(s string) []Finding {
	var dst []Finding
	hasAny := false
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) || s[i] == '@' {
			hasAny = true
		}
	}
	if !hasAny {
		return nil
	}
	emails := appendEmails(nil, s)
	e := 0
	n := len(s)
	for i := 0; i < n; {
		if e < len(emails) && i >= emails[e].Start {
			dst = append(dst, emails[e])
			i = emails[e].End
			e++
			continue
		}
		if !isDigit(s[i]) {
			i++
			continue
		}
		limit := n
		if e < len(emails) {
			limit = emails[e].Start
		}
		if i > 0 && (isAlnum(s[i-1]) || s[i-1] == '.' && i > 1 && isDigit(s[i-2])) {
			for i < limit && isAlnum(s[i]) {
				i++
			}
			continue
		}
		dst, i = appendCluster(dst, s[:limit], i)
	}
	return dst
}

// looksLikeNamePlain is looksLikeName without its shortcuts.
func looksLikeNamePlain(v []byte) bool {
	han, latin, other, dots, words := 0, 0, 0, 0, 0
	prevLetter := false
	for i := 0; i < len(v); {
		r, w := utf8.DecodeRune(v[i:])
		i += w
		letter := false
		switch {
		case unicode.Is(unicode.Han, r):
			han++
		case r < 0x80 && isAlnum(byte(r)) && !isDigit(byte(r)):
			latin++
			if !prevLetter {
				words++
			}
			letter = true
		case r == '·' || r == '•' || r == '・':
			dots++
		case r == ' ' || r == '.' || r == '\'' || r == '-':
		default:
			other++
		}
		prevLetter = letter
	}
	switch {
	case other > 0 || han > 0 && latin > 0:
		return false
	case han > 0:
		return (han >= 2 && han <= 4 || dots > 0 && han <= 16) && !organizationPlain(v)
	case latin > 0:
		return words >= 2 && words <= 4 && len(v) <= 64 && !organizationPlain(v)
	}
	return false
}

// organizationPlain is organization without its shortcut.
func organizationPlain(v []byte) bool {
	for _, suf := range orgSuffixes {
		if len(v) >= len(suf) && string(v[len(v)-len(suf):]) == suf {
			return true
		}
	}
	for start := 0; start < len(v); {
		end := start
		for end < len(v) && isAlnum(v[end]) {
			end++
		}
		var lower [12]byte
		if w := end - start; w > 0 && w <= len(lower) {
			for i := range w {
				lower[i] = v[start+i] | 0x20
			}
			switch string(lower[:w]) {
			case "inc", "ltd", "llc", "co", "corp", "company", "bank", "store", "shop", "limited",
				"group", "gmbh", "plc", "market", "mall", "cafe", "restaurant", "hotel", "services",
				"technology":
				return true
			}
		}
		start = end + 1
	}
	return false
}

// appendKeptPlain is appendKept without its path for ASCII.
func appendKeptPlain(dst, v []byte, head, tail, prefix int) []byte {
	n := 0
	for i := 0; i < len(v); {
		r, w := utf8.DecodeRune(v[i:])
		if significantPlain(r, w) {
			n++
		}
		i += w
	}
	m := n - prefix
	switch {
	case m >= head+tail+3:
	case m >= tail+4:
		head = 0
	case m >= 2 && head+tail == 1:
	default:
		head, tail = 0, 0
	}
	head += prefix
	k := 0
	for i := 0; i < len(v); {
		r, w := utf8.DecodeRune(v[i:])
		if significantPlain(r, w) {
			if k >= head && k < n-tail {
				dst = append(dst, '*')
			} else {
				dst = append(dst, v[i:i+w]...)
			}
			k++
		} else {
			dst = append(dst, v[i:i+w]...)
		}
		i += w
	}
	return dst
}

// significantPlain is significant without its path for Han.
func significantPlain(r rune, w int) bool {
	if r < utf8.RuneSelf {
		return isAlnum(byte(r)) || r == '*'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == utf8.RuneError && w == 1
}
