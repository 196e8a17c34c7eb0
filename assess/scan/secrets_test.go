package scan

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/assess"
)

// TestSecretsFound plants one App_Secret-like value in each supported syntax
// and expects files.secrets to fail at its file and line without showing it.
func TestSecretsFound(t *testing.T) {
	tests := []struct {
		name, file, content string // content: %S is the secret
		line                int
	}{
		{"yaml", "config/app.yaml", "server:\n  port: 8443\nbank:\n  app_secret: %S\n", 4},
		{"yaml quoted", "config/app.yml", "client_secret: \"%S\"\n", 1},
		{"properties", "config/application.properties", "# bank API\nbank.api.appSecret=%S\n", 2},
		{"dotenv", "config/.env", "APP_ID=a1\nAPI_KEY=%S\n", 2},
		{"ini", "config/bank.ini", "[bank]\nhmac_key = %S ; rotated\n", 2},
		{"json", "config/app.json", "{\n  \"app_id\": \"a1\", \"appSecret\": \"%S\"\n}\n", 2},
		{"xml element", "config/bank.xml", "<bank>\n  <password>%S</password>\n</bank>\n", 2},
		{"xml attributes", "config/web.config", "<appSettings>\n  <add key=\"AppSecret\" value=\"%S\"/>\n</appSettings>\n", 2},
		{"toml", "config/bank.toml", "[client]\ntoken = '%S'\n", 2},
		{"shell", "config/run.sh", "#!/bin/sh\nexport SECRET_KEY=%S\n", 2},
		{"go const", "src/bank/client.go", "package bank\n\nconst appSecret = \"%S\"\n", 3},
		{"go short var", "src/main.go", "package main\n\nfunc main() {\n\tsecret := `%S`\n\t_ = secret\n}\n", 4},
		{"go struct literal", "src/cfg.go", "package x\n\nvar c = Config{\n\tPassword: \"%S\",\n}\n", 4},
		{"java", "src/Config.java", "class Config {\n  private static final String HMAC_KEY = \"%S\";\n}\n", 2},
		{"javascript", "src/client.js", "const apiKey = '%S';\n", 1},
		{"python", "src/settings.py", "DEBUG = False\nSECRET_KEY = \"%S\"\n", 2},
		{"python kwargs", "src/db.py", "conn = connect(host=\"db\", password=\"%S\")\n", 1},
		{"commented out", "config/app.yaml", "# app_secret: %S\n", 1},
		{"jdbc url", "config/db.properties", "url=jdbc:mysql://db:3306/bank?user=app&password=%S\n", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			secret := randomSecret(t)
			plant(t, dir, map[string]string{tc.file: strings.ReplaceAll(tc.content, "%S", secret)})
			o := Options{Config: filepath.Join(dir, "config"), Src: filepath.Join(dir, "src")}
			mkdirs(t, o.Config, o.Src)
			r := run(t, o, "files.secrets")
			if r.Verdict != assess.Fail {
				t.Fatalf("verdict %s (%s), want fail", r.Verdict, r.Reason)
			}
			wantFinding(t, r, ruleSecret, tc.file, tc.line)
			noLeak(t, r, secret)
			if want := "in 1 file (first: " + tc.file; !strings.Contains(r.Reason, want) || !strings.Contains(r.Reason, "3.3.4-2") {
				t.Errorf("reason %q should count the files, name the first and the item", r.Reason)
			}
			for _, f := range r.Findings {
				if !strings.Contains(f.Excerpt, redacted) {
					t.Errorf("excerpt %q does not mark the redaction", f.Excerpt)
				}
				if !slices.Equal(f.Items, []string{"3.3.4-2"}) {
					t.Errorf("items %v, want [3.3.4-2]", f.Items)
				}
			}
		})
	}
}

