package catalog

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func mustLoad(t *testing.T) *Catalog {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func TestLoadCounts(t *testing.T) {
	c := mustLoad(t)
	if got := len(c.Clauses()); got != 49 {
		t.Errorf("clauses = %d, want 49", got)
	}
	if got := len(c.Items()); got != 138 {
		t.Errorf("items = %d, want 138", got)
	}
	if got := len(c.Select(Filter{Side: SideBank})); got != 95 {
		t.Errorf("bank items = %d, want 95", got)
	}
	if got := len(c.Select(Filter{Side: SideApp})); got != 43 {
		t.Errorf("app items = %d, want 43", got)
	}
	again, _ := Load()
	if again != c {
		t.Error("Load returned a different catalog on the second call")
	}
}

func TestItemsWellFormed(t *testing.T) {
	c := mustLoad(t)
	seen := map[string]bool{}
	var prev []int
	for _, cl := range c.Clauses() {
		nums, err := clauseNumbers(cl.ID)
		if err != nil {
			t.Fatalf("clause %q: %v", cl.ID, err)
		}
		if prev != nil && compareNumbers(prev, nums) >= 0 {
			t.Errorf("clause %s is out of order", cl.ID)
		}
		prev = nums
		if cl.Section != nums[0] || cl.Side != SideOf(cl.Section) {
			t.Errorf("clause %s: section %d side %q", cl.ID, cl.Section, cl.Side)
		}
		for i, it := range cl.Items {
			if seen[it.ID] {
				t.Errorf("duplicate item id %s", it.ID)
			}
			seen[it.ID] = true
			if it.Number != i+1 || it.ID != cl.ID+"-"+strconv.Itoa(i+1) {
				t.Errorf("item %s: number %d at position %d", it.ID, it.Number, i+1)
			}
			if it.Clause != cl.ID || it.Section != cl.Section || it.Side != cl.Side ||
				it.ClauseTitle != cl.Title || it.Purpose != cl.Purpose {
				t.Errorf("item %s: inherited fields differ from clause %s", it.ID, cl.ID)
			}
			for name, v := range map[string]string{"method": it.Method, "criterion": it.Criterion, "summary": it.Summary} {
				if strings.TrimSpace(v) == "" {
					t.Errorf("item %s: empty %s", it.ID, name)
				}
			}
			if len(it.Kinds) == 0 {
				t.Errorf("item %s: no kinds", it.ID)
			}
			for _, k := range it.Kinds {
				if !k.Valid() {
					t.Errorf("item %s: kind %q", it.ID, k)
				}
			}
			if strings.ContainsAny(it.Summary, "\n") || !strings.HasSuffix(it.Summary, ".") {
				t.Errorf("item %s: summary is not one sentence: %q", it.ID, it.Summary)
			}
			if got, ok := c.Item(it.ID); !ok || got != it {
				t.Errorf("Item(%q) = %v, %v", it.ID, got, ok)
			}
		}
	}
	// Items() is the concatenation of the clauses' items: specification order.
	var flat []*Item
	for _, cl := range c.Clauses() {
		flat = append(flat, cl.Items...)
	}
	if !slices.Equal(flat, c.Items()) {
		t.Error("Items() is not in clause order")
	}
	if _, ok := c.Item("99.1-1"); ok {
		t.Error("Item found an id that does not exist")
	}
}

func TestIrregularItemsHaveNotes(t *testing.T) {
	c := mustLoad(t)
	for _, id := range []string{"3.2.3-1", "3.3.1-1", "11.3.1-1", "11.3.3-2", "5.2.1-2"} {
		it, ok := c.Item(id)
		if !ok {
			t.Fatalf("item %s missing", id)
		}
		if !strings.Contains(it.Note, "Source irregularity") {
			t.Errorf("item %s: note %q does not record the irregularity", id, it.Note)
		}
	}
}

func TestKnownItems(t *testing.T) {
	c := mustLoad(t)
	tests := []struct {
		id       string
		title    string
		kind     Kind
		inMethod string
		inCrit   string
		side     string
		notKind  Kind
		clause   string
	}{
		{id: "3.1-7", title: "基本要求", kind: KindDynamic, inMethod: "异常与调试信息", inCrit: "未泄露", side: SideBank, notKind: KindFile, clause: "3.1"},
		{id: "5.2.2-3", title: "安全传输", kind: KindDynamic, inMethod: "SSL/TLS版本", inCrit: "TLS1.2及以上版本", side: SideBank, notKind: KindFile, clause: "5.2.2"},
		{id: "3.3.4-2", title: "密钥管理", kind: KindFile, inMethod: "App_Secret或私钥", inCrit: "未存储App_Secret或私钥", side: SideBank, notKind: KindDynamic, clause: "3.3.4"},
		{id: "7-3", title: "商业银行服务终止与系统下线检测", kind: KindDynamic, inMethod: "挡板", inCrit: "明示应用方服务已终止", side: SideBank, notKind: KindFile, clause: "7"},
		{id: "8.2-3", title: "应用安全责任", kind: KindManual, inMethod: "信息安全责任", inCrit: "合同或协议", side: SideBank, notKind: KindDynamic, clause: "8.2"},
		{id: "9.2.1-1", title: "安全监控", kind: KindFile, inMethod: "部分屏蔽", inCrit: "不应记录个人金融信息", side: SideApp, notKind: KindDynamic, clause: "9.2.1"},
		{id: "11.3.3-2", title: "数据安全", kind: KindManual, inMethod: "数据机密性保护：\na）", inCrit: "数据机密性保护：\na）", side: SideApp, notKind: KindDynamic, clause: "11.3.3"},
		{id: "13.2-3", title: "应用审计", kind: KindManual, inMethod: "历史操作日志", inCrit: "登录、授权、交易", side: SideApp, notKind: KindDynamic, clause: "13.2"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			it, ok := c.Item(tt.id)
			if !ok {
				t.Fatal("missing")
			}
			if it.ClauseTitle != tt.title || it.Side != tt.side || it.Clause != tt.clause {
				t.Errorf("title %q side %q clause %q", it.ClauseTitle, it.Side, it.Clause)
			}
			if !it.Has(tt.kind) || it.Has(tt.notKind) {
				t.Errorf("kinds %v: want %s, not %s", it.Kinds, tt.kind, tt.notKind)
			}
			if !strings.Contains(it.Method, tt.inMethod) {
				t.Errorf("method %q lacks %q", it.Method, tt.inMethod)
			}
			if !strings.Contains(it.Criterion, tt.inCrit) {
				t.Errorf("criterion %q lacks %q", it.Criterion, tt.inCrit)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	c := mustLoad(t)
	ids := func(items []*Item) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.ID)
		}
		return out
	}
	tests := []struct {
		name   string
		filter Filter
		want   []string // exact ids, when set
		count  int      // expected count, when want is nil
	}{
		{name: "all", filter: Filter{}, count: 138},
		{name: "exact clause", filter: Filter{Clause: "5.2.2"}, want: []string{"5.2.2-1", "5.2.2-2", "5.2.2-3"}},
		{name: "sub-section", filter: Filter{Clause: "5.2"}, want: []string{"5.2.1-1", "5.2.1-2", "5.2.2-1", "5.2.2-2", "5.2.2-3"}},
		{name: "section", filter: Filter{Clause: "5"}, count: 19},
		{name: "clause without sub-headings", filter: Filter{Clause: "7"}, want: []string{"7-1", "7-2", "7-3", "7-4"}},
		{name: "whole numbers only", filter: Filter{Clause: "1"}, want: nil, count: 0},
		{name: "section 11 not 1", filter: Filter{Clause: "11"}, count: 18},
		{name: "no such clause", filter: Filter{Clause: "5.9"}, count: 0},
		{name: "side app", filter: Filter{Side: SideApp}, count: 43},
		{name: "section and kind", filter: Filter{Clause: "5.2.2", Kind: KindDynamic}, want: []string{"5.2.2-1", "5.2.2-2", "5.2.2-3"}},
		{name: "kind file on app side", filter: Filter{Side: SideApp, Kind: KindFile, Clause: "9"}, want: []string{"9.2.1-1", "9.2.2-1"}},
		{name: "contradiction", filter: Filter{Clause: "9", Side: SideBank}, count: 0},
		{name: "manual contracts", filter: Filter{Clause: "13.1", Kind: KindManual}, want: []string{"13.1-1", "13.1-2", "13.1-3", "13.1-4", "13.1-5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Select(tt.filter)
			if tt.want != nil {
				if !slices.Equal(ids(got), tt.want) {
					t.Errorf("Select(%+v) = %v, want %v", tt.filter, ids(got), tt.want)
				}
				return
			}
			if len(got) != tt.count {
				t.Errorf("Select(%+v) returned %d items, want %d", tt.filter, len(got), tt.count)
			}
			for _, it := range got {
				if !tt.filter.Match(it) {
					t.Errorf("Select returned %s, which does not match", it.ID)
				}
			}
		})
	}
	// Every kind selects exactly the items that have it, and together they cover all items.
	covered := map[string]bool{}
	for _, k := range AllKinds() {
		for _, it := range c.Select(Filter{Kind: k}) {
			if !it.Has(k) {
				t.Errorf("kind %s selected %s with kinds %v", k, it.ID, it.Kinds)
			}
			covered[it.ID] = true
		}
	}
	if len(covered) != len(c.Items()) {
		t.Errorf("kinds cover %d items, want %d", len(covered), len(c.Items()))
	}
	// The returned slices are copies: appending to them does not change the catalog.
	items := c.Items()
	_ = append(items[:1], &Item{ID: "x"})
	if c.Items()[1].ID == "x" {
		t.Error("Items exposes the catalog's own slice")
	}
}

func TestFilterValidate(t *testing.T) {
	tests := []struct {
		name    string
		filter  Filter
		wantErr string
	}{
		{name: "zero", filter: Filter{}},
		{name: "full", filter: Filter{Clause: "5.2.2", Side: SideBank, Kind: KindFile}},
		{name: "bad side", filter: Filter{Side: "bank-side"}, wantErr: "unknown side"},
		{name: "bad kind", filter: Filter{Kind: "static"}, wantErr: "unknown kind"},
		{name: "bad clause", filter: Filter{Clause: "5.x"}, wantErr: "malformed clause id"},
		{name: "trailing dot", filter: Filter{Clause: "5."}, wantErr: "malformed clause id"},
		{name: "item id is not a clause", filter: Filter{Clause: "5.2.2-3"}, wantErr: "malformed clause id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.filter.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseRefusesBadData(t *testing.T) {
	const good = `clauses:
  - id: "3.1"
    title: "基本要求"
    section: 3
    side: bank
    purpose: "验证。"
    items:
      - id: "3.1-1"
        kinds: [manual]
        summary: "Checks."
        method: "检查。"
        criterion: "通过。"
`
	if _, err := parse([]byte(good)); err != nil {
		t.Fatalf("parse(good): %v", err)
	}
	tests := []struct {
		name, from, to, wantErr string
	}{
		{"unknown field", "    side: bank\n", "    side: bank\n    level: A2\n", "decode"},
		{"wrong side", "side: bank", "side: app", `side "app"`},
		{"wrong section", "section: 3", "section: 4", "section 4"},
		{"section outside 3-13", `id: "3.1"`, `id: "2.1"`, "not a testing section"},
		{"item id mismatch", `id: "3.1-1"`, `id: "3.1-2"`, `want "3.1-1"`},
		{"empty method", `method: "检查。"`, `method: ""`, "empty method"},
		{"empty criterion", `criterion: "通过。"`, `criterion: " "`, "empty criterion"},
		{"empty summary", `summary: "Checks."`, `summary: ""`, "empty summary"},
		{"no kinds", "kinds: [manual]", "kinds: []", "no kinds"},
		{"unknown kind", "kinds: [manual]", "kinds: [static]", "unknown kind"},
		{"duplicate kind", "kinds: [manual]", "kinds: [manual, manual]", "listed twice"},
		{"kinds out of order", "kinds: [manual]", "kinds: [manual, dynamic]", "not in the order"},
		{"no clauses", good, "clauses: []\n", "no clauses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := strings.Replace(good, tt.from, tt.to, 1)
			if bad == good {
				t.Fatal("test does not change the data")
			}
			_, err := parse([]byte(bad))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("parse = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
	twice := good + strings.SplitN(good, "\n", 2)[1]
	if _, err := parse([]byte(twice)); err == nil || !strings.Contains(err.Error(), "out of specification order") {
		t.Errorf("parse(duplicate clause) = %v", err)
	}
}
