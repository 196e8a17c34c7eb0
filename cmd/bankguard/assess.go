package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/assess/catalog"
	"github.com/bankguard/bankguard/assess/probe"
	"github.com/bankguard/bankguard/assess/report"
	"github.com/bankguard/bankguard/assess/scan"
	"github.com/bankguard/bankguard/assess/workbook"
	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/profile"
	"github.com/bankguard/bankguard/secret"
)

const assessUsage = `Usage:
  bankguard assess --profile FILE [--out DIR] [--only IDS] [--format html,json,junit,sarif]
                   [--workbook FILE] [--config DIR] [--src DIR] [--logs DIR] [--side bank|app]
                   [--sign-key FILE [--sign-keyid ID]]
        Probe the target the profile describes (and scan files if directories are given),
        merge the workbook, write the reports.
  bankguard assess files --config DIR --src DIR --logs DIR [--side bank|app] [--out DIR] [...]
        Scan configuration, source and log directories only.
  bankguard assess catalog [--clause C] [--side bank|app] [--kind dynamic|file|manual] [--json]
        List the test items of T/PCAC 0008-2020.
  bankguard assess workbook init [--out FILE] [--target NAME]
        Write the manual workbook for the assessor to fill in.
  bankguard assess keygen --out FILE
        Make an SM2 key pair for signing reports (FILE, 0600, and FILE.pub).
  bankguard assess verify-report --key PUBLIC-KEY-FILE DIR
        Check a signed report's signature and files.

assess exits 0 when no item failed, 1 when at least one failed, 2 when the run could not be done
(bad profile or workbook, target unreachable).
`

// assessCmd runs an assess subcommand and returns the exit code.
func assessCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	fail := func(err error) int {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "bankguard assess %s: %v\n", sub, err)
		return 2
	}
	switch sub {
	case "":
		return assessRun(ctx, args, true, stdout, stderr)
	case "files":
		return assessRun(ctx, args, false, stdout, stderr)
	case "catalog":
		return exit(assessCatalog(args, stdout, stderr), fail)
	case "workbook":
		return exit(assessWorkbook(args, stdout, stderr), fail)
	case "keygen":
		return exit(assessKeygen(args, stdout, stderr), fail)
	case "verify-report":
		return assessVerifyReport(args, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, assessUsage)
		return 0
	}
	fmt.Fprintf(stderr, "bankguard assess: unknown subcommand %q\n\n%s", sub, assessUsage)
	return 2
}

func exit(err error, fail func(error) int) int {
	if err != nil {
		return fail(err)
	}
	return 0
}

// runFlags are the flags of an assessment run.
type runFlags struct {
	profile, out, only, formats, workbook string
	scan                                  scan.Options
	signKey, signKeyID                    string
	concurrency                           int
	timeout                               time.Duration
}

func assessRun(ctx context.Context, args []string, dynamic bool, stdout, stderr io.Writer) int {
	name := "assess"
	if !dynamic {
		name = "assess files"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, assessUsage, "\nFlags:\n"); fs.PrintDefaults() }
	var f runFlags
	if dynamic {
		fs.StringVar(&f.profile, "profile", "", "target profile `file` (CONTRACT.md §6; `bankguard demo` writes one)")
	}
	fs.StringVar(&f.out, "out", "bankguard-assessment", "report `directory`")
	fs.StringVar(&f.only, "only", "", "comma-separated item ids, clauses or check ids to run (e.g. 5.2.2,signature.replay)")
	fs.StringVar(&f.formats, "format", "html,json,junit,sarif", "report `formats`")
	fs.StringVar(&f.workbook, "workbook", "", "filled manual workbook `file` to merge")
	fs.StringVar(&f.scan.Config, "config", "", "configuration `directory` to scan for secrets and private keys")
	fs.StringVar(&f.scan.Src, "src", "", "source `directory` to scan for secrets, private keys and components")
	fs.StringVar(&f.scan.Logs, "logs", "", "log `directory` to scan for personal data and retention")
	fs.StringVar(&f.scan.Side, "side", "bank", "whose files are scanned: bank or app")
	fs.StringVar(&f.signKey, "sign-key", "", "SM2 private key `file` (0600) to sign the reports with")
	fs.StringVar(&f.signKeyID, "sign-keyid", "assessor", "key id written into the report signature")
	fs.IntVar(&f.concurrency, "concurrency", 8, "checks run at once")
	fs.DurationVar(&f.timeout, "timeout", 20*time.Second, "time limit of each check")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bankguard %s: unexpected argument %q\n", name, fs.Arg(0))
		return 2
	}
	rep, err := assessment(ctx, f, dynamic, progress(stderr), func(msg string) { fmt.Fprintf(stderr, "bankguard %s: %s\n", name, msg) })
	if err != nil {
		fmt.Fprintf(stderr, "bankguard %s: %v\n", name, err)
		return 2
	}
	files, err := writeReports(f, rep)
	if err != nil {
		fmt.Fprintf(stderr, "bankguard %s: %v\n", name, err)
		return 2
	}
	printSummary(stdout, rep, files)
	if rep.Failed() {
		return 1
	}
	return 0
}

