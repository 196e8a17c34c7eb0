package main

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of the CPU times in /proc (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// cpuSample is a reading of the accounted processes' CPU times and of the
// machine's busy and total CPU time, to tell how a phase's CPU was shared.
type cpuSample struct {
	at          time.Time
	procs       []time.Duration
	busy, total uint64 // clock ticks from /proc/stat; 0 when unavailable
}

// sampleCPU reads the counters now.
func sampleCPU(procs []Proc) cpuSample {
	s := cpuSample{at: time.Now(), procs: make([]time.Duration, len(procs))}
	for i, p := range procs {
		s.procs[i] = procCPU(p.PID)
	}
	s.busy, s.total = machineCPU()
	return s
}

// procCPU returns the user and system CPU time of process pid, 0 if unknown.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name may hold spaces; the fields after it start with the state (field 3).
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseUint(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * clockTick
}

// machineCPU returns the busy and total clock ticks of all CPUs.
func machineCPU() (busy, total uint64) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, 0
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0
	}
	for i, v := range fields[1:] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, 0
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// CPUShare is how the CPU was used during a phase.
type CPUShare struct {
	// Capacity is the wall time times the number of CPUs.
	Capacity time.Duration
	// Procs is the CPU time of each accounted process, in the order given.
	Procs []time.Duration
	// Others is the share of Capacity that every other process on the
	// machine took, or -1 when the machine's counters cannot be read.
	Others float64
}

// Self is the share of Capacity the accounted processes took.
func (c CPUShare) Self() float64 {
	var sum time.Duration
	for _, d := range c.Procs {
		sum += d
	}
	return safeDiv(sum.Seconds(), c.Capacity.Seconds())
}

// shareSince returns the shares between a and now.
func shareSince(procs []Proc, a cpuSample) CPUShare {
	b := sampleCPU(procs)
	sh := CPUShare{Capacity: time.Duration(float64(b.at.Sub(a.at)) * float64(runtime.NumCPU())), Others: -1}
	for i := range procs {
		sh.Procs = append(sh.Procs, b.procs[i]-a.procs[i])
	}
	if b.total > a.total {
		busy := float64(b.busy-a.busy) / float64(b.total-a.total)
		sh.Others = max(0, busy-sh.Self())
	}
	return sh
}
