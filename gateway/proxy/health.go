package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bankguard/bankguard/alert"
)

// HealthConfig turns on active health checks of an upstream (T/PCAC
// 0008-2020 6.1.2: anomaly monitoring, fault isolation and recovery): a GET
// of Path every Interval. After UnhealthyThreshold failed probes in a row
// the upstream is down and refused like an open breaker, without being
// called; after HealthyThreshold good ones in a row it is called again.
// A probe succeeds on a 2xx answer within Timeout.
type HealthConfig struct {
	// Path is probed on the upstream's host, e.g. "/health".
	Path string `yaml:"path"`
	// Interval is the time between probes (default 10 s).
	Interval time.Duration `yaml:"interval"`
	// Timeout bounds one probe (default 2 s, or Interval if shorter).
	Timeout time.Duration `yaml:"timeout"`
	// HealthyThreshold is how many good probes in a row bring a down
	// upstream back (default 2).
	HealthyThreshold int `yaml:"healthy_threshold"`
	// UnhealthyThreshold is how many failed probes in a row take it down
	// (default 3).
	UnhealthyThreshold int `yaml:"unhealthy_threshold"`
}

// Health-check defaults.
const (
	DefaultHealthInterval     = 10 * time.Second
	DefaultHealthTimeout      = 2 * time.Second
	DefaultHealthyThreshold   = 2
	DefaultUnhealthyThreshold = 3
)

func (c HealthConfig) withDefaults() HealthConfig {
	if c.Interval <= 0 {
		c.Interval = DefaultHealthInterval
	}
	if c.Timeout <= 0 {
		c.Timeout = min(DefaultHealthTimeout, c.Interval)
	}
	if c.HealthyThreshold <= 0 {
		c.HealthyThreshold = DefaultHealthyThreshold
	}
	if c.UnhealthyThreshold <= 0 {
		c.UnhealthyThreshold = DefaultUnhealthyThreshold
	}
	return c
}

// Validate reports settings out of range (zero means the default).
func (c HealthConfig) Validate() error {
	var errs []error
	if !strings.HasPrefix(c.Path, "/") || strings.ContainsAny(c.Path, " \t\r\n") {
		errs = append(errs, errors.New("path must be an absolute path such as /health"))
	} else if _, err := url.Parse(c.Path); err != nil {
		errs = append(errs, errors.New("path is not a valid URL path"))
	}
	if c.Interval < 0 {
		errs = append(errs, errors.New("interval must not be negative"))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout must not be negative"))
	}
	if c.HealthyThreshold < 0 || c.HealthyThreshold > 100 {
		errs = append(errs, errors.New("healthy_threshold must be between 0 (default 2) and 100"))
	}
	if c.UnhealthyThreshold < 0 || c.UnhealthyThreshold > 100 {
		errs = append(errs, errors.New("unhealthy_threshold must be between 0 (default 3) and 100"))
	}
	return errors.Join(errs...)
}

// checker probes one upstream.
type checker struct {
	cfg    HealthConfig
	target *url.URL
	client *http.Client
	guard  *guard
}

// RunHealthChecks probes every upstream that has a HealthConfig until ctx
// ends, then returns once all probing stopped. Run it in its own goroutine.
// Upstreams start up; without RunHealthChecks none is ever marked down.
func (p *Proxy) RunHealthChecks(ctx context.Context) {
	var wg sync.WaitGroup
	for _, u := range p.upstreams {
		if u.checker != nil {
			wg.Go(func() { u.checker.run(ctx) })
		}
	}
	wg.Wait()
}

// run probes at once, then every interval, until ctx ends.
func (c *checker) run(ctx context.Context) {
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	var good, bad int
	for {
		if err := c.probe(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			good, bad = 0, bad+1
			if bad == c.cfg.UnhealthyThreshold && !c.guard.down.Load() {
				c.markDown(err)
			}
		} else {
			good, bad = good+1, 0
			if good == c.cfg.HealthyThreshold && c.guard.down.Load() {
				c.markUp()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probe GETs the health path; any answer but a 2xx is a failure.
func (c *checker) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.target.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "bankguard-health-check")
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("health check answered %d", resp.StatusCode)
	}
	return nil
}

func (c *checker) markDown(cause error) {
	g := c.guard
	g.down.Store(true)
	g.log.Warn("upstream marked down by its health check", "upstream", g.name, "err", cause)
	g.alerts.Raise(context.Background(), alert.Alert{
		Rule: "health.down", Severity: alert.Critical, Subject: "upstream:" + g.name, Time: g.now(),
		Summary: "backend " + g.name + " failed its health check: calls to it are refused",
		Detail:  fmt.Sprintf("%d failed probes in a row", c.cfg.UnhealthyThreshold),
	})
}

func (c *checker) markUp() {
	g := c.guard
	g.down.Store(false)
	g.log.Info("upstream healthy again", "upstream", g.name)
	g.alerts.Raise(context.Background(), alert.Alert{
		Rule: "health.up", Severity: alert.Info, Subject: "upstream:" + g.name, Time: g.now(),
		Summary: "backend " + g.name + " passes its health check again: calls to it pass",
		Detail:  fmt.Sprintf("%d good probes in a row", c.cfg.HealthyThreshold),
	})
}

// newChecker probes u's health path through transport, its own: probes do
// not wait behind the upstream's busy connections.
func newChecker(u Upstream, transport http.RoundTripper, g *guard) *checker {
	target := u.URL.JoinPath() // a copy
	path, query, _ := strings.Cut(u.Health.Path, "?")
	target.Path, target.RawPath, target.RawQuery = path, "", query
	return &checker{
		cfg:    *u.Health,
		target: target,
		guard:  g,
		client: &http.Client{
			Transport:     transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}
