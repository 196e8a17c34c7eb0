package httpsig_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/httpsig"
)

// profileInput is the request signature of bankguard's profile (CONTRACT §2).
func profileInput(label string) httpsig.Input {
	return httpsig.Input{
		Label: label,
		Components: []httpsig.Component{{Name: "@method"}, {Name: "@authority"}, {Name: "@path"},
			{Name: "@query"}, {Name: "content-digest"}},
		Params: httpsig.Params{Created: time.Unix(1700000000, 0), KeyID: "app-1-key", Nonce: "n0nce-0123456789abcdef", Alg: httpsig.AlgHMACSM3},
	}
}

var testBody = []byte(`{"amount":"100.00","currency":"CNY"}`)

// signedRequest returns a server-side request signed with s, as the gateway
// receives it.
func signedRequest(t testing.TB, s httpsig.Signer, in httpsig.Input) *http.Request {
	t.Helper()
	r := httptest.NewRequest("POST", "https://api.bank.example/v1/transfers?from=6222020000000001&dry_run=false", bytes.NewReader(testBody))
	r.Header.Set("Content-Type", "application/json")
	d, err := httpsig.ContentDigest(httpsig.DigestSM3, testBody)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Digest", d)
	if err := httpsig.SignHeader(r.Header, httpsig.NewRequestMessage(r), in, s); err != nil {
		t.Fatal(err)
	}
	return r
}

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// TestVerifyNegative tampers with a signed request in many ways and expects
// the right sentinel each time.
func TestVerifyNegative(t *testing.T) {
	signer := mustSigner(t, httpsig.AlgHMACSM3, testSecret)
	verifier := mustVerifier(t, httpsig.AlgHMACSM3, testSecret)
	tests := []struct {
		name   string
		mutate func(r *http.Request) httpsig.Verifier
		want   error
	}{
		{"untouched", func(r *http.Request) httpsig.Verifier { return verifier }, nil},
		{"method", func(r *http.Request) httpsig.Verifier { r.Method = "PUT"; return verifier }, httpsig.ErrVerification},
		{"path", func(r *http.Request) httpsig.Verifier {
			r.RequestURI = strings.Replace(r.RequestURI, "transfers", "transferz", 1)
			return verifier
		}, httpsig.ErrVerification},
		{"query", func(r *http.Request) httpsig.Verifier {
			r.RequestURI = strings.Replace(r.RequestURI, "dry_run=false", "dry_run=true", 1)
			return verifier
		}, httpsig.ErrVerification},
		{"query removed", func(r *http.Request) httpsig.Verifier {
			r.RequestURI, _, _ = strings.Cut(r.RequestURI, "?")
			return verifier
		}, httpsig.ErrVerification},
		{"authority", func(r *http.Request) httpsig.Verifier { r.Host = "evil.example"; return verifier }, httpsig.ErrVerification},
		{"authority case and default port", func(r *http.Request) httpsig.Verifier {
			r.Host = "API.bank.example:443"
			return verifier
		}, nil},
		{"digest header", func(r *http.Request) httpsig.Verifier {
			d, _ := httpsig.ContentDigest(httpsig.DigestSM3, []byte("{}"))
			r.Header.Set("Content-Digest", d)
			return verifier
		}, httpsig.ErrVerification},
		{"digest header removed", func(r *http.Request) httpsig.Verifier { r.Header.Del("Content-Digest"); return verifier }, httpsig.ErrComponent},
		{"uncovered header", func(r *http.Request) httpsig.Verifier { r.Header.Set("Content-Type", "text/plain"); return verifier }, nil},
		{"wrong key", func(r *http.Request) httpsig.Verifier {
			return mustVerifier(t, httpsig.AlgHMACSM3, []byte("0123456789abcdef0123456789abcdeX"))
		}, httpsig.ErrVerification},
		{"same key other hmac", func(r *http.Request) httpsig.Verifier {
			return mustVerifier(t, httpsig.AlgHMACSHA256, testSecret)
		}, httpsig.ErrVerification},
		{"signature value", func(r *http.Request) httpsig.Verifier {
			r.Header.Set("Signature", "sig=:"+strings.Repeat("A", 43)+"=:")
			return verifier
		}, httpsig.ErrVerification},
		{"created changed", func(r *http.Request) httpsig.Verifier {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), "created=1700000000", "created=1700000001", 1))
			return verifier
		}, httpsig.ErrVerification},
		{"component dropped", func(r *http.Request) httpsig.Verifier {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), ` "content-digest"`, "", 1))
			return verifier
		}, httpsig.ErrVerification},
		{"parameter order changed", func(r *http.Request) httpsig.Verifier {
			r.Header.Set("Signature-Input", `sig=("@method" "@authority" "@path" "@query" "content-digest");keyid="app-1-key";created=1700000000;nonce="n0nce-0123456789abcdef";alg="hmac-sm3"`)
			return verifier
		}, httpsig.ErrVerification},
		{"unknown parameter added", func(r *http.Request) httpsig.Verifier {
			r.Header.Set("Signature-Input", r.Header.Get("Signature-Input")+`;x="y"`)
			return verifier
		}, httpsig.ErrVerification},
		{"status on a request", func(r *http.Request) httpsig.Verifier {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), `"@method"`, `"@status"`, 1))
			return verifier
		}, httpsig.ErrComponent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signedRequest(t, signer, profileInput("sig"))
			v := tt.mutate(r)
			sigs, err := httpsig.ParseSignatures(r.Header)
			if err != nil {
				t.Fatal(err)
			}
			err = sigs[0].Verify(httpsig.NewRequestMessage(r), v)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}

	// The alg parameter must name the verifier's algorithm, before any crypto.
	r := signedRequest(t, signer, profileInput("sig"))
	sigs, _ := httpsig.ParseSignatures(r.Header)
	ed := mustVerifier(t, httpsig.AlgEd25519, publicKey(t, "test-key-ed25519"))
	if err := sigs[0].Verify(httpsig.NewRequestMessage(r), ed); !errors.Is(err, httpsig.ErrVerification) {
		t.Fatalf("alg mismatch: %v", err)
	}
	if err := sigs[0].Verify(httpsig.NewRequestMessage(r), nil); !errors.Is(err, httpsig.ErrInvalidKey) {
		t.Fatalf("nil verifier: %v", err)
	}
	// The body digest itself is checked by VerifyContentDigest.
	if err := httpsig.VerifyContentDigest(r.Header.Values("Content-Digest"), testBody); err != nil {
		t.Fatal(err)
	}
	if err := httpsig.VerifyContentDigest(r.Header.Values("Content-Digest"), append(testBody, ' ')); !errors.Is(err, httpsig.ErrDigestMismatch) {
		t.Fatalf("tampered body: %v", err)
	}
}

