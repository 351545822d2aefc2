package gateway

// The gateway's metrics, served at /metrics in the Prometheus text format.
//
// Besides its own scfgate_* series (requests by route, shaping, backend
// errors, breakers), the gateway reports chat completions in LLM terms,
// named after the OpenTelemetry GenAI semantic conventions (metrics: the
// "Semantic conventions for generative AI metrics", status Development),
// translated to Prometheus names as OpenTelemetry's Prometheus exporter
// does (dots become underscores, the unit "s" becomes a _seconds suffix,
// an annotation unit such as {token} is dropped):
//
//	gen_ai.client.token.usage          histogram {token}  gen_ai_client_token_usage
//	gen_ai.server.request.duration     histogram s        gen_ai_server_request_duration_seconds
//	gen_ai.server.time_to_first_token  histogram s        gen_ai_server_time_to_first_token_seconds
//	gen_ai.server.time_per_output_token histogram s       gen_ai_server_time_per_output_token_seconds
//
// with the conventions' bucket boundaries. Attributes become labels:
// gen_ai.operation.name (always "chat"), gen_ai.request.model (the model
// the client named), gen_ai.token.type ("input" for prompt_tokens,
// "output" for completion_tokens), error.type on failed requests' series
// (below), and three of the gateway's own: key (the API key's name, never
// the secret; "" when anonymous), backend (the backend that answered; ""
// when none did) and, on the latency series, stream ("true" when the
// client asked for a stream: a stream's duration is its whole generation,
// an answer's TTFT is its whole duration, so the two are never mixed).
// The token usage is a histogram, as the conventions say; its _sum is the
// token counter (e.g. sum by (key) (rate(gen_ai_client_token_usage_sum[5m]))).
//
// A failed request's duration goes to a series of its own, with
// error_type (the conventions' error.type): the status code when the
// backend answered with an error ("429", "500"); "upstream" when its
// answer broke off midway; when no backend answered, the failure's kind
// with backend="": "timeout", "connect", "throttle", "function",
// "upstream", "breaker_open", or "canceled" when the client went away.
// Successful requests' series carry no error_type, as the conventions
// have it.
//
// What is measured, from the gateway's side (it sees the answer as the
// client does, not the model server's internals):
//
//   - token usage: the answer's usage object (a stream's usage chunk,
//     which the gateway asks for with stream_options.include_usage and
//     hides from a client that did not ask), for answers that carry one;
//     never estimated;
//   - request duration: from the request's arrival to the answer's end,
//     for every chat completion admitted (failed ones with error_type);
//   - time to first token: for a stream, from the request's arrival to the
//     first data line relayed to the client; for an answer that is not
//     streamed, the whole duration, which is when its first token reaches
//     the client. Successful (2xx) answers only, as the conventions say;
//   - time per output token: streams only, (duration - TTFT) /
//     (completion_tokens - 1), when the usage says more than one
//     completion token. A non-streamed answer tells nothing of the time
//     between tokens, so it is not recorded (the conventions' client-side
//     per-chunk metric likewise applies to streams only).
//
// Two gauges have no GenAI convention and keep the scfgate_ prefix:
// scfgate_requests_in_flight (chat completions admitted and not yet
// answered, by model and key) and scfgate_requests_queued (requests
// waiting up to max_wait in the token buckets, by key).

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
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

// Bucket boundaries of the GenAI metrics, as the semantic conventions
// advise them.
var (
	tokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	ttftBuckets     = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0}
	tpotBuckets     = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5}
)

// bhist is a histogram over bounds.
type bhist struct {
	bounds []float64
	counts []uint64 // per bucket, the last is +Inf
	sum    float64
	n      uint64
}

