package scan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/bankguard/bankguard/assess"
)

// The sides a scan can be run for: the commercial bank (sections 3–8 of
// T/PCAC 0008-2020) or the application party (sections 9–13).
const (
	SideBank = "bank"
	SideApp  = "app"
)

// Options say what to scan. Empty directories are skipped: the checks that
// need them give not_tested naming the flag.
type Options struct {
	// Config, Src and Logs are the directories given with --config, --src
	// and --logs; any may be empty.
	Config, Src, Logs string
	// Side is "bank" (the default) or "app": it chooses the item ids and the
	// log retention minimum.
	Side string
	// Now is the clock for log retention (nil: time.Now).
	Now func() time.Time

	// maxFiles lowers the bound of files one check visits (tests).
	maxFiles int
}

// Validate reports an unknown side, or a named directory that does not exist
// or is not a directory; the error names the flag.
func (o Options) Validate() error {
	if o.Side != "" && o.Side != SideBank && o.Side != SideApp {
		return fmt.Errorf("scan: --side %q: want %q or %q", o.Side, SideBank, SideApp)
	}
	for _, t := range o.trees() {
		if t.dir == "" {
			continue
		}
		fi, err := os.Stat(t.dir)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("scan: --%s %q: no such directory", t.flag, t.dir)
			}
			return fmt.Errorf("scan: --%s %q: %w", t.flag, t.dir, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("scan: --%s %q: not a directory", t.flag, t.dir)
		}
	}
	return nil
}

// trees returns the three directories with their flag names, given or not.
func (o Options) trees() []tree {
	return []tree{{flag: "config", dir: o.Config}, {flag: "src", dir: o.Src}, {flag: "logs", dir: o.Logs}}
}

func (o Options) tree(flag string) tree {
	for _, t := range o.trees() {
		if t.flag == flag {
			return t
		}
	}
	return tree{flag: flag}
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o Options) fileLimit() int {
	if o.maxFiles > 0 {
		return o.maxFiles
	}
	return maxFiles
}

func (o Options) app() bool { return o.Side == SideApp }

// sideItems are the catalog items each check gives evidence for on one side.
// Only items whose kinds include file are named (catalog.yaml).
type sideItems struct {
	// secrets: bank 3.3.4-2 (code and local configuration hold no App_Secret
	// or private key); app 9.2.2-1 (local configuration holds none) and
	// 11.3.5-2 (keys are stored encrypted).
	secrets []string
	// personal: app 9.2.1-1 and 13.2-1 (logs hold payment account numbers only
	// partially masked and no other personal financial information). The bank
	// side has no item on personal data in the bank's own logs; the closest is
	// 8.3-2 (request messages of application parties are retained only as far
	// as needed): unmasked card or identity numbers in the gateway's logs show
	// requests kept in full, beyond the minimum.
	personal []string
	// retention: bank 6.1.1-3 (transaction logs kept ≥ 1 year); app 11.3.4-3
	// (logs kept ≥ 6 months).
	retention []string
	minDays   int
	minText   string
	// deps: bank 3.1-4 (third-party components are verified). The application
	// side has no item on third-party components, so the check is not run.
	deps []string
}

func (o Options) items() sideItems {
	if o.app() {
		return sideItems{
			secrets:   []string{"9.2.2-1", "11.3.5-2"},
			personal:  []string{"9.2.1-1", "13.2-1"},
			retention: []string{"11.3.4-3"},
			minDays:   183,
			minText:   "11.3.4-3 asks ≥ 6 months",
		}
	}
	return sideItems{
		secrets:   []string{"3.3.4-2"},
		personal:  []string{"8.3-2"},
		retention: []string{"6.1.1-3"},
		minDays:   365,
		minText:   "6.1.1-3 asks ≥ 1 year",
		deps:      []string{"3.1-4"},
	}
}

// Checks returns the file checks for the options. deps.inventory is left out
// on the application side, which has no item on third-party components.
func Checks(o Options) []assess.Check {
	it := o.items()
	cs := []assess.Check{
		{
			ID:    "files.secrets",
			Title: "No App_Secret in configuration or source",
			Items: it.secrets,
			Run:   func(ctx context.Context) assess.Result { return runSecrets(ctx, o) },
		},
		{
			ID:    "files.private-keys",
			Title: "No private key in configuration or source",
			Items: it.secrets,
			Run:   func(ctx context.Context) assess.Result { return runPrivateKeys(ctx, o) },
		},
		{
			ID:    "logs.personal-data",
			Title: "No unmasked personal data in logs",
			Items: it.personal,
			Run:   func(ctx context.Context) assess.Result { return runPersonalData(ctx, o) },
		},
		{
			ID:    "logs.retention",
			Title: "Logs are kept long enough",
			Items: it.retention,
			Run:   func(ctx context.Context) assess.Result { return runRetention(ctx, o) },
		},
	}
	if len(it.deps) > 0 {
		cs = append(cs, assess.Check{
			ID:    "deps.inventory",
			Title: "Third-party components are listed",
			Items: it.deps,
			Run:   func(ctx context.Context) assess.Result { return runDeps(ctx, o) },
		})
	}
	for i := range cs {
		cs[i].Timeout = scanTimeout
	}
	return cs
}

