package scan

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAssignments(t *testing.T) {
	tests := []struct {
		line string
		code bool
		want []string // "name=value"
	}{
		{"app_secret: abc", false, []string{"app_secret=abc"}},
		{"  - password: 'p w'  # note", false, []string{"password=p w"}},
		{`{"a": "1", "appSecret":"two"}`, false, []string{"a=1", "appSecret=two"}},
		{"bank.api.secret=abc;def", false, []string{"bank.api.secret=abc"}},
		{"export API_KEY=abc", false, []string{"API_KEY=abc"}},
		{"<password>abc</password>", false, []string{"password=abc"}},
		{`<add key="AppSecret" value="abc"/>`, false, []string{"key=AppSecret", "AppSecret=abc"}},
		{`<property name="password" value="abc"/>`, false, []string{"name=password", "password=abc"}},
		{"url: https://a.example/x?token=abc&b=c", false, []string{"url=https://a.example/x?token=abc", "b=c"}},
		{"time: 10:00:00", false, []string{"time=10:00:00"}},
		{`secret := "abc"`, true, []string{"secret=abc"}},
		{`secret := os.Getenv("X")`, true, nil},
		{`secret = cfg.Secret`, true, nil},
		{`if password == "abc" {`, true, nil},
		{`x != "abc"; y <= "b"; z += "c"`, true, nil},
		{`body := "a" + b`, true, nil},
		{"Secret: `abc`,", true, []string{"Secret=abc"}},
		{`$password = 'abc';`, true, []string{"$password=abc"}},
		{`opts => "abc"`, true, []string{"opts=abc"}},
		{`s = "unterminated`, true, nil},
		{`json:"app_secret,omitempty"`, true, []string{"json=app_secret,omitempty"}},
		{`a: "esc\"aped"`, false, []string{`a=esc\"aped`}},
	}
	for _, tc := range tests {
		var got []string
		for _, a := range assignments(tc.line, tc.code) {
			if tc.line[a.start:a.end] != a.value {
				t.Errorf("%q: span %d:%d is not the value %q", tc.line, a.start, a.end, a.value)
			}
			got = append(got, a.name+"="+a.value)
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%q (code %v): got %q, want %q", tc.line, tc.code, got, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	secret := []string{"app_secret", "AppSecret", "APP-SECRET", "client.secret", "secret_key", "hmacKey", "api_key",
		"DB_PASSWORD", "passwd", "keyStorePassword", "access_token", "token", "secret_hex", "sm4Key"}
	notSecret := []string{"secret_file", "token_url", "secretName", "password_policy", "tokenTTL", "keyid", "public_key", "app_id"}
	private := []string{"private_key", "privKey", "priKey", "sm2_private_key", "signing_key", "d", "privateKeyBase64"}
	notPrivate := []string{"private_key_file", "public_key", "key", "id", "dd"}
	for _, n := range secret {
		if !isSecretName(n) {
			t.Errorf("%s is a secret name", n)
		}
	}
	for _, n := range notSecret {
		if isSecretName(n) {
			t.Errorf("%s is not a secret name", n)
		}
	}
	for _, n := range private {
		if !isPrivateKeyName(n) {
			t.Errorf("%s is a private key name", n)
		}
	}
	for _, n := range notPrivate {
		if isPrivateKeyName(n) {
			t.Errorf("%s is not a private key name", n)
		}
	}
}

func TestLooksSecret(t *testing.T) {
	real := []string{"k9f3a0c2e1b7Qz", "Xy7#pL2!qR9@wE4$", "dGhpcyBpcyBhIHRlc3Q0Mg", "123456789012"}
	fake := []string{"", "short", "${APP_SECRET}", "$(cat /run/secret)", "{{ .Secret }}", "<your-secret>",
		"changeme-please1", "xxxxxxxxxxxxxxxx", "sk-xxxxxxxxxxxx", "************", "your-secret-here",
		"/etc/bankguard/secret", "apps/x/secret", "secrets/app.key", "C:\\keys\\app", "file:/etc/x/y",
		"ENC(AbCdEf0123456789)", "vault:v1:AbCdEf0123456789", "sm2:v1:k:AbCdEf0123", "{cipher}AbCdEf0123456789",
		"APP_SECRET_VALUE", "aaaaaaaaaaaaaaaa", "abababababab", "os.Getenv(\"X\")", "密钥请填写在这里啊啊", "two words here",
		"https://example.org/x", "Storage.deleteToken", `a"b"c"d"e"f"g`}
	for _, v := range real {
		if !looksSecret(v) {
			t.Errorf("value %d of the real list should look like a secret", len(v))
		}
	}
	for _, v := range fake {
		if looksSecret(v) {
			t.Errorf("%q should not look like a secret", v)
		}
	}
}

func TestExcerpt(t *testing.T) {
	card := cardNumber(t)
	line := strings.Repeat("x", 300) + " secret=" + "k9abc" + " card " + card + " " + strings.Repeat("y", 300)
	start := strings.Index(line, "k9abc")
	got := excerpt(line, []span{{start: start, end: start + 5}}, 0)
	if utf8.RuneCountInString(got) > excerptLen {
		t.Errorf("excerpt has %d characters", utf8.RuneCountInString(got))
	}
	if !strings.Contains(got, "secret="+redacted) || strings.Contains(got, "k9abc") {
		t.Errorf("excerpt %q should show the redaction around the finding", got)
	}
	if strings.Contains(got, card) || !strings.HasPrefix(got, "…") || !strings.HasSuffix(got, "…") {
		t.Errorf("excerpt %q should mask the card and mark both cuts", got)
	}
	if got := excerpt("token "+strings.Repeat("a1", 20)+"\x00\xff", nil, 0); strings.Contains(got, "a1a1") || !utf8.ValidString(got) || strings.ContainsRune(got, 0) {
		t.Errorf("excerpt %q should redact long tokens and be printable", got)
	}
}
