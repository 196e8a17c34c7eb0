package main

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/config"
	"github.com/bankguard/bankguard/demo"
	"github.com/bankguard/bankguard/gateway/bankkeys"
	"github.com/bankguard/bankguard/node"
	"github.com/bankguard/bankguard/profile"
	"github.com/bankguard/bankguard/sdk"
)

// runDemo starts the demo in dir, makes a few calls, and returns their
// X-Request-Ids; stop stops it.
func runDemo(t *testing.T, dir string) (ids []string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfgPath, err := demo.Prepare(ctx, demo.Options{Dir: dir, GatewayAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(ctx, cfg, node.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	path, err := demo.WriteProfile(dir, "https://"+n.GatewayAddr.String(), "https://"+n.AdminAddr.String(), cfg, n.Sandbox.Users())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := profile.Load(path)
	for _, call := range [][2]string{{"demo-a1-hmac", "/v1/products"}, {"demo-a2-sm2", "/v1/reconciliation/2026-11-25"}, {"demo-a1-hmac", "/v1/accounts"}} {
		c, err := p.Client(ctx, call[0])
		if err != nil {
			t.Fatal(err)
		}
		req, _ := sdk.NewRequest(ctx, "GET", p.URL(call[1]), nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, resp.Header.Get("X-Request-Id"))
	}
	return ids, func() { cancel(); n.Wait() }
}

func TestAuditCommands(t *testing.T) {
	dir := t.TempDir()
	ids, stop := runDemo(t, dir)

	// verify passes on the live demo.
	code, stdout, stderr := runCmd("audit", "verify", "--data", dir)
	if code != 0 || !strings.Contains(stdout, "log transaction ok") {
		t.Fatalf("verify on the live demo: %d\n%s%s", code, stdout, stderr)
	}
	stop() // the final checkpoint covers every record

	// export lists every call.
	code, stdout, _ = runCmd("audit", "export", "--data", dir)
	for _, id := range ids {
		if code != 0 || !strings.Contains(stdout, id) {
			t.Fatalf("export lacks %s: %s", id, stdout)
		}
	}
	if !strings.Contains(stdout, `"error_code":"level_insufficient"`) {
		t.Fatal("the refused call's record lacks its error code")
	}

	// prove and check-proof, offline, with the public key only.
	code, proof, stderr := runCmd("audit", "prove", "--data", dir, "--txn", ids[1])
	if code != 0 {
		t.Fatalf("prove: %s", stderr)
	}
	proofFile := filepath.Join(t.TempDir(), "proof.json")
	os.WriteFile(proofFile, []byte(proof), 0o644)
	code, _, stderr = runCmd("audit", "verify", "--data", dir, "--json") // also exercises --json
	if code != 0 {
		t.Fatal(stderr)
	}
	keys := writeAuditKeyDocument(t, dir)
	code, stdout, _ = runCmd("audit", "check-proof", "--proof", proofFile, "--keys", keys)
	if code != 0 || !strings.HasPrefix(stdout, "valid:") {
		t.Fatalf("check-proof: %d %s", code, stdout)
	}
	os.WriteFile(proofFile, []byte(strings.Replace(proof, `"status": 200`, `"status": 204`, 1)), 0o644)
	if code, stdout, _ = runCmd("audit", "check-proof", "--proof", proofFile, "--keys", keys); code != 1 {
		t.Fatalf("check-proof of an edited record: %d %s", code, stdout)
	}

	// verify fails on a tampered copy and names the record.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	// Turn the refused call's 403 into a 200, in place.
	var first int64
	var records []byte
	if err := db.QueryRow(`SELECT first, records FROM audit_batches WHERE instr(records, ?) > 0`, ids[2]).Scan(&first, &records); err != nil {
		t.Fatal(err)
	}
	records = bytes.Replace(records, []byte(`"status":403`), []byte(`"status":200`), 1)
	if _, err := db.Exec(`UPDATE audit_batches SET records = ? WHERE first = ? AND instr(records, ?) > 0`, records, first, ids[2]); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, stdout, _ = runCmd("audit", "verify", "--data", dir)
	if code != 1 || !strings.Contains(stdout, "FIRST BAD RECORD") || !strings.Contains(stdout, ids[2]) {
		t.Fatalf("verify of a tampered log: %d\n%s", code, stdout)
	}
}

// writeAuditKeyDocument writes the audit key document a bank publishes.
func writeAuditKeyDocument(t *testing.T, dir string) string {
	t.Helper()
	cfg, err := config.Load(filepath.Join(dir, demo.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	k, err := node.LoadSigningKey(cfg, cfg.Audit.SigningKey)
	if err != nil {
		t.Fatal(err)
	}
	set, err := bankkeysNewSet(k)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "audit-keys.json")
	os.WriteFile(path, set, 0o644)
	return path
}

func bankkeysNewSet(k bankkeys.Key) ([]byte, error) {
	s, err := bankkeys.NewSet([]bankkeys.Key{k})
	if err != nil {
		return nil, err
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	return w.Body.Bytes(), nil
}
