package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bankguard/bankguard/audit"
	"github.com/bankguard/bankguard/config"
	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/node"
	"github.com/bankguard/bankguard/sdk"
	"github.com/bankguard/bankguard/store/sqlite"
)

const auditUsage = `Usage:
  bankguard audit verify      [--data DIR | --config FILE] [--witness DIR] [--keys FILE|URL] [--json]
  bankguard audit export      [--data DIR | --config FILE] [--since T] [--until T] [--txn ID] [--app ID] [--api ID] [--user U] [--log L] [--format jsonl]
  bankguard audit prove       [--data DIR | --config FILE] --txn ID
  bankguard audit consistency [--data DIR | --config FILE] --log L --from N --to M
  bankguard audit check-proof --proof FILE (--keys FILE|URL [--cacert FILE] | --key PEM-FILE)
  bankguard audit archive     [--data DIR | --config FILE]
  bankguard audit verify-segment --segment FILE --keys FILE|URL [--cacert FILE]

verify exits 0 when every log verifies, 1 at the first bad record (named), 2 when it cannot run.
Times (T) are RFC 3339 (2026-11-26T00:00:00Z) or a date (2026-11-26).
`

// auditCmd runs an audit subcommand and returns the exit code.
func auditCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "bankguard audit %s: %v\n", args[0], err)
		return 2
	}
	fs := flag.NewFlagSet("audit "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./bankguard-data", "data `directory` holding bankguard.yaml")
	configPath := fs.String("config", "", "configuration `file` (instead of --data)")
	var run func(*target) (int, error)
	switch args[0] {
	case "verify":
		witness := fs.String("witness", "", "witness `directory` (default: the configured one)")
		keys := fs.String("keys", "", "audit public keys: a key document `file or URL` (default: from the configured audit key)")
		ca := fs.String("cacert", "", "CA certificate `file` to trust when --keys is a URL")
		asJSON := fs.Bool("json", false, "print the report as JSON")
		run = func(t *target) (int, error) { return auditVerify(ctx, t, *witness, *keys, *ca, *asJSON, stdout) }
	case "export":
		f := filterFlags(fs)
		format := fs.String("format", "jsonl", "output format (jsonl)")
		run = func(t *target) (int, error) {
			if *format != "jsonl" {
				return 2, fmt.Errorf("--format %q: only jsonl is supported", *format)
			}
			filter, err := f.filter()
			if err != nil {
				return 2, err
			}
			n, err := audit.Export(ctx, t.store, filter, stdout)
			fmt.Fprintf(stderr, "%d records exported\n", n)
			return 0, err
		}
	case "prove":
		txn := fs.String("txn", "", "transaction serial number (X-Request-Id)")
		run = func(t *target) (int, error) {
			if *txn == "" {
				return 2, errors.New("--txn is required")
			}
			p, err := audit.Prove(ctx, t.store, t.hasher, *txn)
			if err != nil {
				return 1, err
			}
			return 0, writeIndented(stdout, p)
		}
	case "consistency":
		log := fs.String("log", audit.LogTransaction, "log: transaction or interface")
		from := fs.Uint64("from", 0, "earlier checkpoint size")
		to := fs.Uint64("to", 0, "later checkpoint size")
		run = func(t *target) (int, error) {
			p, err := audit.ProveConsistency(ctx, t.store, t.hasher, *log, *from, *to)
			if err != nil {
				return 1, err
			}
			return 0, writeIndented(stdout, p)
		}
	case "archive":
		run = func(t *target) (int, error) {
			key, err := node.LoadSigningKey(t.cfg, t.cfg.Audit.SigningKey)
			if err != nil {
				return 2, fmt.Errorf("audit key: %w", err)
			}
			done, err := node.NewArchiver(t.cfg, t.store, t.hasher, key).Run(ctx)
			for _, d := range done {
				fmt.Fprintf(stdout, "archived log %s records %d..%d to %s\n", d.Log, d.From, d.To-1, d.File)
			}
			if err == nil && len(done) == 0 {
				fmt.Fprintln(stdout, "nothing is past its retention period")
			}
			return 0, err
		}
	case "check-proof", "verify-segment":
		return checkProofCmd(ctx, args[0], args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "bankguard audit: unknown subcommand %q\n\n%s", args[0], auditUsage)
		return 2
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	t, err := openTarget(ctx, *data, *configPath)
	if err != nil {
		return fail(err)
	}
	defer t.store.Close()
	code, err := run(t)
	if err != nil {
		fmt.Fprintf(stderr, "bankguard audit %s: %v\n", args[0], err)
		if code == 0 {
			code = 2
		}
	}
	return code
}

// target is an audit store with its configuration.
type target struct {
	cfg    *config.File
	store  *sqlite.AuditStore
	hasher *audit.Hasher
}

func openTarget(ctx context.Context, data, configPath string) (*target, error) {
	if configPath == "" {
		configPath = filepath.Join(data, "bankguard.yaml")
	}
	cfg, err := config.Load(configPath)
	if err != nil {
		return nil, err
	}
	h, err := audit.NewHasher(cfg.Audit.Hash)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(cfg.Path(cfg.DataDir), node.AuditDatabaseFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no audit log at %s: %w", path, err)
	}
	st, err := sqlite.OpenAudit(ctx, path)
	if err != nil {
		return nil, err
	}
	return &target{cfg: cfg, store: st, hasher: h}, nil
}

func auditVerify(ctx context.Context, t *target, witness, keysFrom, caFile string, asJSON bool, stdout io.Writer) (int, error) {
	keys, err := auditKeys(ctx, t, keysFrom, caFile)
	if err != nil {
		return 2, err
	}
	if witness == "" {
		witness = t.cfg.Path(t.cfg.Audit.WitnessDir)
	}
	start := time.Now()
	rep, err := audit.Verify(ctx, t.store, t.hasher, audit.VerifyOptions{Keys: keys, WitnessDir: witness})
	if err != nil {
		return 2, err
	}
	if asJSON {
		if err := writeIndented(stdout, rep); err != nil {
			return 2, err
		}
	} else {
		for _, l := range rep.Logs {
			state := "ok"
			if l.Problem != nil {
				state = "FAILED"
			}
			fmt.Fprintf(stdout, "log %-11s %-6s %d records checked, %d archived, %d checkpoints; signed up to %d\n",
				l.Log, state, l.Records, l.Archived, l.Checkpoints, l.Signed)
		}
		fmt.Fprintf(stdout, "verified in %s\n", time.Since(start).Round(time.Millisecond))
	}
	if p := rep.First(); p != nil {
		if !asJSON {
			fmt.Fprintf(stdout, "FIRST BAD RECORD: %s\n", p)
		}
		return 1, nil
	}
	return 0, nil
}

// auditKeys are the audit public keys: from a key document (file or URL),
// or from the configured audit key.
func auditKeys(ctx context.Context, t *target, from, caFile string) (audit.KeySet, error) {
	if from == "" {
		k, err := node.LoadSigningKey(t.cfg, t.cfg.Audit.SigningKey)
		if err != nil {
			return nil, fmt.Errorf("audit key: %w (or pass --keys with the published audit key document)", err)
		}
		v, err := httpsig.NewVerifier(k.Signer.Alg(), k.Public)
		if err != nil {
			return nil, err
		}
		return audit.KeySet{k.KeyID: v}, nil
	}
	return loadKeyDocument(ctx, from, caFile)
}

// loadKeyDocument reads a published key document from a file or an https
// URL (trusting caFile, if set, instead of the system roots).
func loadKeyDocument(ctx context.Context, from, caFile string) (audit.KeySet, error) {
	var doc []byte
	if strings.HasPrefix(from, "https://") {
		hc, err := httpsClient(caFile)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, from, nil)
		if err != nil {
			return nil, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s: %s", from, resp.Status)
		}
		if doc, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20)); err != nil {
			return nil, err
		}
	} else {
		b, err := os.ReadFile(from)
		if err != nil {
			return nil, err
		}
		doc = b
	}
	// Expired keys are kept: old checkpoints stay verifiable.
	ks, err := sdk.ParseBankKeys(doc, time.Time{})
	if err != nil {
		return nil, err
	}
	return audit.KeySet(ks), nil
}

