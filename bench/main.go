// Command bench is the load benchmark of issues 2 and 3. In one run it puts
// the same loopback backend behind four servers and loads each over TLS with
// keep-alive from a Go load generator (the servers run in child processes of
// their own, or with -inprocess in the generator's process):
//
//	(a) a bare httputil.ReverseProxy (the baseline),
//	(b) bankguard, an A1 API with hmac-sm3 request signatures, with its
//	    durable audit log and response masking on,
//	(c) bankguard, an A2 API with sm2-sm3 request signatures and the bank's
//	    SM2 response signature (audit and masking on),
//	(d) bankguard as (b), with its audit log and masking off
//	    (node.Options.WithoutAuditAndMasking),
//
// and measures the machine's SM2 ceiling: (one SM2 verify + one SM2 sign) per
// second on all cores. It prints markdown tables with (b)/(a),
// (c)/ceiling and the cost of audit + masking 1 − (b)/(d), the figures
// issues 2 and 3 set targets for. Requests are signed before each timed
// phase, so the client's signing cost is not charged to the gateway. See
// docs/benchmarks.md.
//
//	go run ./bench [-conns 64] [-duration 10s] [-warmup 2s] [-rounds 5] [-only a,b,c,d] [-out file]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Options are the command's flags.
type Options struct {
	Load    LoadConfig
	Rounds  int
	Ceiling time.Duration
	Out     string
	// CPUProfile is the directory CPU profiles are written to ("" for none).
	CPUProfile string
	// Only lists the targets to run ("a,b,c,d" for all).
	Only string
	// InProcess runs the servers in this process instead of one each.
	InProcess bool
}

