package catalog

import (
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// This file checks the catalog against the specification text in testdata/, parsed here
// independently of catalog.yaml: same clauses, same item numbers, same Chinese text.

const specPath = "testdata/T-PCAC-0008-2020.txt"

// specClause is a clause as read from the specification text.
type specClause struct {
	id, title, purpose string
	methods, criteria  map[int]string // raw text by item number
}

var (
	// headingRE matches a numbered heading such as "# 5.2.2安全传输" or "# 7商业…".
	headingRE = regexp.MustCompile(`^#\s*(\d+(?:\.\d+)*)\s*(\S.*)$`)
	// numberRE matches an item number at the start of a line or after a sentence or list
	// separator: "1）", "2)", "3 )" or a bare "4 " followed by text.
	numberRE = regexp.MustCompile(`(?m)(?:^|[；;。：:])[ \t]*(\d{1,2})(?:[ \t]*[)）]|[ \t]+)`)
)

// parseSpec reads the clauses of the specification: every numbered heading whose block has a
// 检测目的, with its numbered 检测方法 and 通过标准 entries.
func parseSpec(t *testing.T) []specClause {
	t.Helper()
	data, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	type heading struct {
		line      int
		id, title string
	}
	var heads []heading
	for i, l := range lines {
		if m := headingRE.FindStringSubmatch(l); m != nil {
			heads = append(heads, heading{i, m[1], m[2]})
		}
	}
	var out []specClause
	for k, h := range heads {
		end := len(lines)
		if k+1 < len(heads) {
			end = heads[k+1].line
		}
		block := strings.Join(lines[h.line+1:end], "\n")
		p := strings.Index(block, "检测目的")
		if p < 0 {
			continue
		}
		m := strings.Index(block, "检测方法")
		c := m + strings.Index(block[m:], "通过标准")
		if m < p || c < m {
			t.Fatalf("clause %s: 检测目的/检测方法/通过标准 out of order", h.id)
		}
		out = append(out, specClause{
			id: h.id, title: h.title,
			purpose:  block[p+len("检测目的") : m],
			methods:  splitNumbered(t, h.id, block[m+len("检测方法"):c]),
			criteria: splitNumbered(t, h.id, block[c+len("通过标准"):]),
		})
	}
	return out
}

// splitNumbered splits a 检测方法 or 通过标准 block at its item numbers.
func splitNumbered(t *testing.T, clause, part string) map[int]string {
	t.Helper()
	type hit struct{ n, start, textStart int }
	var hits []hit
	for _, m := range numberRE.FindAllStringSubmatchIndex(part, -1) {
		rest := part[m[1]:]
		if rest == "" || unicode.IsDigit([]rune(rest)[0]) {
			continue // "3 5" or a trailing number: not an item label
		}
		n, _ := strconv.Atoi(part[m[2]:m[3]])
		hits = append(hits, hit{n, m[2], m[1]})
	}
	out := map[int]string{}
	for i, h := range hits {
		end := len(part)
		if i+1 < len(hits) {
			end = hits[i+1].start
		}
		if _, dup := out[h.n]; dup {
			t.Fatalf("clause %s: item number %d appears twice", clause, h.n)
		}
		out[h.n] = part[h.textStart:end]
	}
	return out
}

// corrections are the character glitches of the source that the catalog corrects (doc.go).
var corrections = strings.NewReplacer(
	"和和", "和", "接□", "接口", "商业行对", "商业银行对", "数字整数", "数字证书",
	"检查业银行", "检查商业银行", "商业银行动终端", "商业银行移动终端",
	"商业银行否定期", "商业银行是否定期", "承诺承诺", "承诺", "实践处理", "事件处理",
)

// normalize reduces a text to its words: no whitespace, no punctuation, source glitches
// corrected. The catalog's cleaning may change only what normalize discards.
func normalize(s string) string {
	s = strings.Join(strings.Fields(s), "")
	s = corrections.Replace(s)
	return strings.Map(func(r rune) rune {
		if unicode.IsPunct(r) || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// Known structural irregularities of the source (see doc.go).
var (
	// criterionRenumbered: clauses whose only 通过标准 is numbered 2) instead of 1).
	criterionRenumbered = []string{"3.2.3", "3.3.1", "11.3.1"}
	// methodSplit: clause 11.3.3's unnumbered second 检测方法 block starts with this text
	// inside item 1.
	methodSplit = map[string]string{"11.3.3": "数据机密性保护："}
)

// expected applies the documented irregularities to a parsed clause and returns its items'
// method and criterion texts by number.
func (sc specClause) expected(t *testing.T) (methods, criteria map[int]string) {
	t.Helper()
	methods, criteria = maps.Clone(sc.methods), maps.Clone(sc.criteria)
	if slices.Contains(criterionRenumbered, sc.id) {
		if len(criteria) != 1 || criteria[2] == "" {
			t.Fatalf("clause %s: expected a single criterion numbered 2, got %v", sc.id, keys(criteria))
		}
		criteria = map[int]string{1: criteria[2]}
	}
	if marker, ok := methodSplit[sc.id]; ok {
		last := len(methods)
		i := strings.Index(methods[last], marker)
		if i < 0 {
			t.Fatalf("clause %s: method %d lacks %q", sc.id, last, marker)
		}
		methods[last+1] = methods[last][i:]
		methods[last] = methods[last][:i]
	}
	return methods, criteria
}

func TestCatalogMatchesSpecification(t *testing.T) {
	c := mustLoad(t)
	spec := parseSpec(t)
	var specIDs, catIDs []string
	for _, sc := range spec {
		specIDs = append(specIDs, sc.id)
	}
	for _, cl := range c.Clauses() {
		catIDs = append(catIDs, cl.ID)
	}
	if !slices.Equal(specIDs, catIDs) {
		t.Fatalf("clauses differ:\nspec    %v\ncatalog %v", specIDs, catIDs)
	}
	total := 0
	for _, sc := range spec {
		cl, _ := c.Clause(sc.id)
		methods, criteria := sc.expected(t)
		nums := keys(methods)
		if !slices.Equal(nums, keys(criteria)) {
			t.Errorf("clause %s: 检测方法 numbers %v but 通过标准 numbers %v (undocumented irregularity)",
				sc.id, nums, keys(criteria))
			continue
		}
		if want := seq(len(nums)); !slices.Equal(nums, want) {
			t.Errorf("clause %s: item numbers %v are not 1..%d", sc.id, nums, len(nums))
		}
		total += len(nums)
		if len(cl.Items) != len(nums) {
			t.Errorf("clause %s: catalog has %d items, specification %d", sc.id, len(cl.Items), len(nums))
			continue
		}
		if normalize(cl.Title) != normalize(sc.title) {
			t.Errorf("clause %s: title %q, specification %q", sc.id, cl.Title, sc.title)
		}
		if normalize(cl.Purpose) != normalize(sc.purpose) {
			t.Errorf("clause %s: purpose %q\nspecification %q", sc.id, cl.Purpose, sc.purpose)
		}
		for _, it := range cl.Items {
			if got, want := normalize(it.Method), normalize(methods[it.Number]); got != want {
				t.Errorf("item %s: method differs from the specification\ncatalog %s\nspec    %s", it.ID, got, want)
			}
			if got, want := normalize(it.Criterion), normalize(criteria[it.Number]); got != want {
				t.Errorf("item %s: criterion differs from the specification\ncatalog %s\nspec    %s", it.ID, got, want)
			}
		}
	}
	if total != len(c.Items()) {
		t.Errorf("specification has %d items, catalog %d", total, len(c.Items()))
	}
	t.Logf("specification: %d clauses, %d items", len(spec), total)
}

// TestSpecificationParser pins the parser above to what a reader sees in the source, so that
// a regression in the parser cannot hide a regression in the catalog.
func TestSpecificationParser(t *testing.T) {
	spec := parseSpec(t)
	if len(spec) != 49 {
		t.Fatalf("parsed %d clauses, want 49", len(spec))
	}
	byID := map[string]specClause{}
	for _, sc := range spec {
		byID[sc.id] = sc
	}
	tests := []struct {
		clause             string
		methods, criteria  []int
		methodHas, critHas string // text of the last method / criterion
	}{
		{"3.1", seq(7), seq(7), "异常与调试信息", "未泄露"},
		{"3.2.3", []int{1}, []int{2}, "连通有效性", "连通有效性验证机制"},
		{"3.2.4", seq(2), seq(2), "数字签名", "数字签名"},             // both on one line each
		{"4.1", seq(4), seq(4), "JR/T0071", "JR/T0071"},       // "3 检查", "# 通过标准："
		{"6.1.1", seq(3), seq(3), "检查系统交易日志", "不少于1年"},        // "通过标准：" inline
		{"7", seq(4), seq(4), "归档处理", "归档处理"},                 // clause without sub-heading
		{"11.3.3", []int{1}, seq(2), "反洗钱", "反洗钱"},            // unnumbered method block
		{"13.2", seq(3), seq(3), "历史操作日志", "登录、授权、交易"},        // last lines of the file
		{"12.1.1", seq(3), seq(3), "异常告警处理机制", "异常告警处理机制"},    // "；3）" inline
		{"5.2.1", seq(2), seq(2), "主动断开连接", "主动断开连接"},         // lettered sub-items
		{"9.2.2", seq(1), seq(1), "App_Secret", "App_Secret"}, // method and criterion on one line
	}
	for _, tt := range tests {
		sc, ok := byID[tt.clause]
		if !ok {
			t.Errorf("clause %s not parsed", tt.clause)
			continue
		}
		if !slices.Equal(keys(sc.methods), tt.methods) || !slices.Equal(keys(sc.criteria), tt.criteria) {
			t.Errorf("clause %s: methods %v criteria %v, want %v %v",
				tt.clause, keys(sc.methods), keys(sc.criteria), tt.methods, tt.criteria)
			continue
		}
		lastM := sc.methods[tt.methods[len(tt.methods)-1]]
		lastC := sc.criteria[tt.criteria[len(tt.criteria)-1]]
		if !strings.Contains(normalize(lastM), normalize(tt.methodHas)) ||
			!strings.Contains(normalize(lastC), normalize(tt.critHas)) {
			t.Errorf("clause %s: last method %q / criterion %q", tt.clause, lastM, lastC)
		}
	}
}

func keys(m map[int]string) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}
