package authflow

import (
	"html"
	"net/url"
	"regexp"
	"strings"
)

// The bank's pages are server-rendered HTML without scripts (oauth/pages):
// what the flow needs of them is the refusal code on <main data-error>,
// the forms, their actions and their inputs. A tag scanner is enough for
// that; it reads the markup html/template writes and ignores the rest.
var (
	tagRE  = regexp.MustCompile(`(?is)<(/?)(form|input|main)\b((?:[^>"']|"[^"]*"|'[^']*')*)>`)
	attrRE = regexp.MustCompile(`(?s)([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>` + "`" + `]+)))?`)
)

// page is what the flow reads of a page.
type page struct {
	errorCode string
	forms     []form
}

// form is an HTML form: where it posts to and its inputs.
type form struct {
	action string
	inputs []input
}

// input is an <input> element.
type input struct {
	typ, name, value string
}

// parsePage reads a page. Inputs outside a form are ignored; a form left
// open ends with the page.
func parsePage(body []byte) *page {
	p := &page{}
	var cur *form
	for _, m := range tagRE.FindAllSubmatch(body, -1) {
		closing, name, attrs := len(m[1]) > 0, strings.ToLower(string(m[2])), parseAttrs(string(m[3]))
		switch {
		case name == "main" && !closing && p.errorCode == "":
			p.errorCode = clip(attrs["data-error"], 64)
		case name == "form" && closing:
			cur = nil
		case name == "form":
			p.forms = append(p.forms, form{action: attrs["action"]})
			cur = &p.forms[len(p.forms)-1]
		case name == "input" && cur != nil && !closing:
			cur.inputs = append(cur.inputs, input{typ: strings.ToLower(attrs["type"]), name: attrs["name"], value: attrs["value"]})
		}
	}
	return p
}

// parseAttrs returns a tag's attributes, names lower-cased, values
// unescaped; the first of a repeated attribute wins, as in HTML.
func parseAttrs(s string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRE.FindAllStringSubmatch(s, -1) {
		name := strings.ToLower(m[1])
		if _, seen := out[name]; seen {
			continue
		}
		out[name] = html.UnescapeString(m[2] + m[3] + m[4])
	}
	return out
}

// formFor returns the first form that posts to path, or nil.
func (p *page) formFor(path string) *form {
	for i := range p.forms {
		if u, err := url.Parse(p.forms[i].action); err == nil && u.Path == path {
			return &p.forms[i]
		}
	}
	return nil
}

// hidden returns the form's hidden fields (its CSRF token).
func (f *form) hidden() url.Values {
	v := url.Values{}
	for _, in := range f.inputs {
		if in.typ == "hidden" && in.name != "" {
			v.Add(in.name, in.value)
		}
	}
	return v
}

// values returns the values of the form's inputs named name (the
// checkboxes of the accounts the consent page offers).
func (f *form) values(name string) []string {
	var out []string
	for _, in := range f.inputs {
		if in.name == name && in.value != "" && !contains(out, in.value) {
			out = append(out, in.value)
		}
	}
	return out
}
