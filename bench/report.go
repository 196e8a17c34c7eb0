package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
)

// Targets of issues 2 and 3.
const (
	A1Target = 0.8 // (b)/(a), with audit and masking on since issue 3
	A2Target = 0.8 // (c)/SM2 ceiling
	// CostTarget is the most audit and masking may cost: 1 − (b)/(d).
	CostTarget = 0.15
)

// Machine describes where the benchmark ran.
type Machine struct {
	GoVersion, OS, Arch, CPU string
	NumCPU, GOMAXPROCS       int
}

// ThisMachine describes the running machine.
func ThisMachine() Machine {
	return Machine{GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, CPU: cpuModel(),
		NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
}

// cpuModel reads the CPU model name from /proc/cpuinfo ("unknown" elsewhere).
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// Results are the measurements of one run: per target and per round.
type Results struct {
	Machine Machine
	Load    LoadConfig
	Rounds  int
	// TLS is the negotiated protocol version and cipher suite.
	TLS string
	// Targets are a, b, c and d in order; Phases holds each one's rounds by key.
	Targets  []*Target
	Phases   map[string][]Phase
	Ceilings []Ceiling
	// InProcess reports that the servers ran in the load generator's process.
	InProcess bool
}

// median returns the median of v (the mean of the middle two for even sizes).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func (r *Results) values(key string, f func(Phase) float64) []float64 {
	var out []float64
	for _, p := range r.Phases[key] {
		out = append(out, f(p))
	}
	return out
}

func (r *Results) ceiling() float64 {
	var v []float64
	for _, c := range r.Ceilings {
		v = append(v, c.Rate)
	}
	return median(v)
}

func rps(p Phase) float64 { return p.RPS() }
func p50(p Phase) float64 { return p.P50.Seconds() * 1000 }
func p99(p Phase) float64 { return p.P99.Seconds() * 1000 }

// ratio returns the rate of target x over that of target y in two
// estimates: the ratio of their medians, and the median of the rounds'
// ratios. Each round's targets ran back to back, so a round's ratio is less
// exposed to slow changes of the machine's speed than the ratio of medians.
func (r *Results) ratio(x, y string) (ofMedians, byRound float64) {
	var v []float64
	for i := range r.Rounds {
		if a, b := r.round(x, i).RPS(), r.round(y, i).RPS(); a > 0 && b > 0 {
			v = append(v, a/b)
		}
	}
	return safeDiv(median(r.values(x, rps)), median(r.values(y, rps))), median(v)
}

// ceilingRatio is ratio for (c) over the SM2 ceiling.
func (r *Results) ceilingRatio() (ofMedians, byRound float64) {
	var v []float64
	for i := range r.Rounds {
		if c := r.round("c", i).RPS(); c > 0 && i < len(r.Ceilings) {
			v = append(v, c/r.Ceilings[i].Rate)
		}
	}
	return safeDiv(median(r.values("c", rps)), r.ceiling()), median(v)
}

// A2Model returns the rate (c) would reach if an A2 call cost exactly an A1
// call plus one SM2 verify and one SM2 sign (the costs add up in CPU time per
// request: 1/c = 1/b + 1/ceiling).
func (r *Results) A2Model() float64 {
	b, ceil := median(r.values("b", rps)), r.ceiling()
	if b == 0 || ceil == 0 {
		return 0
	}
	return 1 / (1/b + 1/ceil)
}

// WriteMarkdown writes the run's description and its tables. Figures of
// targets that did not run (see -only) are shown as "—".
func (r *Results) WriteMarkdown(w io.Writer) {
	m, l := r.Machine, r.Load
	fmt.Fprintf(w, "Go %s %s/%s · CPU %s · %d logical CPUs · GOMAXPROCS %d\n\n", m.GoVersion, m.OS, m.Arch, m.CPU, m.NumCPU, m.GOMAXPROCS)
	layout := "backend, the two gateways and the baseline each in a process of its own, the load generator in a fifth, all on the same CPUs"
	if r.InProcess {
		layout = "backend, the two gateways, the baseline and the load generator in one process"
	}
	var order []string
	for _, t := range r.Targets {
		order = append(order, t.Key)
	}
	fmt.Fprintf(w, "%d connections · HTTP/1.1 keep-alive over %s · warm-up %s, then %s timed per target · %d rounds interleaved (%s, ceiling) · backend body %d bytes · %s\n\n",
		l.Conns, r.TLS, l.Warm, l.Duration, r.Rounds, strings.Join(order, ", "), len(backendBody), layout)
	r.writeTargets(w)
	r.writeCPU(w)
	r.writeRounds(w)
}