// TestParseSignaturesMalformed feeds broken Signature-Input / Signature pairs.
func TestParseSignaturesMalformed(t *testing.T) {
	const okIn = `sig=("@method");created=1`
	const okSig = `sig=:AAAA:`
	tests := []struct {
		name, in, sig string
		want          error
	}{
		{"both absent", "", "", httpsig.ErrMissing},
		{"input only", okIn, "", httpsig.ErrMalformed},
		{"signature only", "", okSig, httpsig.ErrMalformed},
		{"label mismatch", okIn, `other=:AAAA:`, httpsig.ErrMalformed},
		{"extra signature", okIn, okSig + `, other=:AAAA:`, httpsig.ErrMalformed},
		{"extra input", okIn + `, other=("@path")`, okSig, httpsig.ErrMalformed},
		{"input not a list", `sig="@method"`, okSig, httpsig.ErrMalformed},
		{"input boolean", `sig`, okSig, httpsig.ErrMalformed},
		{"signature not bytes", okIn, `sig="AAAA"`, httpsig.ErrMalformed},
		{"signature inner list", okIn, `sig=(:AAAA:)`, httpsig.ErrMalformed},
		{"component token", `sig=(@method)`, okSig, httpsig.ErrMalformed},
		{"component integer", `sig=(1)`, okSig, httpsig.ErrMalformed},
		{"component upper case", `sig=("Host")`, okSig, httpsig.ErrMalformed},
		{"unknown component param", `sig=("host";x)`, okSig, httpsig.ErrMalformed},
		{"repeated component param", `sig=("host";sf;sf)`, okSig, httpsig.ErrMalformed},
		{"duplicate component", `sig=("host" "host")`, okSig, httpsig.ErrMalformed},
		{"signature-params covered", `sig=("@signature-params")`, okSig, httpsig.ErrMalformed},
		{"created string", `sig=();created="1"`, okSig, httpsig.ErrMalformed},
		{"created decimal", `sig=();created=1.5`, okSig, httpsig.ErrMalformed},
		{"created date", `sig=();created=@1`, okSig, httpsig.ErrMalformed},
		{"expires token", `sig=();expires=never`, okSig, httpsig.ErrMalformed},
		{"keyid token", `sig=();keyid=k`, okSig, httpsig.ErrMalformed},
		{"alg integer", `sig=();alg=1`, okSig, httpsig.ErrMalformed},
		{"repeated parameter", `sig=();created=1;created=2`, okSig, httpsig.ErrMalformed},
		{"duplicate label", okIn + `, sig=("@path")`, okSig, httpsig.ErrMalformed},
		{"unterminated list", `sig=("@method"`, okSig, httpsig.ErrMalformed},
		{"unterminated string", `sig=("@method)`, okSig, httpsig.ErrMalformed},
		{"bad escape", `sig=("a\b")`, okSig, httpsig.ErrMalformed},
		{"trailing comma", okIn + `,`, okSig, httpsig.ErrMalformed},
		{"garbage", okIn + ` x`, okSig, httpsig.ErrMalformed},
		{"upper-case label", `Sig=("@method")`, `Sig=:AAAA:`, httpsig.ErrMalformed},
		{"bad base64", okIn, `sig=:A:`, httpsig.ErrMalformed},
		{"base64 bad char", okIn, `sig=:AA-A:`, httpsig.ErrMalformed},
		{"unterminated bytes", okIn, `sig=:AAAA`, httpsig.ErrMalformed},
		{"integer too long", `sig=();created=1234567890123456`, okSig, httpsig.ErrMalformed},
		{"control character", "sig=(\"a\x01\")", okSig, httpsig.ErrMalformed},
		{"items without space", `sig=("a""b")`, okSig, httpsig.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.in != "" {
				h.Set("Signature-Input", tt.in)
			}
			if tt.sig != "" {
				h.Set("Signature", tt.sig)
			}
			sigs, err := httpsig.ParseSignatures(h)
			if !errors.Is(err, tt.want) || sigs != nil {
				t.Fatalf("got %v, %v; want %v", sigs, err, tt.want)
			}
		})
	}
	// Too many components.
	h := http.Header{}
	var many []string
	for i := 0; i < 65; i++ {
		many = append(many, `"h`+strings.Repeat("x", i)+`"`)
	}
	h.Set("Signature-Input", "sig=("+strings.Join(many, " ")+")")
	h.Set("Signature", okSig)
	if _, err := httpsig.ParseSignatures(h); !errors.Is(err, httpsig.ErrMalformed) {
		t.Fatalf("65 components: %v", err)
	}
	// Too many members.
	var labels []string
	for i := 0; i < 65; i++ {
		labels = append(labels, "s"+strings.Repeat("x", i)+"=()")
	}
	h.Set("Signature-Input", strings.Join(labels, ", "))
	if _, err := httpsig.ParseSignatures(h); !errors.Is(err, httpsig.ErrMalformed) {
		t.Fatalf("65 members: %v", err)
	}
}

