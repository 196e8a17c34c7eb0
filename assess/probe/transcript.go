package probe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/bankguard/bankguard/pii"
)

// maxBody bounds what a check reads of an answer.
const maxBody = 1 << 20

// maxShown bounds what a transcript shows of a body.
const maxShown = 4 << 10

// Redacted replaces a secret in evidence.
const Redacted = "[redacted]"

// secretHeaders are shown as Redacted: their values are credentials or
// signatures, which a report must not carry.
var secretHeaders = []string{"Authorization", "Cookie", "Set-Cookie", "Signature", "Proxy-Authorization", "X-Api-Key"}

// secretMembers are JSON members whose values are redacted wherever they are.
var secretMembers = []string{"password", "payment_password", "secret", "app_secret", "client_secret",
	"access_token", "refresh_token", "id_token", "token", "private_key", "otp", "totp", "code_verifier", "signature"}

func readBody(resp *http.Response) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if len(b) > maxBody {
		return b[:maxBody], fmt.Errorf("the answer's body exceeds %d bytes", maxBody)
	}
	return b, err
}

func (t *Target) requestTranscript(req *http.Request) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %s HTTP/1.1\n", req.Method, maskIdentifiers(pii.MaskText(req.URL.RequestURI())))
	fmt.Fprintf(&sb, "Host: %s\n", req.URL.Host)
	writeHeaders(&sb, req.Header)
	if req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
			b, _ := io.ReadAll(io.LimitReader(rc, maxBody))
			rc.Close()
			t.writeBody(&sb, b)
		}
	}
	return sb.String()
}

func (t *Target) responseTranscript(resp *http.Response, body []byte) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "HTTP/%d.%d %s\n", resp.ProtoMajor, resp.ProtoMinor, resp.Status)
	writeHeaders(&sb, resp.Header)
	t.writeBody(&sb, body)
	return sb.String()
}

func writeHeaders(sb *strings.Builder, h http.Header) {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range h[k] {
			if slices.ContainsFunc(secretHeaders, func(s string) bool { return strings.EqualFold(s, k) }) {
				v = Redacted
			}
			fmt.Fprintf(sb, "%s: %s\n", k, pii.MaskText(v))
		}
	}
}

// writeBody writes a body as evidence: JSON with secrets redacted and personal
// data masked, other text masked, binary data described.
func (t *Target) writeBody(sb *strings.Builder, b []byte) {
	if len(b) == 0 {
		return
	}
	sb.WriteString("\n")
	shown := t.redactBody(b)
	if len(shown) > maxShown {
		cut := maxShown
		for cut > 0 && !utf8.RuneStart(shown[cut]) {
			cut--
		}
		shown = append(shown[:cut:cut], fmt.Sprintf("\n… (%d bytes in all)", len(b))...)
	}
	sb.Write(shown)
	sb.WriteString("\n")
}

// redactBody returns b fit for a report.
func (t *Target) redactBody(b []byte) []byte {
	if !utf8.Valid(b) {
		return fmt.Appendf(nil, "(%d bytes of binary data)", len(b))
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // numbers as sent, not rounded through float64
	if dec.Decode(&doc) == nil && !dec.More() {
		redactMembers(doc)
		if clean, err := json.Marshal(doc); err == nil {
			if masked, _, err := t.pii.MaskJSONCompiled(clean, nil); err == nil {
				var out bytes.Buffer
				if json.Indent(&out, masked, "", "  ") == nil {
					return out.Bytes()
				}
				return masked
			}
		}
	}
	return []byte(pii.MaskText(string(b)))
}

func redactMembers(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, m := range v {
			if slices.Contains(secretMembers, strings.ToLower(k)) {
				v[k] = Redacted
				continue
			}
			if s, ok := m.(string); ok && strings.Contains(strings.ToLower(k), "account") {
				v[k] = maskIdentifiers(s) // account ids are not numbers the detectors know
				continue
			}
			redactMembers(m)
		}
	case []any:
		for _, m := range v {
			redactMembers(m)
		}
	}
}

// longDigits are runs of digits long enough to identify an account or a person.
var longDigits = regexp.MustCompile(`[0-9]{6,}`)

// maskIdentifiers masks every run of six or more digits but its last four,
// so that evidence keeps an account id recognisable without showing it.
func maskIdentifiers(s string) string {
	return longDigits.ReplaceAllStringFunc(s, func(d string) string {
		return strings.Repeat("*", len(d)-4) + d[len(d)-4:]
	})
}
