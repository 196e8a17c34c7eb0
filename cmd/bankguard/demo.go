package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/bankguard/bankguard/config"
	"github.com/bankguard/bankguard/demo"
	"github.com/bankguard/bankguard/node"
)

func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", "./bankguard-data", "data `directory` (created on first run, reused after)")
	addr := fs.String("addr", "127.0.0.1:8443", "gateway listen `address` (HTTPS)")
	adminAddr := fs.String("admin-addr", "127.0.0.1:9443", "admin listen `address` (HTTPS, operator client certificate)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	log, err := newLogger(stderr, "text", *logLevel)
	if err != nil {
		return err
	}
	configPath, err := demo.Prepare(ctx, demo.Options{Dir: *dir, GatewayAddr: *addr, AdminAddr: *adminAddr})
	if err != nil {
		return err
	}
	cfg, err := config.Load(configPath)
	if err != nil {
		return err
	}
	n, err := node.Start(ctx, cfg, node.Options{Logger: log})
	if err != nil {
		return err
	}
	gatewayURL := "https://" + n.GatewayAddr.String()
	adminURL := "https://" + n.AdminAddr.String()
	profilePath, err := demo.WriteProfile(filepath.Dir(configPath), gatewayURL, adminURL, cfg, n.Sandbox.Users())
	if err != nil {
		return err
	}
	banner(stdout, *dir, gatewayURL, adminURL, profilePath, strings.ToLower(n.Sandbox.Users()[0].ID))
	return n.Wait()
}

func banner(w io.Writer, dir, gatewayURL, adminURL, profilePath, user string) {
	rel := func(p string) string {
		if r, err := filepath.Rel(".", p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
		return p
	}
	profile := rel(profilePath)
	ca := filepath.Join(dir, "pki", "ca.pem")
	fmt.Fprintf(w, `
bankguard sandbox bank is running (stop with Ctrl-C).

  Gateway   %s        TLS, CA certificate %s
  Admin     %s        operator certificate %s
  Bank keys %s/.well-known/bankguard/keys
  Profile   %s

Demo applications:
`, gatewayURL, ca, adminURL, filepath.Join(dir, "pki", "admin.pem"), gatewayURL, profile)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, a := range demo.Apps {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", a.ID, a.Level, a.Alg, a.Status, a.Name)
	}
	tw.Flush()
	profileFlag := ""
	if profile != filepath.Join("bankguard-data", "demo", "profile.json") {
		profileFlag = " --profile " + profile
	}
	fmt.Fprintf(w, `
Try it in another terminal:
  go run ./cmd/bankguard call%[1]s --app demo-a1-hmac GET /v1/products
  go run ./cmd/bankguard call%[1]s --app demo-a2-sm2 --user %[5]s GET /v1/accounts   # signs in as the customer, consents
  go run ./cmd/bankguard call%[1]s --app demo-a2-ecdsa --user %[5]s GET /v1/holdings
  go run ./cmd/bankguard call%[1]s --app demo-a2-sm2 GET /v1/accounts              # refused: no user token
  curl --cacert %[2]s %[3]s/v1/products   # refused: no signature
  go run ./cmd/bankguard assess --profile %[4]s --out assessment   # T/PCAC 0008-2020 report

  The customer's own pages: %[3]s/account  (sign-in files: %[6]s)

Developer manual: docs/developer-manual.md · assessor guide: docs/assessor.md
`, profileFlag, ca, gatewayURL, profile, user, filepath.Join(dir, "demo", "users", strings.ToUpper(user)))
}
