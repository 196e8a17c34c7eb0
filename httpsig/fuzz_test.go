package httpsig

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dunglas/httpsfv"
)

// Fuzz targets for every parser of untrusted input. Seeds come from the RFC
// 9421 vectors in testdata/rfc9421; crashers found are kept in testdata/fuzz.

// rfcSeeds returns the Signature-Input and Signature values of the RFC vectors.
func rfcSeeds(f *testing.F) [][2]string {
	f.Helper()
	files, _ := filepath.Glob("testdata/rfc9421/*.headers")
	more, _ := filepath.Glob("testdata/rfc9421/*.http")
	var seeds [][2]string
	for _, name := range append(files, more...) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		var in, sig string
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Signature-Input: "); ok {
				in = v
			} else if v, ok := strings.CutPrefix(line, "Signature: "); ok {
				sig = strings.TrimSpace(v)
			}
		}
		if in != "" {
			seeds = append(seeds, [2]string{in, sig})
		}
	}
	if len(seeds) < 9 {
		f.Fatalf("only %d seeds", len(seeds))
	}
	return append(seeds,
		[2]string{`sig=("@method" "@query-param";name="a" "x";bs;req "d";key="k";sf);created=1;expires=2;nonce="n";keyid="k";alg="ed25519";tag="t";foo=1.5;bar;baz=:AQ==:;q=?0;d=@1;ds=%"%c3%bc"`, `sig=:AAAA:`},
		[2]string{`a=(), b=("@status")`, `b=:AA==:, a=::`},
		[2]string{`sig=("a";req;req)`, `sig=:A:`},
	)
}

// fuzzMessage is a response to a request, so that every component can be derived.
func fuzzMessage(headerValue, rawQuery string) *Message {
	h := http.Header{}
	for _, k := range []string{"Content-Digest", "Priority", "X-H", "Signature", "Client-Cert", "Cache-Status"} {
		h.Set(k, headerValue)
	}
	h.Add("X-H", "second line")
	req := &Message{Method: "POST", Scheme: "https", Authority: "example.com", Path: "/p", RawQuery: rawQuery, Header: h}
	return &Message{Status: 200, Header: h, Request: req}
}

func FuzzParseSignatures(f *testing.F) {
	for _, s := range rfcSeeds(f) {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, in, sig string) {
		h := http.Header{"Signature-Input": {in}, "Signature": {sig}}
		sigs, err := ParseSignatures(h)
		if err != nil {
			if sigs != nil {
				t.Fatal("signatures returned with an error")
			}
			return
		}
		for _, s := range sigs {
			if !validKey(s.Input.Label) {
				t.Fatalf("invalid label %q accepted", s.Input.Label)
			}
			// The "@signature-params" value must be a fixed point: parsing
			// it again yields the same serialization.
			p1, err := appendSignatureParams(nil, s.Input)
			if err != nil {
				t.Fatalf("serializing a parsed input: %v", err)
			}
			again, err := ParseSignatures(http.Header{"Signature-Input": {s.Input.Label + "=" + string(p1)}, "Signature": {s.Input.Label + "=::"}})
			if err != nil {
				t.Fatalf("re-parsing %q: %v", p1, err)
			}
			p2, _ := appendSignatureParams(nil, again[0].Input)
			if !bytes.Equal(p1, p2) {
				t.Fatalf("not a fixed point:\n%s\n%s", p1, p2)
			}
			// Whatever httpsfv makes of the member serializes the same way.
			d, err := httpsfv.UnmarshalDictionary([]string{s.Input.Label + "=" + string(p1)})
			if err != nil {
				t.Fatalf("httpsfv rejects our serialization %q: %v", p1, err)
			}
			m, _ := d.Get(s.Input.Label)
			if ref, err := httpsfv.Marshal(m); err == nil && ref != string(p1) && !strings.Contains(string(p1), ".") {
				t.Fatalf("serialization differs from httpsfv:\n ours %s\n ref  %s", p1, ref)
			}
			_, _ = SignatureBase(fuzzMessage("a=1", "a=b"), s.Input)
		}
	})
}