func newBhist(bounds []float64) bhist {
	return bhist{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *bhist) observe(v float64) {
	h.counts[sort.SearchFloat64s(h.bounds, v)]++
	h.sum += v
	h.n++
}

// write prints the histogram's series; labels are its labels but le,
// each followed by a comma.
func (h *bhist) write(w io.Writer, name, labels string) {
	var cum uint64
	for i, le := range h.bounds {
		cum += h.counts[i]
		fmt.Fprintf(w, "%s_bucket{%sle=%q} %d\n", name, labels, strconv.FormatFloat(le, 'g', -1, 64), cum)
	}
	fmt.Fprintf(w, "%s_bucket{%sle=\"+Inf\"} %d\n", name, labels, h.n)
	fmt.Fprintf(w, "%s_sum{%s} %g\n", name, strings.TrimSuffix(labels, ","), h.sum)
	fmt.Fprintf(w, "%s_count{%s} %d\n", name, strings.TrimSuffix(labels, ","), h.n)
}

// llmGroup is a model and key's series: the in-flight gauge and one
// llmSeries per backend that answered. A request finds its group once,
// when it is admitted (metrics.start), and records into it at its end
// without hashing its labels again.
type llmGroup struct {
	inflight int64
	backends []backendSeries // few: a model has a backend and a fallback
}

type backendSeries struct {
	name string
	*llmSeries
}

// llmSeries are a model, key and backend's series. The latency
// histograms are by stream, index 0 for answers not streamed, 1 for
// streams: a request finds its own by indexing, not by a map.
type llmSeries struct {
	input, output bhist
	// duration, ttft and tpot are successful requests'.
	duration, ttft, tpot [2]bhist
	failed               []failedSeries // few: one per error type seen
}

// failedSeries is the duration of failed requests of one error type.
type failedSeries struct {
	stream   bool
	errType  string
	duration bhist
}

func newLLMSeries() *llmSeries {
	s := &llmSeries{input: newBhist(tokenBuckets), output: newBhist(tokenBuckets)}
	for i := range 2 {
		s.duration[i], s.ttft[i], s.tpot[i] = newBhist(durationBuckets), newBhist(ttftBuckets), newBhist(tpotBuckets)
	}
	return s
}

// failedDuration is the histogram of failures of errType.
func (s *llmSeries) failedDuration(stream bool, errType string) *bhist {
	for i := range s.failed {
		if f := &s.failed[i]; f.stream == stream && f.errType == errType {
			return &f.duration
		}
	}
	s.failed = append(s.failed, failedSeries{stream: stream, errType: errType, duration: newBhist(durationBuckets)})
	return &s.failed[len(s.failed)-1].duration
}

// llmSample is what one chat completion adds to the GenAI metrics.
type llmSample struct {
	group              *llmGroup // from start; nil when the request was not admitted
	backend            string
	stream             bool
	status             int
	errType            string // "" for a success; see the package's metrics doc
	duration           time.Duration
	ttft               time.Duration // 0: none
	tpot               time.Duration // 0: none
	usage              bool          // prompt and completion come from the answer
	prompt, completion int
}

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
	llm         map[pairKey]*llmGroup // by model, key
	queued      map[string]int64      // by key
}

func newMetrics() *metrics {
	return &metrics{requests: map[reqKey]uint64{}, latency: map[string]*histogram{}, shaped: map[string]uint64{},
		backendErrs: map[pairKey]uint64{}, transitions: map[transKey]uint64{}, llm: map[pairKey]*llmGroup{},
		queued: map[string]int64{}}
}

// start counts an admitted chat completion of model and key in flight
// and returns its group, for the llmSample of its end.
func (m *metrics) start(model, key string) *llmGroup {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.llm[pairKey{model, key}]
	if g == nil {
		g = &llmGroup{}
		m.llm[pairKey{model, key}] = g
	}
	g.inflight++
	return g
}

// queue moves the queued gauge of key by n.
func (m *metrics) queue(key string, n int64) {
	m.mu.Lock()
	m.queued[key] += n
	m.mu.Unlock()
}

// request records a request answered; llm, when not nil, is the chat
// completion's sample, taken under the same lock.
func (m *metrics) request(route string, code int, d time.Duration, llm *llmSample) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if llm != nil {
		m.chat(llm)
	}
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

func (m *metrics) chat(s *llmSample) {
	if s.group == nil {
		return
	}
	s.group.inflight--
	if s.backend == "" && s.errType == "" {
		return // no backend answered and nothing failed: refused before forwarding
	}
	var ls *llmSeries
	for _, b := range s.group.backends {
		if b.name == s.backend {
			ls = b.llmSeries
		}
	}
	if ls == nil {
		ls = newLLMSeries()
		s.group.backends = append(s.group.backends, backendSeries{s.backend, ls})
	}
	if s.usage {
		ls.input.observe(float64(s.prompt))
		ls.output.observe(float64(s.completion))
	}
	if s.errType != "" {
		ls.failedDuration(s.stream, s.errType).observe(s.duration.Seconds())
		return
	}
	i := btoi(s.stream)
	ls.duration[i].observe(s.duration.Seconds())
	if s.status >= 300 {
		return // time to first token and per output token: successful answers
	}
	if s.ttft > 0 {
		ls.ttft[i].observe(s.ttft.Seconds())
	}
	if s.tpot > 0 {
		ls.tpot[i].observe(s.tpot.Seconds())
	}
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
	m.writeLLM(w)
}