func main() {
	if role := os.Getenv(RoleEnv); role != "" {
		if err := runChild(role, os.Args[1:]); err != nil {
			fmt.Fprintf(os.Stderr, "bench %s: %v\n", role, err)
			os.Exit(1)
		}
		return
	}
	var o Options
	flag.IntVar(&o.Load.Conns, "conns", 64, "concurrent keep-alive connections per target")
	flag.DurationVar(&o.Load.Duration, "duration", 10*time.Second, "timed phase per target and round")
	flag.DurationVar(&o.Load.Warm, "warmup", 2*time.Second, "warm-up before each timed phase")
	flag.Float64Var(&o.Load.MaxOthers, "max-others", 0.10, "share of the machine's CPU other processes may take before a phase is repeated")
	flag.IntVar(&o.Load.Retries, "retries", 2, "repeats of a phase disturbed by other processes")
	flag.IntVar(&o.Rounds, "rounds", 5, "rounds of a, b, c, d and the SM2 ceiling, interleaved")
	flag.DurationVar(&o.Ceiling, "ceiling", 3*time.Second, "SM2 ceiling measurement per round")
	flag.StringVar(&o.Out, "out", "", "also write the markdown tables to this file")
	flag.StringVar(&o.CPUProfile, "cpuprofile", "", "write CPU profiles of the server processes to DIR/gateway.cpu, DIR/gateway-off.cpu and DIR/baseline.cpu (with -inprocess: of this process, to DIR/bench.cpu)")
	flag.StringVar(&o.Only, "only", "a,b,c,d", "targets to run, e.g. \"c\" to profile the A2 path alone")
	flag.BoolVar(&o.InProcess, "inprocess", false, "run the servers in the load generator's process (one heap, one GC)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run sets up the environment, checks it, measures and prints the results
// to out; progress goes to log.
func run(ctx context.Context, o Options, out, log io.Writer) (err error) {
	if o.Load.Conns < 1 || o.Rounds < 1 || o.Load.Duration <= 0 || o.Load.Warm <= 0 || o.Ceiling <= 0 {
		return errors.New("conns, rounds, duration, warmup and ceiling must be positive")
	}
	dir, err := os.MkdirTemp("", "bankguard-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if o.CPUProfile != "" {
		if err := os.MkdirAll(o.CPUProfile, 0o755); err != nil {
			return err
		}
	}
	var env *Env
	if o.InProcess {
		env, err = StartEnv(ctx, dir)
	} else {
		env, err = StartProcesses(ctx, dir, o.CPUProfile)
	}
	if err != nil {
		return err
	}
	o.Load.Procs = env.Procs
	defer func() { err = errors.Join(err, env.Close()) }()

	targets := []*Target{
		{Key: "a", Name: "bare httputil.ReverseProxy", URL: env.BaselineURL + A1Path, Signer: env.A1, Rate: 10000},
		{Key: "b", Name: "bankguard A1, hmac-sm3 + audit + masking", URL: env.GatewayURL + A1Path, Signer: env.A1, Rate: 10000},
		{Key: "c", Name: "bankguard A2, sm2-sm3 + SM2 response signature", URL: env.GatewayURL + A2Path, Signer: env.A2, Rate: 2000},
		{Key: "d", Name: "bankguard A1, hmac-sm3, audit + masking off", URL: env.GatewayOffURL + A1Path, Signer: env.A1, Rate: 10000},
	}
	targets = slices.DeleteFunc(targets, func(t *Target) bool { return !slices.Contains(strings.Split(o.Only, ","), t.Key) })
	if len(targets) == 0 {
		return fmt.Errorf("-only %q names no target (a, b, c, d)", o.Only)
	}
	for _, t := range targets {
		t.HTTP = NewHTTPClient(env.RootCAs, o.Load.Conns)
	}
	tlsUsed, err := env.Check(ctx, NewHTTPClient(env.RootCAs, 1))
	if err != nil {
		return err
	}
	res := &Results{Machine: ThisMachine(), Load: o.Load, Rounds: o.Rounds, TLS: tlsUsed, Targets: targets,
		Phases: map[string][]Phase{}, InProcess: o.InProcess}
	m := res.Machine
	fmt.Fprintf(log, "Go %s, CPU %s, %d logical CPUs, GOMAXPROCS %d; %d connections; checks passed (%s)\n",
		m.GoVersion, m.CPU, m.NumCPU, m.GOMAXPROCS, o.Load.Conns, tlsUsed)

	if o.CPUProfile != "" && o.InProcess {
		stop, err := startProfile(filepath.Join(o.CPUProfile, "bench.cpu"))
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, stop()) }()
	}
	if err := measureRounds(ctx, o, res, log); err != nil {
		return err
	}
	fmt.Fprintln(log)
	res.WriteMarkdown(out)
	if o.Out != "" {
		f, err := os.Create(o.Out)
		if err != nil {
			return err
		}
		res.WriteMarkdown(f)
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// measureRounds runs the rounds: each target, then the SM2 ceiling.
func measureRounds(ctx context.Context, o Options, res *Results, log io.Writer) error {
	targets := res.Targets
	for round := 1; round <= o.Rounds; round++ {
		for _, t := range targets {
			minPool := 0
			for _, u := range targets {
				minPool = max(minPool, PoolSize(u.Rate, o.Load))
			}
			p, err := Measure(ctx, t, o.Load, minPool)
			if err != nil {
				return err
			}
			res.Phases[t.Key] = append(res.Phases[t.Key], p)
			fmt.Fprintf(log, "round %d (%s) %-48s %6.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d  CPU self %s others %s%s\n",
				round, t.Key, t.Name, p.RPS(), p50(p), p99(p), p.Errors, percent(p.CPU.Self()), percent(p.CPU.Others), notes(p))
			fmt.Fprintf(log, "    CPU µs per request:%s\n", perRequest(o.Load.Procs, p))
			if p.FirstError != "" {
				fmt.Fprintf(log, "    first error: %.300s\n", p.FirstError)
			}
		}
		c, err := measureCeiling(ctx, o)
		if err != nil {
			return err
		}
		res.Ceilings = append(res.Ceilings, c)
		fmt.Fprintf(log, "round %d SM2 ceiling %.0f (verify + sign)/s  CPU self %s others %s%s\n",
			round, c.Rate, percent(c.CPU.Self()), percent(c.CPU.Others), notes(Phase{Retries: c.Retries}))
	}
	return nil
}

// measureCeiling measures the SM2 ceiling, again if other processes
// disturbed it.
func measureCeiling(ctx context.Context, o Options) (Ceiling, error) {
	var c Ceiling
	for try := 0; try <= o.Load.Retries && ctx.Err() == nil; try++ {
		s := sampleCPU(o.Load.Procs)
		rate, err := SM2Ceiling(o.Ceiling)
		if err != nil {
			return c, err
		}
		c = Ceiling{Rate: rate, CPU: shareSince(o.Load.Procs, s), Retries: try}
		if c.CPU.Others <= o.Load.MaxOthers {
			break
		}
	}
	return c, ctx.Err()
}

// perRequest lists each process's CPU time per successful request.
func perRequest(procs []Proc, p Phase) string {
	var s string
	for i, pr := range procs {
		if i < len(p.CPU.Procs) && p.OK > 0 {
			s += fmt.Sprintf(" %s %.1f", pr.Name, p.CPU.Procs[i].Seconds()*1e6/float64(p.OK))
		}
	}
	return s
}

func notes(p Phase) string {
	var s string
	if p.Short {
		s += " (pool ran out early)"
	}
	if p.Retries > 0 {
		s += fmt.Sprintf(" (repeated %d×)", p.Retries)
	}
	return s
}