// httpsClient trusts caFile if set, else the system roots; TLS 1.2 or later.
func httpsClient(caFile string) (*http.Client, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
		}
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}, nil
}

// checkProofCmd checks a proof or an archived segment offline, with the
// published audit key only.
func checkProofCmd(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	input := fs.String("proof", "", "proof `file` (from bankguard audit prove or consistency)")
	if sub == "verify-segment" {
		input = fs.String("segment", "", "archived segment `file`")
	}
	keysFrom := fs.String("keys", "", "the published audit key document: `file or URL`")
	ca := fs.String("cacert", "", "CA certificate `file` to trust when --keys is a URL")
	keyFile := fs.String("key", "", "the audit public key, PEM `file` (check-proof only)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "bankguard audit %s: %v\n", sub, err)
		return 2
	}
	if *input == "" || (*keysFrom == "") == (*keyFile == "") || sub == "verify-segment" && *keyFile != "" {
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	b, err := os.ReadFile(*input)
	if err != nil {
		return fail(err)
	}
	if sub == "verify-segment" {
		keys, err := loadKeyDocument(ctx, *keysFrom, *ca)
		if err != nil {
			return fail(err)
		}
		rep, err := audit.VerifySegment(bytes.NewReader(b), keys)
		if err != nil {
			fmt.Fprintf(stdout, "INVALID: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "valid: records %d..%d of log %s, signed by %s at %s\n", rep.From, rep.To-1, rep.Log,
			rep.Signed.KeyID, rep.Signed.Time.Format(time.RFC3339))
		return 0
	}
	var p audit.Proof
	if err := json.Unmarshal(b, &p); err != nil {
		return fail(fmt.Errorf("%s is not a proof: %w", *input, err))
	}
	var keys audit.KeySet
	if *keysFrom != "" {
		if keys, err = loadKeyDocument(ctx, *keysFrom, *ca); err != nil {
			return fail(err)
		}
	} else {
		pemBytes, err := os.ReadFile(*keyFile)
		if err != nil {
			return fail(err)
		}
		pub, err := httpsig.ParsePublicKeyPEM(pemBytes)
		if err != nil {
			return fail(err)
		}
		v, err := httpsig.NewVerifier(httpsig.AlgSM2SM3, pub)
		if err != nil {
			return fail(err)
		}
		keys = audit.KeySet{p.Checkpoint.KeyID: v}
	}
	what, err := p.Check(keys)
	if err != nil {
		fmt.Fprintf(stdout, "INVALID: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "valid: %s\n", what)
	return 0
}

// filterSpec holds the record filter flags.
type filterSpec struct {
	since, until, txn, app, api, user, log *string
}

func filterFlags(fs *flag.FlagSet) *filterSpec {
	return &filterSpec{
		since: fs.String("since", "", "records at or after `T`"),
		until: fs.String("until", "", "records before `T`"),
		txn:   fs.String("txn", "", "transaction serial number"),
		app:   fs.String("app", "", "App_ID"),
		api:   fs.String("api", "", "U_API_ID"),
		user:  fs.String("user", "", "user pseudonym"),
		log:   fs.String("log", "", "log: transaction or interface"),
	}
}

func (f *filterSpec) filter() (audit.Filter, error) {
	out := audit.Filter{TxnID: *f.txn, AppID: *f.app, APIID: *f.api, User: *f.user, Log: *f.log}
	var err error
	if out.Since, err = parseTime(*f.since); err != nil {
		return out, fmt.Errorf("--since: %w", err)
	}
	if out.Until, err = parseTime(*f.until); err != nil {
		return out, fmt.Errorf("--until: %w", err)
	}
	return out, nil
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}

func writeIndented(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