// writeLLM prints the GenAI series and the in-flight and queued gauges.
func (m *metrics) writeLLM(w io.Writer) {
	gk := make([]pairKey, 0, len(m.llm))
	for k := range m.llm {
		gk = append(gk, k)
	}
	sort.Slice(gk, func(i, j int) bool { return gk[i].a+"\x00"+gk[i].b < gk[j].a+"\x00"+gk[j].b })
	type series struct {
		labels string
		*llmSeries
	}
	var all []series
	for _, k := range gk {
		bs := m.llm[k].backends
		sort.Slice(bs, func(i, j int) bool { return bs[i].name < bs[j].name })
		for _, b := range bs {
			all = append(all, series{fmt.Sprintf("gen_ai_operation_name=\"chat\",gen_ai_request_model=%q,key=%q,backend=%q,",
				k.a, k.b, b.name), b.llmSeries})
		}
	}
	const usage = "gen_ai_client_token_usage"
	fmt.Fprintf(w, "# HELP %s Tokens used by chat completions, from the answers' usage: input (prompt_tokens) and output (completion_tokens).\n# TYPE %s histogram\n", usage, usage)
	for _, s := range all {
		if s.input.n > 0 {
			s.input.write(w, usage, s.labels+`gen_ai_token_type="input",`)
			s.output.write(w, usage, s.labels+`gen_ai_token_type="output",`)
		}
	}
	for _, h := range []struct {
		name, help string
		of         func(*llmSeries) *[2]bhist
	}{
		{"gen_ai_server_request_duration_seconds", "Chat completion duration, from arrival to the answer's end; failed requests with error_type.",
			func(s *llmSeries) *[2]bhist { return &s.duration }},
		{"gen_ai_server_time_to_first_token_seconds", "Time to the first token relayed to the client (a non-streamed answer: its whole duration), successful answers.",
			func(s *llmSeries) *[2]bhist { return &s.ttft }},
		{"gen_ai_server_time_per_output_token_seconds", "Time per output token after the first, streamed successful answers.",
			func(s *llmSeries) *[2]bhist { return &s.tpot }},
	} {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", h.name, h.help, h.name)
		for _, s := range all {
			for i, hist := range h.of(s.llmSeries) {
				if hist.n > 0 {
					hist.write(w, h.name, s.labels+streamLabel[i])
				}
			}
			if h.name != "gen_ai_server_request_duration_seconds" {
				continue
			}
			failed := s.failed
			sort.Slice(failed, func(i, j int) bool {
				if failed[i].errType != failed[j].errType {
					return failed[i].errType < failed[j].errType
				}
				return !failed[i].stream && failed[j].stream
			})
			for _, f := range failed {
				f.duration.write(w, h.name, s.labels+streamLabel[btoi(f.stream)]+"error_type="+strconv.Quote(f.errType)+",")
			}
		}
	}

	fmt.Fprintf(w, "# HELP scfgate_requests_in_flight Chat completions admitted and not yet answered, by model and key.\n# TYPE scfgate_requests_in_flight gauge\n")
	for _, k := range gk {
		fmt.Fprintf(w, "scfgate_requests_in_flight{gen_ai_request_model=%q,key=%q} %d\n", k.a, k.b, m.llm[k].inflight)
	}
	fmt.Fprintf(w, "# HELP scfgate_requests_queued Requests waiting (up to max_wait) for the token buckets, by key.\n# TYPE scfgate_requests_queued gauge\n")
	for _, k := range sortedKeys(m.queued) {
		fmt.Fprintf(w, "scfgate_requests_queued{key=%q} %d\n", k, m.queued[k])
	}
}

// streamLabel is the stream label of the latency series, by index.
var streamLabel = [2]string{`stream="false",`, `stream="true",`}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// WriteMetrics writes every series /metrics serves, for a pusher that
// sends them elsewhere (promwrite, on SCF where nothing scrapes an
// instance).
func (g *Gateway) WriteMetrics(w io.Writer) {
	g.metrics.write(w, g.breakerStates())
	g.writeRoutingMetrics(w)
	for _, m := range g.extra {
		m.WriteMetrics(w)
	}
}