func FuzzParseComponent(f *testing.F) {
	for _, s := range []string{`"@method"`, `"@query-param";name="Pet"`, `"content-digest";sf`, `"signature";req;key="sig1"`,
		`"x";bs;tr`, `"a";key="\""`, `"@Method"`, `"a";sf=?0`, `"a";foo`, `"a" `, ` "a"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseComponent(s)
		if err != nil {
			return
		}
		// A parsed identifier serializes to something that parses back to
		// the same identifier and the same text.
		out := c.String()
		c2, err := ParseComponent(out)
		if err != nil {
			t.Fatalf("%q -> %q does not parse: %v", s, out, err)
		}
		if !c.equal(c2) || c2.String() != out {
			t.Fatalf("%q -> %q -> %q", s, out, c2.String())
		}
		// Canonical input comes back unchanged; ";sf=?1" is the one
		// non-canonical spelling a component parameter can have.
		if strings.TrimSpace(s) != out && !strings.Contains(s, "=?1") {
			t.Fatalf("%q re-serialized as %q", s, out)
		}
	})
}

func FuzzVerifyContentDigest(f *testing.F) {
	f.Add("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", []byte(`{"hello": "world"}`))
	f.Add("sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:, sha-256=:AAAA:", []byte(`{"hello": "world"}`))
	f.Add("sm3=:Zsfw9GLu7dnR8tRr3BDk4kFnxIdc8veiKX2gK49LqOA=:;x=1, md5=(1 2)", []byte("abc"))
	f.Add("sha-256", []byte{})
	f.Fuzz(func(t *testing.T, field string, body []byte) {
		err := VerifyContentDigest([]string{field}, body)
		if err == nil {
			// Accepted: some supported member exists and matches.
			ok := false
			for _, alg := range []string{DigestSHA256, DigestSHA512, DigestSM3} {
				d, _ := ContentDigest(alg, body)
				ok = ok || strings.Contains(field, strings.TrimSuffix(strings.TrimPrefix(d, alg+"=:"), "=:")[:20])
			}
			if !ok {
				t.Fatalf("accepted %q without a matching digest", field)
			}
		}
		for _, alg := range []string{DigestSHA256, DigestSHA512, DigestSM3} {
			d, _ := ContentDigest(alg, body)
			if err := VerifyContentDigest([]string{d}, body); err != nil {
				t.Fatalf("own digest %s: %v", d, err)
			}
		}
	})
}

// FuzzSignatureBase derives components from fuzzed header values and query
// strings: it must never panic, and a base it builds has exactly one line per
// component plus the "@signature-params" line, with no control characters.
func FuzzSignatureBase(f *testing.F) {
	f.Add(`sig=("content-digest" "priority";sf "priority";key="a" "x-h";bs "@query-param";name="a";req "@status" "@method";req);created=1`,
		"a=1, b=(x y);z", "a=b%20c&d=e+f")
	f.Add(`sig=("x-h" "signature";key="a" "client-cert";sf "cache-status";sf)`, "a\r\n b", "a")
	f.Add(`sig=("content-digest";req "@target-uri";req "@request-target";req "@path";req "@query";req "@authority";req "@scheme";req)`,
		"sha-256=:AAAA:", "")
	f.Fuzz(func(t *testing.T, in, headerValue, rawQuery string) {
		sigs, err := ParseSignatures(http.Header{"Signature-Input": {in}, "Signature": {"sig=::"}})
		if err != nil || len(sigs) == 0 {
			return
		}
		m := fuzzMessage(headerValue, rawQuery)
		base, err := SignatureBase(m, sigs[0].Input)
		if err != nil {
			return
		}
		lines := strings.Split(string(base), "\n")
		if len(lines) != len(sigs[0].Input.Components)+1 {
			t.Fatalf("%d lines for %d components:\n%s", len(lines), len(sigs[0].Input.Components), base)
		}
		for i, c := range sigs[0].Input.Components {
			if !strings.HasPrefix(lines[i], c.String()+": ") {
				t.Fatalf("line %d does not start with %s: %q", i, c.String(), lines[i])
			}
		}
		if !strings.HasPrefix(lines[len(lines)-1], `"@signature-params": (`) {
			t.Fatalf("last line %q", lines[len(lines)-1])
		}
		for _, b := range base {
			if b != '\n' && (b < 0x20 || b > 0x7e) {
				t.Fatalf("control or non-ascii byte %#x in base %q", b, base)
			}
		}
	})
}