// assessment gathers the evidence and assembles the report.
func assessment(ctx context.Context, f runFlags, dynamic bool, onResult func(int, int, assess.Result), warn func(string)) (*assess.Report, error) {
	cat, err := catalog.Load()
	if err != nil {
		return nil, err
	}
	judgements := map[string]assess.Judgement{}
	if f.workbook != "" {
		w, err := workbook.Load(f.workbook, cat)
		if err != nil {
			return nil, err
		}
		judgements = w.Judgements()
	}
	var checks []assess.Check
	var targets []string
	scope := assess.Scope{}
	if dynamic {
		if f.profile == "" {
			return nil, errors.New("--profile is required (bankguard demo writes bankguard-data/demo/profile.json)")
		}
		p, err := profile.Load(f.profile)
		if err != nil {
			return nil, err
		}
		if err := reachable(ctx, p); err != nil {
			return nil, err
		}
		t, err := probe.NewTarget(p)
		if err != nil {
			return nil, err
		}
		// Users sign in before the checks run; a failure shows in the
		// checks that need their tokens.
		authCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		if err := t.Authorize(authCtx); err != nil {
			warn(fmt.Sprintf("a user's authorization failed; the checks that act for the user will say so: %v", err))
		}
		cancel()
		checks = append(checks, probe.Checks(t)...)
		targets = append(targets, p.Target.BaseURL)
		scope.Dynamic = true
	}
	if f.scan.Config != "" || f.scan.Src != "" || f.scan.Logs != "" || !dynamic {
		if err := f.scan.Validate(); err != nil {
			return nil, err
		}
		checks = append(checks, scan.Checks(f.scan)...)
		for _, d := range []struct{ flag, dir string }{{"config", f.scan.Config}, {"src", f.scan.Src}, {"logs", f.scan.Logs}} {
			if d.dir != "" {
				targets = append(targets, d.flag+"="+d.dir)
			}
		}
		scope.File = true
	}
	checks, scope.Items = only(checks, f.only)
	if f.only != "" && len(checks) == 0 && len(scope.Items) == 0 {
		return nil, fmt.Errorf("--only %q selects no item and no check", f.only)
	}
	started := time.Now()
	results := (&assess.Runner{Concurrency: f.concurrency, Timeout: f.timeout, Progress: onResult}).Run(ctx, checks)
	rep, err := assess.Assemble(cat, scope, results, judgements)
	if err != nil {
		return nil, err
	}
	rep.Tool, rep.Target = toolVersion(), strings.Join(targets, " ")
	rep.Started, rep.Finished = started.UTC(), time.Now().UTC()
	return rep, nil
}

// only selects the checks --only names: item ids and clauses (which start
// with a digit) select the checks that give evidence for them and restrict
// the report to them; other words are check ids.
func only(checks []assess.Check, list string) ([]assess.Check, []string) {
	if list == "" {
		return checks, nil
	}
	var items, ids []string
	for _, w := range strings.Split(list, ",") {
		if w = strings.TrimSpace(w); w == "" {
			continue
		}
		if w[0] >= '0' && w[0] <= '9' {
			items = append(items, w)
		} else {
			ids = append(ids, w)
		}
	}
	scope := assess.Scope{Items: items}
	var out []assess.Check
	for _, c := range checks {
		if slices.Contains(ids, c.ID) || len(items) > 0 && slices.ContainsFunc(c.Items, scope.InScope) {
			out = append(out, c)
			if len(items) == 0 || slices.Contains(ids, c.ID) {
				items = append(items, c.Items...)
			}
		}
	}
	return out, items
}

// reachable dials the target once, so that an unreachable target or a
// broken TLS set-up ends the run (exit 2) instead of giving a report of
// errors.
func reachable(ctx context.Context, p *profile.Profile) error {
	u, err := url.Parse(p.Target.BaseURL)
	if err != nil {
		return err
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	cfg, err := p.TLSConfig(nil)
	if err != nil {
		return err
	}
	cfg.ServerName = u.Hostname()
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return fmt.Errorf("the target %s cannot be reached over TLS: %w", p.Target.BaseURL, err)
	}
	return conn.Close()
}

func writeReports(f runFlags, rep *assess.Report) ([]string, error) {
	var formats []string
	for _, s := range strings.Split(f.formats, ",") {
		if s = strings.TrimSpace(s); s != "" {
			formats = append(formats, s)
		}
	}
	files, err := report.Write(f.out, rep, formats)
	if err != nil {
		return nil, err
	}
	if f.signKey != "" {
		signer, err := loadReportSigner(f.signKey)
		if err != nil {
			return nil, err
		}
		sig, err := report.Sign(f.out, files, f.signKeyID, signer, time.Now())
		if err != nil {
			return nil, err
		}
		files = append(files, sig)
	}
	return files, nil
}

func loadReportSigner(path string) (httpsig.Signer, error) {
	b, err := secret.ReadPrivateFile(path)
	if err != nil {
		return nil, fmt.Errorf("--sign-key: %w", err)
	}
	priv, err := httpsig.ParsePrivateKeyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("--sign-key: %w", err)
	}
	return httpsig.NewSigner(httpsig.AlgSM2SM3, priv)
}

