package gateway

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"time"
)

// latencyBuckets are the upper bounds (seconds) of the request latency
// histogram: from 5 ms to a minute, LLM answers being slow.
var latencyBuckets = [...]float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

type reqKey struct {
	route string
	code  int
}

type histogram struct {
	counts [len(latencyBuckets) + 1]uint64 // the last is +Inf
	sum    float64
	n      uint64
}

type pairKey struct{ a, b string }

type transKey struct{ backend, from, to string }

// metrics holds the gateway's counters, written in the Prometheus text
// format by /metrics.
type metrics struct {
	mu          sync.Mutex
	requests    map[reqKey]uint64
	latency     map[string]*histogram
	shaped      map[string]uint64
	backendErrs map[pairKey]uint64
	transitions map[transKey]uint64
}

func newMetrics() *metrics {
	return &metrics{requests: map[reqKey]uint64{}, latency: map[string]*histogram{}, shaped: map[string]uint64{},
		backendErrs: map[pairKey]uint64{}, transitions: map[transKey]uint64{}}
}

func (m *metrics) request(route string, code int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[reqKey{route, code}]++
	h := m.latency[route]
	if h == nil {
		h = &histogram{}
		m.latency[route] = h
	}
	s := d.Seconds()
	i := sort.SearchFloat64s(latencyBuckets[:], s)
	h.counts[i]++
	h.sum += s
	h.n++
}

func (m *metrics) shapedBy(scope string) {
	m.mu.Lock()
	m.shaped[scope]++
	m.mu.Unlock()
}

func (m *metrics) backendError(backend, kind string) {
	m.mu.Lock()
	m.backendErrs[pairKey{backend, kind}]++
	m.mu.Unlock()
}

func (m *metrics) breakerTransition(backend, from, to string) {
	m.mu.Lock()
	m.transitions[transKey{backend, from, to}]++
	m.mu.Unlock()
}

// breakerStates maps state names to the gauge's values.
var breakerStates = map[string]int{"closed": 0, "half-open": 1, "open": 2}

// write prints every series; states are the breakers' current states by
// backend.
func (m *metrics) write(w io.Writer, states map[string]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }

	p("# HELP scfgate_requests_total Requests answered, by route and status code.\n# TYPE scfgate_requests_total counter\n")
	rk := make([]reqKey, 0, len(m.requests))
	for k := range m.requests {
		rk = append(rk, k)
	}
	sort.Slice(rk, func(i, j int) bool {
		if rk[i].route != rk[j].route {
			return rk[i].route < rk[j].route
		}
		return rk[i].code < rk[j].code
	})
	for _, k := range rk {
		p("scfgate_requests_total{route=%q,code=\"%d\"} %d\n", k.route, k.code, m.requests[k])
	}

	p("# HELP scfgate_request_duration_seconds Request latency, by route.\n# TYPE scfgate_request_duration_seconds histogram\n")
	for _, route := range sortedKeys(m.latency) {
		h := m.latency[route]
		var cum uint64
		for i, le := range latencyBuckets {
			cum += h.counts[i]
			p("scfgate_request_duration_seconds_bucket{route=%q,le=%q} %d\n", route, strconv.FormatFloat(le, 'g', -1, 64), cum)
		}
		p("scfgate_request_duration_seconds_bucket{route=%q,le=\"+Inf\"} %d\n", route, h.n)
		p("scfgate_request_duration_seconds_sum{route=%q} %g\n", route, h.sum)
		p("scfgate_request_duration_seconds_count{route=%q} %d\n", route, h.n)
	}

	p("# HELP scfgate_shaped_total Requests refused with 429 by the token buckets, by bucket.\n# TYPE scfgate_shaped_total counter\n")
	for _, scope := range []string{"global", "key"} {
		p("scfgate_shaped_total{reason=%q} %d\n", scope, m.shaped[scope])
	}

	p("# HELP scfgate_backend_errors_total Backend failures, by backend and kind.\n# TYPE scfgate_backend_errors_total counter\n")
	bk := make([]pairKey, 0, len(m.backendErrs))
	for k := range m.backendErrs {
		bk = append(bk, k)
	}
	sort.Slice(bk, func(i, j int) bool { return bk[i].a+"\x00"+bk[i].b < bk[j].a+"\x00"+bk[j].b })
	for _, k := range bk {
		p("scfgate_backend_errors_total{backend=%q,kind=%q} %d\n", k.a, k.b, m.backendErrs[k])
	}

	p("# HELP scfgate_breaker_state Circuit breaker state by backend: 0 closed, 1 half-open, 2 open.\n# TYPE scfgate_breaker_state gauge\n")
	for _, b := range sortedKeys(states) {
		p("scfgate_breaker_state{backend=%q} %d\n", b, breakerStates[states[b]])
	}

	p("# HELP scfgate_breaker_transitions_total Circuit breaker state changes.\n# TYPE scfgate_breaker_transitions_total counter\n")
	tk := make([]transKey, 0, len(m.transitions))
	for k := range m.transitions {
		tk = append(tk, k)
	}
	sort.Slice(tk, func(i, j int) bool {
		return tk[i].backend+"\x00"+tk[i].from+"\x00"+tk[i].to < tk[j].backend+"\x00"+tk[j].from+"\x00"+tk[j].to
	})
	for _, k := range tk {
		p("scfgate_breaker_transitions_total{backend=%q,from=%q,to=%q} %d\n", k.backend, k.from, k.to, m.transitions[k])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