// writeTargets writes the main table, with the ratios, the cost of audit
// and masking and their verdicts, and the A2 cost model.
func (r *Results) writeTargets(w io.Writer) {
	ratio := map[string]string{"a": "1.00 (baseline)", "b": "—", "c": "—", "d": "—"}
	if a1, p1 := r.ratio("b", "a"); a1 > 0 {
		ratio["b"] = fmt.Sprintf("(b)/(a) = **%.2f**, by round %.2f — target ≥ %.2f: %s", a1, p1, A1Target, verdict(A1Target, a1, p1))
	}
	if a2, p2 := r.ceilingRatio(); a2 > 0 {
		ratio["c"] = fmt.Sprintf("(c)/ceiling = **%.2f**, by round %.2f — target ≥ %.2f: %s", a2, p2, A2Target, verdict(A2Target, a2, p2))
	}
	var d []string
	if off, p := r.ratio("d", "a"); off > 0 {
		d = append(d, fmt.Sprintf("(d)/(a) = %.2f, by round %.2f", off, p))
	}
	if bd, p := r.ratio("b", "d"); bd > 0 {
		d = append(d, fmt.Sprintf("audit + masking cost 1 − (b)/(d) = **%s**, by round %s — target ≤ %s: %s",
			percent1(1-bd), percent1(1-p), percent(CostTarget), verdictAtMost(CostTarget, 1-bd, 1-p)))
	}
	if len(d) > 0 {
		ratio["d"] = strings.Join(d, "; ")
	}
	fmt.Fprintln(w, "| Target | req/s (median) | req/s by round | p50 | p99 | errors | ratio |")
	fmt.Fprintln(w, "|---|--:|---|--:|--:|--:|---|")
	for _, t := range r.Targets {
		errs := 0
		for _, p := range r.Phases[t.Key] {
			errs += p.Errors
		}
		fmt.Fprintf(w, "| (%s) %s | %s | %s | %.2f ms | %.2f ms | %d | %s |\n", t.Key, t.Name,
			thousands(median(r.values(t.Key, rps))), r.byRound(t.Key),
			median(r.values(t.Key, p50)), median(r.values(t.Key, p99)), errs, ratio[t.Key])
	}
	var ceil []string
	for _, c := range r.Ceilings {
		ceil = append(ceil, thousands(c.Rate)+r.mark(c.CPU.Others, false))
	}
	fmt.Fprintf(w, "| SM2 ceiling: (verify + sign)/s on %d goroutines | %s | %s | | | | |\n\n",
		r.Machine.GOMAXPROCS, thousands(r.ceiling()), strings.Join(ceil, " / "))
	if model, c := r.A2Model(), median(r.values("c", rps)); model > 0 && c > 0 {
		fmt.Fprintf(w, "A2 cost model: if an A2 call cost one A1 call plus one SM2 verify and one SM2 sign, (c) would be %s req/s; measured (c) is %.2f of that. On this machine the model caps (c)/ceiling at %.2f.\n\n",
			thousands(model), c/model, safeDiv(model, r.ceiling()))
	}
}

// writeRounds writes the rates and ratios of every round.
func (r *Results) writeRounds(w io.Writer) {
	fmt.Fprintln(w, "| Round | (a) req/s | (b) req/s | (c) req/s | (d) req/s | SM2 ceiling | (b)/(a) | (c)/ceiling | 1 − (b)/(d) | CPU of other processes a / b / c / d / ceiling |")
	fmt.Fprintln(w, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
	for i := range r.Rounds {
		a, b, c, d := r.round("a", i), r.round("b", i), r.round("c", i), r.round("d", i)
		var ceil Ceiling
		if i < len(r.Ceilings) {
			ceil = r.Ceilings[i]
		}
		var others []string
		for _, p := range []Phase{a, b, c, d} {
			if p.Elapsed == 0 {
				others = append(others, "—")
				continue
			}
			others = append(others, percent(p.CPU.Others))
		}
		others = append(others, percent(ceil.CPU.Others))
		cost := "—"
		if b.RPS() > 0 && d.RPS() > 0 {
			cost = percent1(1 - b.RPS()/d.RPS())
		}
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", i+1,
			dash(thousands, a.RPS()), dash(thousands, b.RPS()), dash(thousands, c.RPS()), dash(thousands, d.RPS()), dash(thousands, ceil.Rate),
			dash(twoPlaces, safeDiv(b.RPS(), a.RPS())), dash(twoPlaces, safeDiv(c.RPS(), ceil.Rate)), cost, strings.Join(others, " / "))
	}
	fmt.Fprintf(w, "\n\"by round\" is the median of the rounds' ratios. CPU of other processes is their share of the whole machine during the phase; a phase above %s was repeated (up to %d times).", percent(r.Load.MaxOthers), r.Load.Retries)
	if r.disturbed() {
		fmt.Fprintf(w, " † marks a phase still above it.")
	}
	if r.anyShort() {
		fmt.Fprint(w, " \\* marks a phase whose pre-signed requests ran out early; its rate is over the time it ran.")
	}
	fmt.Fprintln(w)
}

// cpuPerRequest is the median over rounds of process i's CPU time per
// successful request of target key, in microseconds.
func (r *Results) cpuPerRequest(key string, i int) float64 {
	return median(r.values(key, func(p Phase) float64 {
		if i >= len(p.CPU.Procs) || p.OK == 0 {
			return 0
		}
		return p.CPU.Procs[i].Seconds() * 1e6 / float64(p.OK)
	}))
}