// TestParseSignaturesMultiple: several labels, several field lines, kept in
// the order of Signature-Input.
func TestParseSignaturesMultiple(t *testing.T) {
	h := http.Header{}
	h.Add("Signature-Input", `b=("@method");created=2`)
	h.Add("Signature-Input", `a=("@path" "@query");created=1, c=()`)
	h.Add("Signature", `c=:AQ==:, a=:AgM=:`)
	h.Add("Signature", `b=:BA==:`)
	sigs, err := httpsig.ParseSignatures(h)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, s := range sigs {
		labels = append(labels, s.Input.Label+":"+string(rune('0'+len(s.Value))))
	}
	if got := strings.Join(labels, ","); got != "b:1,a:2,c:1" {
		t.Fatalf("got %s", got)
	}
	if !sigs[1].Input.Params.Created.Equal(time.Unix(1, 0)) || len(sigs[1].Input.Components) != 2 {
		t.Fatalf("a: %+v", sigs[1].Input)
	}
}

// TestParamsRoundTrip: the "@signature-params" line reproduces the received
// parameter order, unknown parameters included, and a parsed Input signs
// and verifies as received.
func TestParamsRoundTrip(t *testing.T) {
	in := `sig=( "@status"  "signature";req;key="x" );keyid="k";foo=1.50;created=-0;bar;baz=:AQI:;qux=?0;` +
		`d=@0100;t=tok/en:x;s="q\"\\";ds=%"f%c3%bc%20";alg="ed25519";nonce="";expires=0017`
	want := `"@signature-params": ("@status" "signature";req;key="x");keyid="k";foo=1.5;created=0;bar;baz=:AQI=:;qux=?0;` +
		`d=@100;t=tok/en:x;s="q\"\\";ds=%"f%c3%bc ";alg="ed25519";nonce="";expires=17`
	h := http.Header{"Signature-Input": {in}, "Signature": {"sig=::"}}
	sigs, err := httpsig.ParseSignatures(h)
	if err != nil {
		t.Fatal(err)
	}
	p := sigs[0].Input.Params
	if p.KeyID != "k" || p.Alg != "ed25519" || p.Nonce != "" || !p.Created.Equal(time.Unix(0, 0)) || !p.Expires.Equal(time.Unix(17, 0)) {
		t.Fatalf("params %+v", p)
	}
	req := httpsig.NewRequestMessage(httptest.NewRequest("GET", "/", nil))
	req.Header.Set("Signature", `x=:AAAA:`)
	m := httpsig.NewResponseMessage(200, http.Header{}, req)
	base, err := httpsig.SignatureBase(m, sigs[0].Input)
	if err != nil {
		t.Fatal(err)
	}
	if _, last, _ := strings.Cut(string(base), "\n\"@signature-params\": "); !strings.HasSuffix(string(base), want) {
		t.Fatalf("got  %s\nwant %s", last, want)
	}

	// Changing a known parameter keeps its place.
	in2 := sigs[0].Input
	in2.Params.KeyID = "k2"
	base, _ = httpsig.SignatureBase(m, in2)
	if !strings.Contains(string(base), `("@status" "signature";req;key="x");keyid="k2";foo=1.5`) {
		t.Fatalf("edited keyid moved: %s", base)
	}
}

