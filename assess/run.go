package assess

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Runner runs checks concurrently, each under a time limit.
type Runner struct {
	// Concurrency is how many checks run at once (default 8). Checks are
	// independent; each sends only the handful of requests it needs.
	Concurrency int
	// Timeout bounds each check (default 20 s); a check that overruns gives
	// an error result.
	Timeout time.Duration
	// Progress, if set, is called after each check with the number done, the
	// total and the result. Calls are serialized.
	Progress func(done, total int, r Result)
}

// Run runs the checks and returns their results in the order of checks.
func (rn *Runner) Run(ctx context.Context, checks []Check) []Result {
	workers := rn.Concurrency
	if workers <= 0 {
		workers = 8
	}
	timeout := rn.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	results := make([]Result, len(checks))
	var (
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
	)
	next := make(chan int)
	for range min(workers, len(checks)) {
		wg.Go(func() {
			for i := range next {
				limit := timeout
				if checks[i].Timeout > 0 {
					limit = checks[i].Timeout
				}
				r := runOne(ctx, checks[i], limit)
				results[i] = r
				if rn.Progress != nil {
					mu.Lock()
					done++
					rn.Progress(done, len(checks), r)
					mu.Unlock()
				}
			}
		})
	}
	for i := range checks {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

// runOne runs a check under its time limit; a panic or an overrun becomes an
// error result, never a crash of the run.
func runOne(ctx context.Context, c Check, timeout time.Duration) (r Result) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ch := make(chan Result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- Errorf("the check crashed: %v", p)
			}
		}()
		ch <- c.Run(ctx)
	}()
	select {
	case r = <-ch:
	case <-ctx.Done():
		r = Errorf("the check did not finish within %s", timeout)
	}
	if !r.Verdict.Valid() {
		r = Errorf("the check gave no verdict (%q): %s", r.Verdict, r.Reason)
	}
	r.Check, r.Title, r.Items = c.ID, c.Title, c.Items
	r.Elapsed = time.Since(start)
	return r
}

// Select returns the checks that give evidence for at least one of the
// wanted items (all checks when want is nil).
func Select(checks []Check, want func(item string) bool) []Check {
	if want == nil {
		return checks
	}
	var out []Check
	for _, c := range checks {
		for _, it := range c.Items {
			if want(it) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// checkIDs returns an error naming a duplicate check id, which would make
// results ambiguous.
func checkIDs(results []Result) error {
	seen := map[string]bool{}
	for _, r := range results {
		if seen[r.Check] {
			return fmt.Errorf("assess: two checks have the id %q", r.Check)
		}
		seen[r.Check] = true
	}
	return nil
}