// writeCPU writes the CPU time per request by process and, when the servers
// had processes of their own, what the gateway costs against the baseline.
func (r *Results) writeCPU(w io.Writer) {
	procs := r.Load.Procs
	fmt.Fprint(w, "CPU time per request in µs (median over rounds), by process:\n\n| Target |")
	for _, p := range procs {
		fmt.Fprintf(w, " %s |", p.Name)
	}
	fmt.Fprint(w, " all |\n|---|")
	fmt.Fprintln(w, strings.Repeat("--:|", len(procs)+1))
	for _, t := range r.Targets {
		fmt.Fprintf(w, "| (%s) %s |", t.Key, t.Name)
		all := 0.0
		for i := range procs {
			v := r.cpuPerRequest(t.Key, i)
			all += v
			fmt.Fprintf(w, " %.1f |", v)
		}
		fmt.Fprintf(w, " %.1f |\n", all)
	}
	fmt.Fprintln(w)
	index := func(role string) int { return slices.IndexFunc(procs, func(p Proc) bool { return p.Name == role }) }
	gw, off, base := index(RoleGateway), index(RoleGatewayOff), index(RoleBaseline)
	if gw < 0 || off < 0 || base < 0 {
		return
	}
	a, b, c, d := r.cpuPerRequest("a", base), r.cpuPerRequest("b", gw), r.cpuPerRequest("c", gw), r.cpuPerRequest("d", off)
	if a > 0 && b > 0 {
		fmt.Fprintf(w, "Server CPU alone: the baseline spends %.1f µs per request, the gateway %.1f µs on A1 with audit and masking — (a)/(b) by server CPU = **%.2f**, the ratio the servers would reach if the load generator and the backend cost nothing.", a, b, a/b)
	}
	if b > 0 && d > 0 {
		var v []float64
		for i := range r.Rounds {
			if pb, pd := r.round("b", i), r.round("d", i); pb.OK > 0 && pd.OK > 0 && len(pb.CPU.Procs) > gw && len(pd.CPU.Procs) > off {
				v = append(v, 1-(pd.CPU.Procs[off].Seconds()/float64(pd.OK))/(pb.CPU.Procs[gw].Seconds()/float64(pb.OK)))
			}
		}
		fmt.Fprintf(w, " With audit and masking off it spends %.1f µs ((a)/(d) by server CPU = %.2f): audit + masking cost %.1f µs per request, 1 − (d)/(b) by server CPU = **%s**, by round %s — target ≤ %s: %s.",
			d, safeDiv(a, d), b-d, percent1(1-d/b), percent1(median(v)), percent(CostTarget), verdictAtMost(CostTarget, 1-d/b, median(v)))
	}
	if c > 0 {
		sm2 := safeDiv(float64(r.Machine.GOMAXPROCS)*1e6, r.ceiling())
		fmt.Fprintf(w, " On A2 the gateway spends %.1f µs, of which one SM2 verify and one SM2 sign take about %.1f µs at the ceiling's rate.", c, sm2)
	}
	fmt.Fprint(w, "\n\n")
}

// dash formats v with f, or returns "—" for 0 (a target that did not run).
func dash(f func(float64) string, v float64) string {
	if v == 0 {
		return "—"
	}
	return f(v)
}

func twoPlaces(v float64) string { return fmt.Sprintf("%.2f", v) }

// mark returns "†" for a measurement disturbed by other processes and "*"
// for a short phase.
func (r *Results) mark(others float64, short bool) string {
	s := ""
	if short {
		s += "\\*"
	}
	if others > r.Load.MaxOthers {
		s += "†"
	}
	return s
}

func (r *Results) disturbed() bool {
	for _, ps := range r.Phases {
		for _, p := range ps {
			if p.CPU.Others > r.Load.MaxOthers {
				return true
			}
		}
	}
	for _, c := range r.Ceilings {
		if c.CPU.Others > r.Load.MaxOthers {
			return true
		}
	}
	return false
}

// percent1 formats a share with one decimal.
func percent1(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

// percent formats a share; negative means unknown.
func percent(v float64) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f%%", 100*v)
}

// byRound lists a target's rates by round, marking short phases with *.
func (r *Results) byRound(key string) string {
	var s []string
	for _, p := range r.Phases[key] {
		s = append(s, thousands(p.RPS())+r.mark(p.CPU.Others, p.Short))
	}
	return strings.Join(s, " / ")
}

func (r *Results) round(key string, i int) Phase {
	if ps := r.Phases[key]; i < len(ps) {
		return ps[i]
	}
	return Phase{}
}

func (r *Results) anyShort() bool {
	for _, ps := range r.Phases {
		for _, p := range ps {
			if p.Short {
				return true
			}
		}
	}
	return false
}

// verdictAtMost says whether both estimates of a cost stay within target.
func verdictAtMost(target, v, paired float64) string {
	return verdict(-target, -v, -paired)
}

// verdict says whether both estimates of a ratio reach target.
func verdict(target, v, paired float64) string {
	switch {
	case v >= target && paired >= target:
		return "met"
	case v < target && paired < target:
		return "**missed**"
	}
	return "**inconclusive** (the two estimates straddle it)"
}

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// thousands formats v rounded to an integer with comma separators.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