// TestSignHeaderMerge: SignHeader appends a new label and replaces its own.
func TestSignHeaderMerge(t *testing.T) {
	s := mustSigner(t, httpsig.AlgHMACSHA256, testSecret)
	v := mustVerifier(t, httpsig.AlgHMACSHA256, testSecret)
	r := httptest.NewRequest("GET", "/a?b=c", nil)
	r.Header.Add("Signature-Input", `proxy=("@method");created=1;keyid="p"`)
	r.Header.Add("Signature", `proxy=:AAAA:`)
	m := httpsig.NewRequestMessage(r)
	in := httpsig.Input{Label: "sig", Components: comps(t, `"@path"`, `"@query"`), Params: httpsig.Params{Created: time.Unix(5, 0)}}
	for i := 0; i < 2; i++ {
		in.Params.Nonce = strings.Repeat("n", i+16)
		if err := httpsig.SignHeader(r.Header, m, in, s); err != nil {
			t.Fatal(err)
		}
	}
	sigs, err := httpsig.ParseSignatures(r.Header)
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 2 || sigs[0].Input.Label != "proxy" || sigs[1].Input.Label != "sig" {
		t.Fatalf("signatures %+v", sigs)
	}
	if sigs[1].Input.Params.Nonce != strings.Repeat("n", 17) {
		t.Fatal("the second SignHeader did not replace the first")
	}
	if err := sigs[1].Verify(m, v); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Header.Get("Signature-Input"), `proxy=("@method");created=1;keyid="p", sig=`) {
		t.Fatalf("other member changed: %s", r.Header.Values("Signature-Input"))
	}

	// Errors: bad label, alg mismatch, malformed existing field, nil signer.
	if err := httpsig.SignHeader(r.Header, m, httpsig.Input{Label: "Bad Label"}, s); !errors.Is(err, httpsig.ErrMalformed) {
		t.Fatalf("bad label: %v", err)
	}
	if err := httpsig.SignHeader(r.Header, m, httpsig.Input{Label: "x", Params: httpsig.Params{Alg: httpsig.AlgEd25519}}, s); !errors.Is(err, httpsig.ErrUnsupportedAlg) {
		t.Fatalf("alg mismatch: %v", err)
	}
	if _, _, err := httpsig.Sign(m, httpsig.Input{Label: "x"}, nil); !errors.Is(err, httpsig.ErrInvalidKey) {
		t.Fatalf("nil signer: %v", err)
	}
	r.Header.Set("Signature", "garbage (")
	if err := httpsig.SignHeader(r.Header, m, in, s); !errors.Is(err, httpsig.ErrMalformed) {
		t.Fatalf("malformed field: %v", err)
	}
}

