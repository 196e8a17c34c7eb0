package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/bankguard/bankguard/config"
	"github.com/bankguard/bankguard/demo"
	"github.com/bankguard/bankguard/node"
	"github.com/bankguard/bankguard/sdk"
)

// Env is what the benchmark runs against: one backend on loopback and, in
// front of it, over TLS with the demo's server certificate, a bankguard node,
// a second bankguard node with its audit log and masking off, and a bare
// httputil.ReverseProxy.
//
// StartEnv runs them all in this process (for the Go benchmarks and tests);
// StartProcesses runs each in a process of its own (for the load benchmark),
// so that no server's garbage collector works for another's heap.
type Env struct {
	// Dir is the demo data directory (keys, certificates, store).
	Dir string
	// GatewayURL, GatewayOffURL and BaselineURL are the https base URLs of
	// the node, of the node with audit and masking off and of the bare
	// proxy; BackendURL is the backend's http URL.
	GatewayURL, GatewayOffURL, BaselineURL, BackendURL string
	// A1 and A2 sign requests as the demo apps A1App and A2App.
	A1, A2 *sdk.Client
	// RootCAs verify the listeners' certificate.
	RootCAs *x509.CertPool
	// Procs are the processes whose CPU time the benchmark accounts for.
	Procs []Proc

	// Config, Node, NodeOff and Baseline are set by StartEnv only: the
	// node's configuration, the node (Node.Gateway is its http.Handler), the
	// node with audit and masking off and the bare reverse proxy's handler.
	Config   *config.File
	Node     *node.Node
	NodeOff  *node.Node
	Baseline http.Handler

	cancel   context.CancelFunc
	done     []<-chan error
	children []*child
}

// StartEnv prepares a demo data directory in dir and starts the backend, the
// two bankguard nodes and the baseline proxy in this process. Close stops
// them.
func StartEnv(ctx context.Context, dir string) (env *Env, err error) {
	ctx, cancel := context.WithCancel(ctx)
	env = &Env{Dir: dir, cancel: cancel, Procs: []Proc{{Name: "bench", PID: os.Getpid()}}}
	defer func() {
		if err != nil {
			env.Close()
		}
	}()
	if err := prepare(ctx, dir); err != nil {
		return nil, err
	}
	var done <-chan error
	if env.BackendURL, done, err = serveBackend(ctx); err != nil {
		return nil, err
	}
	env.done = append(env.done, done)
	if env.Config, err = nodeConfig(dir, env.BackendURL, false); err != nil {
		return nil, err
	}
	if env.Node, env.GatewayURL, err = env.startNode(ctx, env.Config, false); err != nil {
		return nil, err
	}
	offConfig, err := nodeConfig(dir, env.BackendURL, true)
	if err != nil {
		return nil, err
	}
	if env.NodeOff, env.GatewayOffURL, err = env.startNode(ctx, offConfig, true); err != nil {
		return nil, err
	}
	baseline, err := newBaseline(env.BackendURL)
	if err != nil {
		return nil, err
	}
	env.Baseline = baseline
	if env.BaselineURL, done, err = serveBaseline(ctx, env.Config, baseline); err != nil {
		return nil, err
	}
	env.done = append(env.done, done)
	return env, env.loadClients()
}

// startNode starts a node in this process that Close waits for.
func (e *Env) startNode(ctx context.Context, cfg *config.File, off bool) (*node.Node, string, error) {
	n, err := startNode(ctx, cfg, off)
	if err != nil {
		return nil, "", err
	}
	done := make(chan error, 1)
	go func() { done <- n.Wait() }()
	e.done = append(e.done, done)
	return n, "https://" + n.GatewayAddr.String(), nil
}

// Close stops the servers and waits for them.
func (e *Env) Close() error {
	e.cancel()
	var errs []error
	for _, d := range e.done {
		errs = append(errs, <-d)
	}
	for i := len(e.children) - 1; i >= 0; i-- {
		errs = append(errs, e.children[i].stop())
	}
	e.done, e.children = nil, nil
	return errors.Join(errs...)
}

// loadClients reads the demo apps' credentials and the demo CA from Dir.
func (e *Env) loadClients() error {
	cfg, err := config.Load(filepath.Join(e.Dir, demo.ConfigFile))
	if err != nil {
		return err
	}
	if e.RootCAs, err = certPool(cfg.Path(cfg.Gateway.TLS.ClientCAFile)); err != nil {
		return err
	}
	if e.A1, err = e.client(A1App); err != nil {
		return err
	}
	e.A2, err = e.client(A2App)
	return err
}

// client returns an SDK client signing as the demo app appID.
func (e *Env) client(appID string) (*sdk.Client, error) {
	for _, app := range demo.Apps {
		if app.ID != appID {
			continue
		}
		dir := filepath.Join(e.Dir, "demo", "apps", app.ID)
		signer, err := sdk.LoadSigner(app.Alg, filepath.Join(dir, "secret"), filepath.Join(dir, "signing-key.pem"))
		if err != nil {
			return nil, err
		}
		return &sdk.Client{KeyID: app.KeyID(), Signer: signer}, nil
	}
	return nil, fmt.Errorf("bench: no demo app %s", appID)
}
