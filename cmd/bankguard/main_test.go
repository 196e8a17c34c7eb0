package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
