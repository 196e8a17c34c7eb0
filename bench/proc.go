package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/bankguard/bankguard/config"
	"github.com/bankguard/bankguard/demo"
)

// RoleEnv names the role a child process of the benchmark plays: the
// benchmark starts itself again for each server.
const RoleEnv = "BANKGUARD_BENCH_ROLE"

// The roles, which are also the names of the processes in the CPU accounting.
const (
	RoleLoad     = "load generator"
	RoleBackend  = "backend"
	RoleGateway  = "gateway"
	RoleBaseline = "baseline"
	// RoleGatewayOff is the node with its audit log and masking off.
	RoleGatewayOff = "gateway, audit + masking off"
)

// profileFile names the CPU profile of a server's role.
func profileFile(role string) string {
	if role == RoleGatewayOff {
		return "gateway-off.cpu"
	}
	return role + ".cpu" // gateway.cpu, baseline.cpu
}

// Proc is a process whose CPU time the benchmark accounts for.
type Proc struct {
	Name string
	PID  int
}

// child is a server process started by StartProcesses.
type child struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// StartProcesses prepares a demo data directory in dir and starts the
// backend, the two bankguard nodes and the baseline proxy each in a process
// of its own. With profiles set, the nodes and the baseline write CPU
// profiles of their whole run to the files profileFile names in that
// directory. Close stops them.
func StartProcesses(ctx context.Context, dir, profiles string) (env *Env, err error) {
	env = &Env{Dir: dir, cancel: func() {}, Procs: []Proc{{Name: RoleLoad, PID: os.Getpid()}}}
	defer func() {
		if err != nil {
			env.Close()
		}
	}()
	if err := prepare(ctx, dir); err != nil {
		return nil, err
	}
	start := func(role string, args ...string) (string, error) {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		if role != RoleBackend {
			profile := ""
			if profiles != "" {
				profile = filepath.Join(profiles, profileFile(role))
			}
			args = append(args, profile)
		}
		c, url, err := startChild(role, args...)
		if err != nil {
			return "", err
		}
		env.children = append(env.children, c)
		env.Procs = append(env.Procs, Proc{Name: role, PID: c.cmd.Process.Pid})
		return url, nil
	}
	if env.BackendURL, err = start(RoleBackend); err != nil {
		return nil, err
	}
	if env.GatewayURL, err = start(RoleGateway, dir, env.BackendURL); err != nil {
		return nil, err
	}
	if env.GatewayOffURL, err = start(RoleGatewayOff, dir, env.BackendURL); err != nil {
		return nil, err
	}
	if env.BaselineURL, err = start(RoleBaseline, dir, env.BackendURL); err != nil {
		return nil, err
	}
	return env, env.loadClients()
}

// startChild runs this program again as role and returns once the child
// reports the URL it serves.
func startChild(role string, args ...string) (*child, string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	// Not CommandContext: a child is stopped through its standard input, so
	// that it can shut down cleanly and write its profile.
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), RoleEnv+"="+role)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("bench: start %s: %w", role, err)
	}
	c := &child{name: role, cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
	if err != nil || !ok {
		return nil, "", errors.Join(fmt.Errorf("bench: %s did not start", role), c.stop())
	}
	return c, url, nil
}

// stop closes the child's standard input, which tells it to stop, and
// waits for it (killing it after 10 s).
func (c *child) stop() error {
	c.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("bench: %s: %w", c.name, err)
		}
		return nil
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-done
		return fmt.Errorf("bench: %s did not stop; killed", c.name)
	}
}

// runChild plays role until standard input closes: it prints "ready URL"
// once it serves, then serves until the parent closes its end of the pipe
// (or dies).
func runChild(role string, args []string) error {
	signal.Ignore(os.Interrupt) // a Ctrl-C reaches the parent, which stops the children
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		url  string
		done <-chan error
		err  error
	)
	switch {
	case role == RoleBackend:
		url, done, err = serveBackend(ctx)
	case (role == RoleGateway || role == RoleGatewayOff) && len(args) == 3:
		url, done, err = childNode(ctx, args[0], args[1], args[2], role == RoleGatewayOff)
	case role == RoleBaseline && len(args) == 3:
		url, done, err = childBaseline(ctx, args[0], args[1], args[2])
	default:
		err = fmt.Errorf("bench: unknown role %q or arguments %q", role, args)
	}
	if err != nil {
		return err
	}
	fmt.Printf("ready %s\n", url)
	_, _ = io.Copy(io.Discard, os.Stdin)
	cancel()
	return <-done
}

// childNode starts the node (with off, the one with audit and masking off)
// in front of backendURL, profiling it to profile if set.
func childNode(ctx context.Context, dir, backendURL, profile string, off bool) (string, <-chan error, error) {
	cfg, err := nodeConfig(dir, backendURL, off)
	if err != nil {
		return "", nil, err
	}
	n, err := startNode(ctx, cfg, off)
	if err != nil {
		return "", nil, err
	}
	stopProfile, err := startProfile(profile)
	if err != nil {
		return "", nil, err
	}
	done := make(chan error, 1)
	go func() {
		err := n.Wait()
		done <- errors.Join(err, stopProfile())
	}()
	return "https://" + n.GatewayAddr.String(), done, nil
}

// childBaseline serves the bare proxy with the TLS settings of the data
// directory's configuration (written by prepare), profiling
// it to profile if set.
func childBaseline(ctx context.Context, dir, backendURL, profile string) (string, <-chan error, error) {
	cfg, err := config.Load(filepath.Join(dir, demo.ConfigFile))
	if err != nil {
		return "", nil, err
	}
	rp, err := newBaseline(backendURL)
	if err != nil {
		return "", nil, err
	}
	url, served, err := serveBaseline(ctx, cfg, rp)
	if err != nil {
		return "", nil, err
	}
	stopProfile, err := startProfile(profile)
	if err != nil {
		return "", nil, err
	}
	done := make(chan error, 1)
	go func() {
		err := <-served
		done <- errors.Join(err, stopProfile())
	}()
	return url, done, nil
}

// startProfile starts a CPU profile to path (none if path is empty) and
// returns the function that stops it.
func startProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