// progress shows each check as it finishes when stderr is a terminal, and
// nothing otherwise.
func progress(w io.Writer) func(int, int, assess.Result) {
	if f, ok := w.(*os.File); !ok || !isTerminal(f) {
		return nil
	}
	return func(done, total int, r assess.Result) {
		fmt.Fprintf(w, "\r\033[K[%d/%d] %-14s %s (%s)", done, total, r.Verdict, r.Check, r.Elapsed.Round(time.Millisecond))
		if done == total {
			fmt.Fprintln(w)
		}
	}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func printSummary(w io.Writer, rep *assess.Report, files []string) {
	items := 0
	for _, n := range rep.Summary.Items {
		items += n
	}
	var parts []string
	for _, v := range assess.Verdicts {
		if n := rep.Summary.Items[v]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, v))
		}
	}
	fmt.Fprintf(w, "T/PCAC 0008-2020 assessment of %s\n", rep.Target)
	fmt.Fprintf(w, "%d items in %d clauses: %s (%d checks in %s)\n", items, len(rep.Clauses), strings.Join(parts, ", "),
		len(rep.Results), rep.Finished.Sub(rep.Started).Round(10*time.Millisecond))
	for _, c := range rep.Clauses {
		for _, it := range c.Items {
			if it.Verdict == assess.Fail || it.Verdict == assess.Error {
				fmt.Fprintf(w, "  %-6s %-9s %s\n", it.Verdict, it.ID, firstLine(it.Reason, 110))
			}
		}
	}
	for _, f := range files {
		fmt.Fprintf(w, "wrote %s\n", f)
	}
}

func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func toolVersion() string {
	v := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return "bankguard assess " + v
}

func assessCatalog(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("assess catalog", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var filter catalog.Filter
	var kind string
	fs.StringVar(&filter.Clause, "clause", "", "clause and the clauses below it (e.g. 5.2)")
	fs.StringVar(&filter.Side, "side", "", "bank or app")
	fs.StringVar(&kind, "kind", "", "dynamic, file or manual")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	filter.Kind = catalog.Kind(kind)
	if err := filter.Validate(); err != nil {
		return err
	}
	cat, err := catalog.Load()
	if err != nil {
		return err
	}
	items := cat.Select(filter)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(items)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSIDE\tKINDS\tCLAUSE\tSUMMARY")
	for _, it := range items {
		kinds := make([]string, len(it.Kinds))
		for i, k := range it.Kinds {
			kinds[i] = string(k)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", it.ID, it.Side, strings.Join(kinds, ","), it.ClauseTitle, it.Summary)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d items\n", len(items))
	return nil
}

func assessWorkbook(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "init" {
		return errors.New("usage: bankguard assess workbook init [--out FILE] [--target NAME]")
	}
	fs := flag.NewFlagSet("assess workbook init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "workbook.yaml", "workbook `file` to write (never overwritten)")
	target := fs.String("target", "", "what is assessed, for your reference")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cat, err := catalog.Load()
	if err != nil {
		return err
	}
	w := workbook.New(cat, *target)
	if err := w.Write(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d manual items to judge\n", *out, len(w.Items))
	return nil
}

func assessKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("assess keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "private key `file` to create (0600); the public key goes to FILE.pub")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	privPEM, err := httpsig.MarshalPrivateKeyPEM(priv)
	if err != nil {
		return err
	}
	pubPEM, err := httpsig.MarshalPublicKeyPEM(priv.Public())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(privPEM); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(*out+".pub", pubPEM, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (private, 0600) and %s.pub (give it to whoever checks your reports)\n", *out, *out)
	return nil
}

func assessVerifyReport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("assess verify-report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyFile := fs.String("key", "", "the assessor's SM2 public key `file`")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *keyFile == "" || len(pos) != 1 {
		fmt.Fprintln(stderr, "usage: bankguard assess verify-report --key PUBLIC-KEY-FILE DIR")
		return 2
	}
	b, err := os.ReadFile(*keyFile)
	if err != nil {
		fmt.Fprintf(stderr, "bankguard assess verify-report: %v\n", err)
		return 2
	}
	pub, err := httpsig.ParsePublicKeyPEM(b)
	if err != nil {
		fmt.Fprintf(stderr, "bankguard assess verify-report: --key: %v\n", err)
		return 2
	}
	v, err := httpsig.NewVerifier(httpsig.AlgSM2SM3, pub)
	if err != nil {
		fmt.Fprintf(stderr, "bankguard assess verify-report: --key: %v\n", err)
		return 2
	}
	m, err := report.Verify(pos[0], v)
	if err != nil {
		fmt.Fprintf(stdout, "NOT VALID: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "valid: %s\n", describeManifest(m))
	return 0
}

func describeManifest(m *report.Manifest) string {
	names := make([]string, len(m.Files))
	for i, f := range m.Files {
		names[i] = f.Name
	}
	return fmt.Sprintf("%d files (%s) signed by %s (%s) at %s", len(m.Files), strings.Join(names, ", "), m.KeyID, m.Alg, m.Signed.Format(time.RFC3339))
}