// scanTimeout bounds a file check: a walk of up to 50,000 files, each read
// once, takes seconds on a laptop and may take minutes on a network share.
const scanTimeout = 5 * time.Minute

// findings collects the error-level findings of one check, keeping at most
// maxFindings of them but counting all.
type findings struct {
	list  []assess.Finding
	total int
	files map[string]bool
	first string // "config/app.yaml line 4"
}

func (fs *findings) add(f assess.Finding) {
	if fs.files == nil {
		fs.files = map[string]bool{}
	}
	fs.total++
	fs.files[f.Path] = true
	if fs.first == "" {
		fs.first = where(f.Path, f.Line)
	}
	if len(fs.list) < maxFindings {
		fs.list = append(fs.list, f)
	}
}

func where(path string, line int) string {
	if line == 0 {
		return path
	}
	return fmt.Sprintf("%s line %d", path, line)
}

// verdict turns a finding scan of some directories into a result: fail with
// findings; not_tested when nothing was given or nothing could be read;
// partial when some of the directories the item needs were not given; pass
// otherwise. what names what was looked for, in the plural ("values that look
// like an App_Secret"); rule says what the items ask.
func verdict(sc *scanned, fs *findings, what, rule string, items []string) assess.Result {
	var r assess.Result
	switch {
	case sc.err != nil:
		return errorResult(sc.err, sc.st.limit)
	case len(sc.given) == 0:
		return assess.NotTestedf("No directory was given to scan: pass %s.", flagList(sc.missing))
	case fs.total > 0:
		r = assess.Failf("Found %s in %s (first: %s); %s (T/PCAC 0008-2020 %s).",
			count(fs.total, what), count(len(fs.files), "files"), fs.first, rule, strings.Join(items, ", "))
		if fs.total > len(fs.list) {
			r.Reason += fmt.Sprintf(" The first %d findings are listed.", len(fs.list))
		}
	case sc.st.read == 0:
		return assess.NotTestedf("No readable text file was found in %s.%s", dirList(sc.given), sc.st.note())
	case len(sc.missing) > 0:
		r = assess.Result{Verdict: assess.Partial, Reason: fmt.Sprintf(
			"Found no %s in %s in %s; %s not given, so part of what the item covers was not scanned.",
			what, count(sc.st.read, "files"), dirList(sc.given), flagList(sc.missing)+plural(len(sc.missing), " was", " were"))}
	default:
		r = assess.Passf("Found no %s in %s in %s.", what, count(sc.st.read, "files"), dirList(sc.given))
	}
	r.Reason += sc.st.note()
	r.Findings = fs.list
	return r
}

// errorResult turns a walk error into an error result.
func errorResult(err error, limit int) assess.Result {
	switch {
	case errors.Is(err, errTooMany):
		return assess.Errorf("Too many files: the scan stops after %d files; point the flag at a smaller directory.", limit)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return assess.Errorf("The scan was interrupted before it finished.")
	}
	return assess.Errorf("The scan could not read a directory: %v.", err)
}

// count formats n things, singular for one: count(1, "files") is "1 file".
func count(n int, things string) string {
	if n == 1 {
		return "1 " + singular(things)
	}
	return fmt.Sprintf("%d %s", n, things)
}

func singular(things string) string {
	if one, ok := singulars[things]; ok {
		return one
	}
	return strings.TrimSuffix(things, "s")
}

// singulars are the plurals count cannot make singular by dropping an s.
var singulars = map[string]string{
	"values that look like an App_Secret, password or token": "value that looks like an App_Secret, password or token",
	"unreadable files or directories":                        "unreadable file or directory",
}

func plural(n int, one, more string) string {
	if n == 1 {
		return one
	}
	return more
}

// flagList names flags: "--config and --src".
func flagList(flags []string) string {
	out := make([]string, len(flags))
	for i, f := range flags {
		out[i] = "--" + f
	}
	return joinAnd(out)
}

// dirList names scanned directories by their path prefix: "config/ and src/".
func dirList(flags []string) string {
	out := make([]string, len(flags))
	for i, f := range flags {
		out[i] = f + "/"
	}
	return joinAnd(out)
}

func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
