package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/bankguard/bankguard/fieldcrypt"
	"github.com/bankguard/bankguard/sdk"
)

func runCmd(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsage(t *testing.T) {
	if code, _, stderr := runCmd(); code != 2 || !strings.Contains(stderr, "Usage") {
		t.Fatalf("no args: %d %q", code, stderr)
	}
	if code, _, stderr := runCmd("frobnicate"); code != 2 || !strings.Contains(stderr, "unknown command") {
		t.Fatalf("unknown command: %d %q", code, stderr)
	}
}

func TestServeRefusesConfigWithSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bankguard.yaml")
	os.WriteFile(path, []byte("data_dir: .\nbank_code: C99999\nhmac_key: 00112233445566778899aabbccddeeff\n"), 0o644)
	code, _, stderr := runCmd("serve", "--config", path)
	if code != 1 || !strings.Contains(stderr, "hmac_key holds a secret") || strings.Contains(stderr, "00112233") {
		t.Fatalf("%d %q", code, stderr)
	}
}

func TestCallWithoutProfileExplains(t *testing.T) {
	code, _, stderr := runCmd("call", "--profile", filepath.Join(t.TempDir(), "none.json"), "GET", "/v1/products")
	if code != 2 || !strings.Contains(stderr, "bankguard demo") {
		t.Fatalf("%d %q", code, stderr)
	}
}

func TestCallNeedsMethodAndURL(t *testing.T) {
	code, _, stderr := runCmd("call", "GET")
	if code != 2 || !strings.Contains(stderr, "Usage") {
		t.Fatalf("%d %q", code, stderr)
	}
}

func TestParseInterleaved(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	app := fs.String("app", "", "")
	data := fs.String("data", "", "")
	pos, err := parseInterleaved(fs, []string{"--app", "a", "POST", "/v1/transfers", "--data", "{}", "--", "-x"})
	if err != nil || *app != "a" || *data != "{}" || strings.Join(pos, " ") != "POST /v1/transfers -x" {
		t.Fatalf("pos=%q app=%q data=%q err=%v", pos, *app, *data, err)
	}
}

func TestSealFieldsSealsTheFilesFirstLine(t *testing.T) {
	priv, _ := sm2.GenerateKey(rand.Reader)
	keys := sdk.EncryptionKeys{{ID: "bank-enc-1", Key: &priv.PublicKey, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}}
	file := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(file, []byte("147258\n"), 0o600)
	out, err := sealFields([]byte(`{"amount":"1.00","big":12345678901234567890}`), []string{"/payment_password=@" + file}, keys)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	json.Unmarshal(out, &doc)
	var sealed string
	json.Unmarshal(doc["payment_password"], &sealed)
	plain, err := fieldcrypt.OpenValue(sealed, priv, "bank-enc-1")
	if err != nil || string(plain) != "147258" {
		t.Fatalf("%q %v", plain, err)
	}
	if string(doc["big"]) != "12345678901234567890" || string(doc["amount"]) != `"1.00"` {
		t.Fatalf("other fields changed: %s", out)
	}
	if _, err := sealFields(nil, []string{"/a/b=1"}, keys); err == nil {
		t.Fatal("a nested field accepted")
	}
}
