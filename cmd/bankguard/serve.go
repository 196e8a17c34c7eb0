package main

import (
	"context"
	"flag"
	"io"

	"github.com/bankguard/bankguard/config"
	"github.com/bankguard/bankguard/node"
)

func serveCmd(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration `file` (YAML, no secrets)")
	plaintext := fs.Bool("dev-plaintext", false, "serve the gateway over plain HTTP — for a developer's machine only")
	logFormat := fs.String("log-format", "json", "log format: json or text")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *configPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return flag.ErrHelp
	}
	log, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		return err
	}
	n, err := node.Start(ctx, cfg, node.Options{Plaintext: *plaintext, Logger: log})
	if err != nil {
		return err
	}
	log.Info("bankguard serving", "gateway", n.GatewayAddr.String(), "admin", addrString(n))
	return n.Wait()
}

func addrString(n *node.Node) string {
	if n.AdminAddr == nil {
		return ""
	}
	return n.AdminAddr.String()
}