func mkdirs(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// cleanTree holds lookalikes that must not be flagged by any file check.
func cleanTree(t *testing.T) map[string]string {
	return map[string]string{
		"config/profile.yaml": strings.Join([]string{
			"apps:",
			"  - app_id: assessor-a1",
			"    secret_file: apps/x/secret",
			"    private_key_file: apps/a2/signing-key.pem",
			"database:",
			"  password: ${DB_PASSWORD}",
			"  password_file: /run/secrets/db",
			"token: {{ .Values.token }}",
			"api_key: <your-api-key>",
			"client_secret: changeme",
			"app_secret: xxxxxxxxxxxxxxxx",
			"hmac_key: \"************\"",
			"secret: your-secret-here",
			"secret_key: /etc/bankguard/app.secret",
			"token_url: https://auth.bank.example/oauth/token",
			"jasypt_password: ENC(" + randomHex(t, 20) + ")",
			"payment_password: sm2:v1:bank-enc-1:" + randomHex(t, 20),
			"password:",
			"trace_id: 123e4567-e89b-12d3-a456-426614174000",
			"public_key: BNr" + randomHex(t, 32),
			"sm2_key_id: bank-2026-01",
			"card: 621999******1234",
			"order_id: " + idNumber(t, true),
			"",
		}, "\n"),
		"config/app.properties": "spring.datasource.password=${DB_PASSWORD}\napp.secret=@app.secret@\ntoken.ttl=3600\n",
		"config/keys.md":        "Put the key in a file:\n\n    -----BEGIN PRIVATE KEY-----\n    ...\n    -----END PRIVATE KEY-----\n",
		"src/main.go": strings.Join([]string{
			"package main",
			"",
			"import \"os\"",
			"",
			"func main() {",
			"\tsecret := os.Getenv(\"APP_SECRET\")",
			"\tcfg.Password = os.Getenv(\"DB_PASSWORD\")",
			"\ttoken := req.Header.Get(\"Authorization\")",
			"\tconst tokenHeader = \"X-Bankguard-Token\"",
			"\tbody := `{\"payment_password\":\"` + pw + `\"}`",
			"\tCommandDeleteToken = \"Storage.deleteToken\"",
			"\t_ = password == \"\"",
			"}",
			"",
		}, "\n"),
		"src/Client.java": "String secret = System.getenv(\"APP_SECRET\");\n@Value(\"${bank.app-secret}\") String appSecret;\n",
		"src/app.js":      "const apiKey = process.env.API_KEY;\n",
	}
}

// TestSecretsClean runs both key and secret checks over lookalikes that must
// not be flagged.
func TestSecretsClean(t *testing.T) {
	dir := t.TempDir()
	plant(t, dir, cleanTree(t))
	o := Options{Config: filepath.Join(dir, "config"), Src: filepath.Join(dir, "src")}
	for _, id := range []string{"files.secrets", "files.private-keys"} {
		r := run(t, o, id)
		if r.Verdict != assess.Pass {
			for _, f := range r.Findings {
				t.Logf("%s: %s line %d: %s | %s", id, f.Path, f.Line, f.Message, f.Excerpt)
			}
			t.Errorf("%s: verdict %s (%s), want pass", id, r.Verdict, r.Reason)
		}
	}
}

// TestSecretsScope checks the verdicts that rest on what was given: nothing
// (not_tested), one of two directories (partial), the application side's
// items, and the bounds of a walk.
func TestSecretsScope(t *testing.T) {
	dir := t.TempDir()
	plant(t, dir, map[string]string{"src/a.go": "package a\n", "config/a.yaml": "a: 1\n"})
	src, config := filepath.Join(dir, "src"), filepath.Join(dir, "config")

	r := run(t, Options{}, "files.secrets")
	if r.Verdict != assess.NotTested || !strings.Contains(r.Reason, "--config and --src") {
		t.Errorf("nothing given: %s (%s), want not_tested naming both flags", r.Verdict, r.Reason)
	}
	r = run(t, Options{Src: src}, "files.secrets")
	if r.Verdict != assess.Partial || !strings.Contains(r.Reason, "--config") {
		t.Errorf("src only: %s (%s), want partial naming --config", r.Verdict, r.Reason)
	}
	r = run(t, Options{Src: src, Config: config}, "files.secrets")
	if r.Verdict != assess.Pass {
		t.Errorf("both clean: %s (%s), want pass", r.Verdict, r.Reason)
	}
	r = run(t, Options{Src: src, Config: config, maxFiles: 1}, "files.secrets")
	if r.Verdict != assess.Error || !strings.Contains(r.Reason, "Too many files") {
		t.Errorf("over the file bound: %s (%s), want error", r.Verdict, r.Reason)
	}
	for _, c := range Checks(Options{Side: SideApp}) {
		if c.ID == "files.secrets" && !slices.Equal(c.Items, []string{"9.2.2-1", "11.3.5-2"}) {
			t.Errorf("app side items %v", c.Items)
		}
	}
}

// TestSecretsSkips checks that skipped files are skipped and counted: large,
// binary, version control and vendored files, and links leading outside.
func TestSecretsSkips(t *testing.T) {
	dir := t.TempDir()
	secret := randomSecret(t)
	line := "app_secret: " + secret + "\n"
	plant(t, dir, map[string]string{
		"config/.git/config":         line,
		"config/vendor/x/app.yaml":   line,
		"config/node_modules/x.yaml": line,
		"config/blob.bin":            "\x00\x01" + line,
		"outside/app.yaml":           line,
		"config/inside/target.yaml":  "a: 1\n",
		"config/big.yaml":            strings.Repeat("# padding\n", maxFileSize/10) + line,
		"config/plain/readme.txt":    "nothing here\n",
	})
	config := filepath.Join(dir, "config")
	if err := os.Symlink(filepath.Join(dir, "outside", "app.yaml"), filepath.Join(config, "link.yaml")); err != nil {
		t.Skip("symbolic links not supported:", err)
	}
	r := run(t, Options{Config: config, Src: config}, "files.secrets")
	if r.Verdict != assess.Pass {
		t.Fatalf("verdict %s (%s), want pass", r.Verdict, r.Reason)
	}
	for _, want := range []string{"over 10 MiB", "binary", "symbolic link"} {
		if !strings.Contains(r.Reason, want) {
			t.Errorf("reason %q does not mention %q", r.Reason, want)
		}
	}
	noLeak(t, r, secret)
}

// TestSecretsLinkInside checks that a link to a file inside the tree is
// followed.
func TestSecretsLinkInside(t *testing.T) {
	dir := t.TempDir()
	secret := randomSecret(t)
	plant(t, dir, map[string]string{"config/real/app.yaml": "app_secret: " + secret + "\n"})
	config := filepath.Join(dir, "config")
	if err := os.Symlink(filepath.Join("real", "app.yaml"), filepath.Join(config, "link.yaml")); err != nil {
		t.Skip("symbolic links not supported:", err)
	}
	r := run(t, Options{Config: config, Src: config}, "files.secrets")
	wantFinding(t, r, ruleSecret, "config/link.yaml", 1)
	noLeak(t, r, secret)
}
