package scan

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/bankguard/bankguard/assess"
)

// scanFileHits adds a finding for every hit of one of rules in data, the
// text of f. Each excerpt redacts every hit of its line, whatever its rule.
func scanFileHits(f *file, data []byte, fs *findings, itemsFor func(hit) []string, rules ...string) {
	if data == nil {
		return
	}
	code := codeExts[f.ext()]
	ls := lines(data)
	for i := range ls {
		hs := lineHits(ls, i, code)
		if len(hs) == 0 {
			continue
		}
		spans := make([]span, len(hs))
		for k, h := range hs {
			spans[k] = span{start: h.start, end: h.end}
		}
		for k, h := range hs {
			if !slices.Contains(rules, h.rule) {
				continue
			}
			fs.add(assess.Finding{
				Rule: h.rule, Items: itemsFor(h), Path: f.path(), Line: i + 1,
				Message: hitMessage(h), Excerpt: excerpt(ls[i], spans, k), Level: "error",
			})
		}
	}
}

// secretItems are the items a secret or key finding counts against. On the
// application side an encrypted private key breaks 9.2.2-1 (no private key
// in local configuration) but not 11.3.5-2, which asks for keys to be stored
// encrypted.
func secretItems(o Options, h hit) []string {
	items := o.items().secrets
	if !h.encrypted {
		return items
	}
	return slices.DeleteFunc(slices.Clone(items), func(id string) bool { return id == "11.3.5-2" })
}

// hitMessage says what a hit is, without its value.
func hitMessage(h hit) string {
	name := h.name
	if len(name) > maxMessageName {
		name = name[:maxMessageName] + "…"
	}
	switch h.rule {
	case ruleSecret:
		return fmt.Sprintf("%s is assigned a value that looks like a real secret, not a placeholder or a file reference.", name)
	case ruleKeyValue:
		what := "64 or more hexadecimal digits"
		if h.kind == "base64" {
			what = "a long base64 value"
		}
		return fmt.Sprintf("%s is assigned what looks like a raw private key (%s).", name, what)
	case rulePEM:
		if h.encrypted {
			return fmt.Sprintf("An encrypted PEM private key (%s) is stored here; private keys must not be kept in code or configuration even encrypted.", name)
		}
		return fmt.Sprintf("A PEM private key (%s) is stored here in plain text.", name)
	}
	return "A PKCS#12 key store, which normally holds a private key, is stored here."
}

// scanKeyFile looks for private keys in f: a PKCS#12 key store by extension
// or by its DER shape, else PEM blocks and key material in its text.
func scanKeyFile(f *file, st *stats, o Options, fs *findings) {
	itemsFor := func(h hit) []string { return secretItems(o, h) }
	if ext := f.ext(); ext == ".p12" || ext == ".pfx" {
		if f.size > 0 {
			st.read++
			fs.add(pkcs12Finding(f, itemsFor))
		}
		return
	}
	if f.size > maxFileSize {
		st.large++
		return
	}
	data, err := f.read()
	switch {
	case err != nil:
		st.unreadable++
	case isPKCS12(data):
		st.read++
		fs.add(pkcs12Finding(f, itemsFor))
	case isBinary(data):
		st.binary++
	default:
		st.read++
		scanFileHits(f, data, fs, itemsFor, rulePEM, ruleKeyValue)
	}
}

func pkcs12Finding(f *file, itemsFor func(hit) []string) assess.Finding {
	h := hit{rule: rulePKCS12}
	return assess.Finding{Rule: rulePKCS12, Items: itemsFor(h), Path: f.path(), Message: hitMessage(h), Level: "error"}
}

// pkcs12OID is the DER of the content type that opens a PKCS#12 PFX's
// authSafe: id-data or id-signedData (1.2.840.113549.1.7.1 or .2), without
// its last byte.
var pkcs12OID = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07}

// isPKCS12 reports data that starts as a PKCS#12 PFX (RFC 7292):
// SEQUENCE { INTEGER 3, SEQUENCE { OID id-data or id-signedData, … } }.
func isPKCS12(data []byte) bool {
	p, ok := derHeader(data, 0, 0x30)
	if !ok || !bytes.HasPrefix(data[p:], []byte{0x02, 0x01, 0x03}) {
		return false
	}
	p, ok = derHeader(data, p+3, 0x30)
	if !ok || !bytes.HasPrefix(data[p:], pkcs12OID) || len(data) <= p+len(pkcs12OID) {
		return false
	}
	last := data[p+len(pkcs12OID)]
	return last == 0x01 || last == 0x02
}

// derHeader checks for tag at data[p] and returns where its content starts.
// Definite lengths of up to four bytes and BER's indefinite length are read.
func derHeader(data []byte, p int, tag byte) (int, bool) {
	if p+2 > len(data) || data[p] != tag {
		return 0, false
	}
	l := data[p+1]
	switch {
	case l < 0x80 || l == 0x80:
		return p + 2, true
	case l <= 0x84:
		n := int(l & 0x7f)
		if p+2+n > len(data) {
			return 0, false
		}
		return p + 2 + n, true
	}
	return 0, false
}