// TestResponseProfile signs a response as CONTRACT §3 requires (label "bank",
// sm2-sm3, ;req components) and verifies it on the client side.
func TestResponseProfile(t *testing.T) {
	priv, pub := newKey(t, httpsig.AlgSM2SM3)
	clientReq, _ := http.NewRequest("GET", "https://api.bank.example/v1/accounts?page=2", nil)
	reqMsg := httpsig.NewRequestMessage(clientReq)

	body := []byte(`{"accounts":[]}`)
	h := http.Header{}
	d, _ := httpsig.ContentDigest(httpsig.DigestSM3, body)
	h.Set("Content-Digest", d)
	in := httpsig.Input{Label: "bank",
		Components: comps(t, `"@status"`, `"content-digest"`, `"@method";req`, `"@path";req`, `"@query";req`),
		Params:     httpsig.Params{Created: time.Now(), KeyID: "bank-2024", Alg: httpsig.AlgSM2SM3}}
	if err := httpsig.SignHeader(h, httpsig.NewResponseMessage(200, h, reqMsg), in, mustSigner(t, httpsig.AlgSM2SM3, priv)); err != nil {
		t.Fatal(err)
	}
	sigs, err := httpsig.ParseSignatures(h)
	if err != nil {
		t.Fatal(err)
	}
	v := mustVerifier(t, httpsig.AlgSM2SM3, pub)
	if err := sigs[0].Verify(httpsig.NewResponseMessage(200, h, reqMsg), v); err != nil {
		t.Fatal(err)
	}
	// Another status or another request breaks it.
	if err := sigs[0].Verify(httpsig.NewResponseMessage(201, h, reqMsg), v); !errors.Is(err, httpsig.ErrVerification) {
		t.Fatalf("status: %v", err)
	}
	other, _ := http.NewRequest("GET", "https://api.bank.example/v1/accounts?page=3", nil)
	if err := sigs[0].Verify(httpsig.NewResponseMessage(200, h, httpsig.NewRequestMessage(other)), v); !errors.Is(err, httpsig.ErrVerification) {
		t.Fatalf("request: %v", err)
	}
}

