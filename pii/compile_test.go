package pii

import (
	"bytes"
	"errors"
	"testing"
)

// compileDocs are documents for every kind of rule of compilePolicies.
var compileDocs = append([]string{
	`{"accounts":[{"card_number":"6219999814660352367","holder_id_number":"330106197811198076","branch":"沙盒银行北京朝阳支行","holder_name":"朱宇志"},{"card_number":"6219999814660352367","holder_id_number":"330106197811198076"}]}`,
	`{"a/b":{"c~d":["13812345678",{"0":"x","1":["6219999814660352367"]}]},"x":[[["13812345678"]]]}`,
	`[{"id":1,"note":"a"},{"id":2,"note":"b"},3,"13812345678"]`,
}, fuzzDocs...)

// compilePolicies have patterns of every shape: "**" first, inside and last, "*", indexes,
// escapes.
var compilePolicies = append([]*Policy{
	nil,
	{},
	{Scan: true, Rules: []Rule{
		{Path: "/accounts/*/card_number", Kind: Card},
		{Path: "/**/holder_id_number", Action: ActionPseudonym, Kind: IDNumber},
		{Path: "/**/branch", Action: ActionKeep},
	}},
	{Scan: true, Rules: []Rule{{Path: "/a~1b/c~0d/1/**", Action: ActionDrop}, {Path: "/x/**/0", Kind: Phone}}},
	{Rules: []Rule{{Path: "/*/id"}, {Path: "/2", Action: ActionDrop}, {Path: "/**/1/*", Action: ActionPseudonym}}},
	{Scan: true, Rules: []Rule{{Path: "/**"}}},
	{Scan: true, Rules: []Rule{{Path: "/**/**/note", Action: ActionDrop}, {Path: "/*", Action: ActionKeep}}},
	{Scan: true, Rules: []Rule{{Path: "/00"}, {Path: "/3", Kind: Phone}, {Path: "/accounts/1/*", Action: ActionDrop}}},
}, fuzzPolicies...)

func TestMaskJSONCompiledIsMaskJSON(t *testing.T) {
	e := newTestEngine(t)
	for pi, p := range compilePolicies {
		c, err := p.Compile()
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range compileDocs {
			want, wantN, wantErr := e.MaskJSON([]byte(doc), p)
			got, gotN, gotErr := e.MaskJSONCompiled([]byte(doc), c)
			if !bytes.Equal(got, want) || gotN != wantN || (gotErr == nil) != (wantErr == nil) {
				t.Errorf("policy %d, %s:\n compiled %s (n=%d, %v)\n MaskJSON %s (n=%d, %v)", pi, doc, got, gotN, gotErr, want, wantN, wantErr)
			}
		}
	}
}

func TestMaskJSONCompiledNil(t *testing.T) {
	e := newTestEngine(t)
	doc := []byte(`{"phone":"13812345678"}`)
	want, _, _ := e.MaskJSON(doc, nil)
	got, n, err := e.MaskJSONCompiled(doc, nil)
	if err != nil || n != 1 || !bytes.Equal(got, want) {
		t.Fatalf("MaskJSONCompiled(nil) = %s, %d, %v; want %s", got, n, err, want)
	}
}

func TestCompileInvalidPolicy(t *testing.T) {
	for _, p := range []*Policy{
		{Rules: []Rule{{Path: "accounts"}}},
		{Rules: []Rule{{Path: "/a~2"}}},
		{Rules: []Rule{{Path: "/a", Action: "encrypt"}}},
		{Rules: []Rule{{Path: "/a", Kind: "iban"}}},
	} {
		c, err := p.Compile()
		if c != nil || !errors.Is(err, ErrPolicy) || err.Error() != p.Validate().Error() {
			t.Errorf("Compile(%v) = %v, %v; want Validate's %v", p.Rules, c, err, p.Validate())
		}
	}
}

func TestCompiledKeepsThePolicyItWasMadeOf(t *testing.T) {
	e := newTestEngine(t)
	p := &Policy{Scan: true, Rules: []Rule{{Path: "/phone", Action: ActionKeep}}}
	c, err := p.Compile()
	if err != nil {
		t.Fatal(err)
	}
	p.Rules[0].Action, p.Scan = ActionDrop, false
	doc := []byte(`{"phone":"13812345678","mobile":"13812345678"}`)
	out, n, err := e.MaskJSONCompiled(doc, c)
	if want := `{"phone":"13812345678","mobile":"138****5678"}`; err != nil || n != 1 || string(out) != want {
		t.Fatalf("MaskJSONCompiled = %s, %d, %v; want %s", out, n, err, want)
	}
}

func TestPseudonymsRemembered(t *testing.T) {
	e := newTestEngine(t)
	p := &Policy{Rules: []Rule{{Path: "/*/*", Action: ActionPseudonym}}}
	doc := `[["a","b","c","d","e","a","b","f","a"],["13812345678","138 1234 5678"]]`
	out, n, err := e.MaskJSON([]byte(doc), p)
	if err != nil || n != 11 {
		t.Fatalf("MaskJSON = %s, %d, %v", out, n, err)
	}
	psn := func(k Kind, v string) string { return `"` + e.Pseudonym(k, v) + `"` }
	want := "[[" + psn("", "a") + "," + psn("", "b") + "," + psn("", "c") + "," + psn("", "d") + "," +
		psn("", "e") + "," + psn("", "a") + "," + psn("", "b") + "," + psn("", "f") + "," + psn("", "a") +
		"],[" + psn(Phone, "13812345678") + "," + psn(Phone, "138 1234 5678") + "]]"
	if string(out) != want {
		t.Fatalf("MaskJSON:\n got %s\nwant %s", out, want)
	}
}

// TestMatchIsMatchPath checks rewriter.match, which rules patterns out by depth and last segment,
// against matchPath for every pattern and path of up to three segments of a few kinds.
func TestMatchIsMatchPath(t *testing.T) {
	segs := []string{"a", "b", "*", "**", "0", "1", "00", "10", "~0", "~1", "a~1b", ""}
	var pats []string
	var grow func(p string, n int)
	grow = func(p string, n int) {
		if p != "" {
			pats = append(pats, p)
		}
		if n == 3 {
			return
		}
		for _, s := range segs {
			grow(p+"/"+s, n+1)
		}
	}
	grow("", 0)
	steps := []seg{{name: []byte("a")}, {name: []byte("b")}, {name: []byte("~")}, {name: []byte("/")},
		{name: []byte("a/b")}, {name: []byte("")}, {name: []byte("0")}, {index: 0, isIndex: true},
		{index: 1, isIndex: true}, {index: 10, isIndex: true}}
	var paths [][]seg
	for _, x := range steps {
		paths = append(paths, []seg{x})
		for _, y := range steps {
			paths = append(paths, []seg{x, y})
			for _, z := range steps {
				paths = append(paths, []seg{x, y, z})
			}
		}
	}
	for _, pat := range pats {
		p := &Policy{Rules: []Rule{{Path: pat}}}
		if p.Validate() != nil {
			continue
		}
		w := rewriter{rules: compileRules(nil, p.Rules)}
		for _, path := range paths {
			copy(w.path[:], path)
			if got, want := w.match(len(path)) != nil, matchPath(pat, path); got != want {
				t.Fatalf("pattern %q, path %v: match %v, matchPath %v", pat, path, got, want)
			}
		}
	}
}
