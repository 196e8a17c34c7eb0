// Command bankguard is the open-banking API gateway, its sandbox bank and its
// client: see `bankguard help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `bankguard — secure open-banking APIs for commercial banks (T/PCAC 0008-2020)

Usage:
  bankguard demo  [--data DIR] [--addr HOST:PORT] [--admin-addr HOST:PORT]
        Run the sandbox bank behind the gateway on an embedded store.
  bankguard serve --config FILE [--dev-plaintext]
        Run the gateway from a declarative YAML configuration.
  bankguard call  [--profile FILE] [--app APP_ID] [--user NAME [--scope S] [--validity V]] METHOD URL [--data BODY]
        Send a signed request and verify the bank's response signature.
  bankguard audit verify|export|prove|consistency|check-proof [--data DIR]
        Verify, export and prove the tamper-evident audit log.
  bankguard assess --profile FILE [--out DIR] [--only IDS] [--format html,json,junit,sarif]
        Test a target against T/PCAC 0008-2020 and write the reports
        (also: assess files|catalog|workbook init|keygen|verify-report).

Run 'bankguard COMMAND --help' for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes a command and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "demo":
		err = demoCmd(ctx, args[1:], stdout, stderr)
	case "serve":
		err = serveCmd(ctx, args[1:], stderr)
	case "call":
		return callCmd(ctx, args[1:], stdout, stderr)
	case "audit":
		return auditCmd(ctx, args[1:], stdout, stderr)
	case "assess":
		return assessCmd(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "bankguard: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "bankguard %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments, and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// newLogger returns the process logger: JSON lines or text on stderr.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be json or text")
}