// TestContentDigest uses RFC 9530's examples and the test messages of RFC 9421.
func TestContentDigest(t *testing.T) {
	hello, helloLF := []byte(`{"hello": "world"}`), []byte("{\"hello\": \"world\"}\n")
	for _, tt := range []struct {
		alg  string
		body []byte
		want string
	}{
		// RFC 9530 Appendix D (sha-256 of {"hello": "world"}).
		{httpsig.DigestSHA256, hello, "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"},
		// RFC 9530 §2 and Appendix B.1 ({"hello": "world"} followed by LF).
		{httpsig.DigestSHA512, helloLF, "sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCsyRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:"},
		{httpsig.DigestSHA256, helloLF, "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:"},
		// RFC 9530 Appendix B.2 (empty content).
		{httpsig.DigestSHA256, nil, "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"},
		// RFC 9421 Appendix B.2, test-request and test-response.
		{httpsig.DigestSHA512, hello, "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"},
		{httpsig.DigestSHA512, []byte(`{"message": "good dog"}`), "sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:"},
		// GB/T 32905 "abc".
		{httpsig.DigestSM3, []byte("abc"), "sm3=:Zsfw9GLu7dnR8tRr3BDk4kFnxIdc8veiKX2gK49LqOA=:"},
	} {
		got, err := httpsig.ContentDigest(tt.alg, tt.body)
		if err != nil || got != tt.want {
			t.Errorf("ContentDigest(%s) = %s, %v; want %s", tt.alg, got, err, tt.want)
		}
		if err := httpsig.VerifyContentDigest([]string{tt.want}, tt.body); err != nil {
			t.Errorf("VerifyContentDigest(%s): %v", tt.want, err)
		}
	}
	if _, err := httpsig.ContentDigest("md5", hello); !errors.Is(err, httpsig.ErrUnsupportedAlg) {
		t.Errorf("md5: %v", err)
	}

	sha256OK := "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
	sha512OK := "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
	sha256Bad := "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:"
	for _, tt := range []struct {
		name   string
		fields []string
		want   error
	}{
		{"two good", []string{sha256OK + ", " + sha512OK}, nil},
		{"two lines", []string{sha512OK, sha256OK}, nil},
		{"unknown ignored", []string{`md5=:AAAA:, unixsum=3, ` + sha256OK}, nil},
		{"unpadded", []string{strings.TrimSuffix(sha256OK, "=:") + ":"}, nil},
		{"with params", []string{sha256OK + ";x=1"}, nil},
		{"absent", nil, httpsig.ErrDigestMissing},
		{"empty", []string{""}, httpsig.ErrDigestMissing},
		{"only unknown", []string{`md5=:AAAA:, id-sha-256=:AAAA:`}, httpsig.ErrDigestMissing},
		{"mismatch", []string{sha256Bad}, httpsig.ErrDigestMismatch},
		{"one of two mismatches", []string{sha512OK + ", " + sha256Bad}, httpsig.ErrDigestMismatch},
		{"truncated", []string{"sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+Ab:"}, httpsig.ErrDigestMismatch},
		{"empty digest", []string{"sha-256=::"}, httpsig.ErrDigestMismatch},
		{"string value", []string{`sha-256="X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="`}, httpsig.ErrMalformed},
		{"boolean", []string{`sha-256`}, httpsig.ErrMalformed},
		{"bad base64", []string{"sha-256=:X:"}, httpsig.ErrMalformed},
		{"syntax", []string{"sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=: junk"}, httpsig.ErrMalformed},
		{"upper-case key", []string{"SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"}, httpsig.ErrMalformed},
		{"duplicate", []string{sha256OK, sha256Bad}, httpsig.ErrMalformed},
	} {
		if err := httpsig.VerifyContentDigest(tt.fields, hello); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}
