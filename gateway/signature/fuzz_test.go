package signature

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/problem"
)

// FuzzSignatureHeaders feeds arbitrary Signature-Input, Signature and
// Content-Digest values to the stage: it must never panic, never let the
// request through, and refuse with a 401.
func FuzzSignatureHeaders(f *testing.F) {
	fx := newFixture(f)
	for _, rq := range []request{
		{keyID: "hmac-k"},
		{keyID: "sm2-k", method: "POST", target: "https://bank.example/v1/transfers", body: `{"amount":"1.00"}`},
	} {
		r := fx.build(rq)
		f.Add(r.Header.Get("Signature-Input"), r.Header.Get("Signature"), r.Header.Get("Content-Digest"))
	}
	f.Add(`sig=("@method");keyid="hmac-k";created=1;nonce="aaaaaaaaaaaaaaaa"`, `sig=:AAAA:`, `sha-256=:AAAA:`)
	f.Add(`sig=("@query-param";name="a" "x";sf;key="k");created=-1`, `sig=:=:`, `sm3=:`)
	f.Add("a=(), b=(\"@status\")", "a=:YQ==:, b=:Yg==:", "")
	f.Fuzz(func(t *testing.T, sigInput, sig, digest string) {
		fx := newFixture(t)
		r := httptest.NewRequest("POST", "https://bank.example/v1/transfers?x=1", strings.NewReader(`{"amount":"1.00"}`))
		r.Header.Set("Content-Type", "application/json")
		for name, v := range map[string]string{"Signature-Input": sigInput, "Signature": sig, "Content-Digest": digest} {
			if v != "" {
				r.Header[name] = []string{v}
			}
		}
		_, called, err := fx.serve(r, apiA2)
		if called {
			t.Fatalf("fuzzed signature accepted: %q %q", sigInput, sig)
		}
		var pe *problem.Error
		if !errors.As(err, &pe) || pe.HTTPStatus() != 401 {
			t.Fatalf("refusal %v is not a 401", err)
		}
	})
}
