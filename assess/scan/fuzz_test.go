package scan

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzScanLine feeds arbitrary lines to the line-level parsers: assignments,
// secret and key detection, excerpts and timestamps. None may panic, spans
// must lie in the line, and an excerpt must be short, printable and free of
// the secret it reports.
func FuzzScanLine(f *testing.F) {
	// Seeds are templates: SECRET, KEYHEX and BODY are filled in here, so
	// that no real-looking secret is written in this file.
	fill := strings.NewReplacer("SECRET", "k9f3"+"a0c2e1b7Qz", "KEYHEX", strings.Repeat("0123456789abcdef", 4),
		"BODY", strings.Repeat("MIGHAgEAMBMGByqGSM49", 3))
	for _, s := range []string{
		"app_secret: SECRET",
		`{"client_secret": "SECRET", "private_key": "-----BEGIN PRIVATE KEY-----\nBODY\n"}`,
		"<password>SECRET</password>",
		`<add key="AppSecret" value="SECRET"/>`,
		"sm2_private_key=0xKEYHEX",
		`secret := "SECRET" + suffix`,
		"password: ${DB_PASSWORD} secret_file: apps/x/secret",
		"2026-01-02T10:00:00+08:00 card 6200000000000000000 phone 138 1234 5678",
		`{"ts":1746088200.5,"@timestamp":"2025-05-01 08:30:00"}`,
		`10.0.0.1 - - [01/May/2025:08:30:00 +0800] "GET /?token=abc HTTP/1.1"`,
		"a:=b=>c==d<e>f</e>'g'\"h\"`i`\\",
		"\x00\xff\xfe:=\"",
	} {
		f.Add(fill.Replace(s), false)
		f.Add(fill.Replace(s), true)
	}
	f.Fuzz(func(t *testing.T, line string, code bool) {
		for _, a := range assignments(line, code) {
			if a.start < 0 || a.start > a.end || a.end > len(line) || line[a.start:a.end] != a.value {
				t.Fatalf("bad span %d:%d for %q", a.start, a.end, a.name)
			}
		}
		hs := lineHits([]string{line}, 0, code)
		spans := make([]span, len(hs))
		for k, h := range hs {
			if h.start < 0 || h.start > h.end || h.end > len(line) {
				t.Fatalf("bad hit span %d:%d", h.start, h.end)
			}
			spans[k] = span{start: h.start, end: h.end}
		}
		for k, h := range hs {
			ex := excerpt(line, spans, k)
			if utf8.RuneCountInString(ex) > excerptLen || !utf8.ValidString(ex) {
				t.Fatalf("excerpt too long or not UTF-8")
			}
			if strings.ContainsFunc(ex, func(r rune) bool { return r < ' ' }) {
				t.Fatalf("excerpt holds a control character")
			}
			value := line[h.start:h.end]
			if h.rule != rulePEM && len(value) >= minSecretLen && !strings.ContainsAny(value, "[]*") && strings.Contains(ex, value) {
				t.Fatalf("excerpt shows the %s it reports", h.rule)
			}
		}
		lineTimestamp(line)
	})
}
