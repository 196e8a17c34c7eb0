package metrics

import (
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// The breaker states, from best to worst: "down" is an upstream its active
// health check found unhealthy (gateway/proxy reports it so), and a state
// the function reports that is none of the others is "unknown".
var breakerStates = []string{"closed", "half-open", "unknown", "down", "open"}

// breakerCollector exports bankguard_upstream_breaker_state{upstream,state}:
// for each upstream, 1 for its current state and 0 for the others, read at
// scrape time (T/PCAC 0008-2020 6.1.2 fault isolation).
type breakerCollector struct {
	desc      *prometheus.Desc
	upstreams *bounded
	states    atomic.Pointer[func() map[string]string]
}

func newBreakerCollector(upstreams *bounded) *breakerCollector {
	return &breakerCollector{
		desc: prometheus.NewDesc("bankguard_upstream_breaker_state",
			"Circuit breaker state of each upstream: 1 for the current state, 0 for the others.",
			[]string{"upstream", "state"}, nil),
		upstreams: upstreams,
	}
}

func (c *breakerCollector) set(states func() map[string]string) {
	if states == nil {
		c.states.Store(nil)
		return
	}
	c.states.Store(&states)
}

// Describe implements prometheus.Collector.
func (c *breakerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. Upstreams whose names fold into
// one label value ("unknown", "other") report the worst of their states.
func (c *breakerCollector) Collect(ch chan<- prometheus.Metric) {
	fn := c.states.Load()
	if fn == nil {
		return
	}
	worst := map[string]int{}
	for name, state := range (*fn)() {
		up, rank := c.upstreams.value(name), breakerRank(state)
		if r, ok := worst[up]; !ok || rank > r {
			worst[up] = rank
		}
	}
	for up, rank := range worst {
		for i, state := range breakerStates {
			v := 0.0
			if i == rank {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, up, state)
		}
	}
}

// breakerRank is the index in breakerStates of a reported state
// (gobreaker's State.String() or a similar spelling).
func breakerRank(state string) int {
	switch strings.ToLower(strings.TrimSpace(state)) {
	case "closed":
		return 0
	case "half-open", "half_open", "halfopen":
		return 1
	case "down":
		return 3
	case "open":
		return 4
	}
	return 2
}

var _ prometheus.Collector = (*breakerCollector)(nil)
