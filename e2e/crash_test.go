package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bankguard/bankguard/audit"
	"github.com/bankguard/bankguard/config"
	"github.com/bankguard/bankguard/demo"
	"github.com/bankguard/bankguard/node"
	"github.com/bankguard/bankguard/profile"
	"github.com/bankguard/bankguard/sdk"
	"github.com/bankguard/bankguard/store/sqlite"
)

// childEnv makes the test binary run the demo instead of the tests.
const childEnv = "BANKGUARD_E2E_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		runChildDemo(dir)
		return
	}
	os.Exit(m.Run())
}

// runChildDemo starts the demo in dir, prints READY once it serves, and runs
// until it is killed.
func runChildDemo(dir string) {
	ctx := context.Background()
	cfgPath, err := demo.Prepare(ctx, demo.Options{Dir: dir, GatewayAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	n, err := node.Start(ctx, cfg, node.Options{Logger: quietLogger()})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	if _, err := demo.WriteProfile(dir, "https://"+n.GatewayAddr.String(), "https://"+n.AdminAddr.String(), cfg, n.Sandbox.Users()); err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Println("READY")
	select {}
}

// TestKillDuringLoadLosesNoRecord kills the gateway with SIGKILL while clients
// call it, then checks that every X-Request-Id a client received is in the
// audit log and that the log verifies.
func TestKillDuringLoadLosesNoRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: skipped with -short")
	}
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"="+dir)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "READY" {
		t.Fatalf("child: %q", line)
	}
	p, err := profile.Load(filepath.Join(dir, "demo", "profile.json"))
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var received []string
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 16 {
		app, path := "demo-a1-hmac", "/v1/products"
		if i%2 == 1 {
			app, path = "demo-a2-sm2", "/v1/accounts"
		}
		c, err := p.Client(ctx, app)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := sdk.NewRequest(ctx, "GET", p.URL(path), nil)
				if err := c.Sign(req); err != nil {
					return
				}
				resp, err := c.HTTP.Do(req)
				if err != nil {
					continue // the gateway is gone, or going
				}
				// The X-Request-Id counts as received the moment the headers are in.
				if id := resp.Header.Get("X-Request-Id"); id != "" {
					mu.Lock()
					received = append(received, id)
					mu.Unlock()
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	if err := child.Process.Kill(); err != nil { // SIGKILL: no drain, no final checkpoint
		t.Fatal(err)
	}
	child.Wait()
	stop()
	wg.Wait()
	if len(received) < 50 {
		t.Fatalf("only %d responses before the kill: the load did not run", len(received))
	}

	cfg, err := config.Load(filepath.Join(dir, demo.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.OpenAudit(context.Background(), filepath.Join(dir, node.AuditDatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, id := range received {
		found, err := st.Query(context.Background(), audit.Filter{TxnID: id, Limit: 1})
		if err != nil || len(found) != 1 {
			t.Fatalf("X-Request-Id %s was received by a client but is not in the audit log (%v)", id, err)
		}
	}
	key, err := node.LoadSigningKey(cfg, cfg.Audit.SigningKey)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := httpsigVerifier(key)
	h, _ := audit.NewHasher(cfg.Audit.Hash)
	rep, err := audit.Verify(context.Background(), st, h, audit.VerifyOptions{Keys: audit.KeySet{key.KeyID: v}, WitnessDir: cfg.Path(cfg.Audit.WitnessDir)})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("the log does not verify after the kill: %s", rep.First())
	}
	t.Logf("%d responses received before SIGKILL, all in the log; log verifies (%+v)", len(received), rep.Logs)
}
