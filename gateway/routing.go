package gateway

// Routing: which of a model's backends serves a request.
//
// A model has routes, backends in order of preference (Model.Routes, or
// Backend and Fallback), and a policy that orders them for each request:
// order, a pure function of what this gateway knows of each route (its
// weight, its requests in flight, its recent time to first token).
// forward, the one place where a backend is chosen, tries them in that
// order. A request spills from a route to the next when
//
//   - breaker_open: the route's circuit breaker is open;
//   - no_free_slot: the backend has BackendConfig.MaxInFlight requests of
//     this gateway in flight and the model allows no queue wait;
//   - queue_wait: no slot freed within the model's MaxQueueWait;
//   - throttled: the backend refused the request for load (a 429, SCF's
//     432) before anything went to the client.
//
// so that a request for a model whose function is cold or full goes to,
// say, a hosted OpenAI-compatible API while the scaler adds instances. A
// spilled request is still its model's demand: the per-model in-flight
// gauge (scfgate_requests_in_flight, which the scaler reads) counts it
// whichever backend serves it. Nothing that sent a byte to the client is
// spilled or retried, and a client's error (a 4xx other than 429) is
// passed on, never spilled. At the last route there is nowhere to spill:
// a throttle is retried (SCF) or passed on (a 429) as with a single
// backend, and a route that cannot take the request gets the client a
// 503 with Retry-After.
//
// Slots are this gateway instance's: a fleet of N gateway instances may
// have N × MaxInFlight requests at a backend.

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Spill reasons: why a route did not serve a request.
const (
	SpillBreakerOpen = "breaker_open"
	SpillNoFreeSlot  = "no_free_slot"
	SpillQueueWait   = "queue_wait"
	SpillThrottled   = "throttled"
)

// BackendHeader names, on every answer a backend gave (a success, a
// stream, an upstream's error), the backend that gave it.
const BackendHeader = "X-Scfgate-Backend"

// The time-to-first-token average (ttftAverage): a sample weighs at
// least ttftAlpha, more after a quiet spell (1 - e^(-gap/ttftTau)), and an
// average older than ttftStale is forgotten, so that a backend passed
// over for a slow spell is tried again.
const (
	ttftAlpha = 0.2
	ttftTau   = 10 * time.Second
	ttftStale = time.Minute
)

// maxRoutes sizes the per-request buffers of order; a model with more
// routes works, with an allocation.
const maxRoutes = 8

// backendState is one backend as this gateway instance routes to it.
type backendState struct {
	name     string
	header   []string // BackendHeader's value, shared by every answer: never modified
	backend  Backend
	breaker  *breaker
	slots    chan struct{} // holds one element per request in flight; nil: unlimited
	inFlight atomic.Int64
	queued   atomic.Int64 // requests waiting for a slot
	ttft     ttftAverage
}

func newBackendState(name string, b Backend, br *breaker, maxInFlight int) *backendState {
	s := &backendState{name: name, header: []string{name}, backend: b, breaker: br}
	if maxInFlight > 0 {
		s.slots = make(chan struct{}, maxInFlight)
	}
	return s
}

// tryAcquire takes a slot if one is free.
func (b *backendState) tryAcquire() bool {
	if b.slots != nil {
		select {
		case b.slots <- struct{}{}:
		default:
			return false
		}
	}
	b.inFlight.Add(1)
	return true
}

func (b *backendState) release() {
	b.inFlight.Add(-1)
	if b.slots != nil {
		<-b.slots
	}
}

// ttftAverage is a backend's recent time to first token: an
// exponentially weighted moving average over its successful answers.
type ttftAverage struct {
	mu  sync.Mutex
	avg float64   // seconds
	at  time.Time // the last sample's time; zero: none
}

// observe adds a sample d taken at now.
func (a *ttftAverage) observe(now time.Time, d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.at.IsZero() {
		a.avg, a.at = d.Seconds(), now
		return
	}
	w := max(ttftAlpha, 1-math.Exp(-now.Sub(a.at).Seconds()/ttftTau.Seconds()))
	a.avg += w * (d.Seconds() - a.avg)
	a.at = now
}

// recent is the average at now; 0 when there is no sample younger than
// ttftStale.
func (a *ttftAverage) recent(now time.Time) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.at.IsZero() || now.Sub(a.at) > ttftStale {
		return 0
	}
	return max(time.Duration(a.avg*float64(time.Second)), 1)
}

// servedModel is a configured model with its routes resolved.
type servedModel struct {
	Model
	routes []route
}

// route is one backend of a model.
type route struct {
	*backendState
	// upstream is the model name to put in the body for this backend;
	// "" sends the body as it is (with the model's Upstream or Name).
	upstream string
	weight   float64
}

func newServedModel(m Model, backends map[string]*backendState) *servedModel {
	rs := m.Routes
	if len(rs) == 0 {
		rs = []Route{{Backend: m.Backend}}
		if m.Fallback != "" {
			rs = append(rs, Route{Backend: m.Fallback})
		}
	}
	sent := m.Upstream
	if sent == "" {
		sent = m.Name
	}
	sm := &servedModel{Model: m}
	if sm.Policy == "" {
		sm.Policy = PolicyOrdered
	}
	for _, r := range rs {
		up := r.Upstream
		if up == sent {
			up = ""
		}
		sm.routes = append(sm.routes, route{backendState: backends[r.Backend], upstream: up, weight: r.Weight})
	}
	return sm
}

// routeView is what a policy knows of one route.
type routeView struct {
	weight   float64
	inFlight int64
	ttft     time.Duration // recent time to first token; 0: none recent
}

// order appends to out the indexes of views in the order policy tries
// them. draw, in [0, 1), picks the first route under PolicyWeighted. Ties
// keep the configured order.
//
//   - ordered: as configured;
//   - weighted: one drawn with probability weight/total, then the others
//     as configured;
//   - least_in_flight: fewest in flight first;
//   - lowest_ttft: routes with no recent TTFT first (so that each is
//     measured again), then the lowest TTFT first.
func order(policy string, views []routeView, draw float64, out []int) []int {
	start := len(out)
	for i := range views {
		out = append(out, i)
	}
	idx := out[start:]
	switch policy {
	case PolicyWeighted:
		total := 0.0
		for _, v := range views {
			total += v.weight
		}
		pick, x := -1, draw*total
		for i, v := range views {
			if v.weight <= 0 {
				continue
			}
			pick = i
			if x < v.weight {
				break
			}
			x -= v.weight
		}
		if pick > 0 {
			copy(idx[1:pick+1], idx[:pick])
			idx[0] = pick
		}
	case PolicyLeastInFlight:
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(views[a].inFlight, views[b].inFlight) })
	case PolicyLowestTTFT:
		// No recent sample is 0, the lowest: such routes come first.
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(views[a].ttft, views[b].ttft) })
	}
	return out
}

// order is the model's routes in the order its policy tries them for
// this request, appended to out.
func (g *Gateway) order(m *servedModel, out []int) []int {
	if m.Policy == PolicyOrdered {
		for i := range m.routes {
			out = append(out, i)
		}
		return out
	}
	var buf [maxRoutes]routeView
	views := buf[:0]
	now := g.now()
	for _, r := range m.routes {
		views = append(views, routeView{weight: r.weight, inFlight: r.inFlight.Load(), ttft: r.ttft.recent(now)})
	}
	return order(m.Policy, views, g.rand(), out)
}

// attempt is the backend's answer that forward returns.
type attempt struct {
	resp *BackendResponse
	// backend gave resp, or the failure forward returns; nil when no
	// backend was called.
	backend *backendState
	held    bool      // a slot of backend is held until release
	sent    time.Time // when backend was called
	// spill is why the policy's first choice did not serve the request;
	// "" when it did.
	spill string
	// done reports the outcome of a 2xx answer to the breaker once its
	// body is sent (nil, errFailed or errNotCounted); nil when the
	// outcome is already reported.
	done func(error)
}

// release frees the backend's slot.
func (a *attempt) release() {
	if a.held {
		a.held = false
		a.backend.release()
	}
}

// forward sends the request to one of the model's routes: the one place
// where a backend is chosen. The policy orders the routes; each is tried
// in turn, and passed over (a spill, counted by reason) when it cannot
// take the request or throttles it. The route that takes it retries
// retryable failures within the deadline. An upstream's answer, whatever
// its status, is returned as it is and never retried: a 4xx is the
// client's (a 429 included when no route is left: its Retry-After reaches
// the client). On success the caller releases the slot (attempt.release)
// once the answer is through.
func (g *Gateway) forward(ctx context.Context, m *servedModel, req *BackendRequest) (attempt, *BackendError) {
	var buf [maxRoutes]int
	routes := g.order(m, buf[:0])
	body := req.Body
	wait := m.MaxQueueWait // a request waits for a slot once, at the first full route
	var a attempt
	var refusal *BackendError // the answer when no route takes the request: the soonest to retry
	for i, ri := range routes {
		r := &m.routes[ri]
		spill := i+1 < len(routes)
		var reason string
		done, refused := g.take(ctx, r.backendState, &wait)
		switch {
		case refused == nil:
			a.backend, a.held, a.sent = r.backendState, true, g.now()
			resp, done, be := g.send(ctx, r, req, body, done, spill)
			if !spill || !throttled(resp, be) {
				if be != nil {
					a.release()
					return a, be
				}
				a.resp = resp
				if resp.Status < 400 {
					a.done = done
				}
				return a, nil
			}
			if be == nil {
				drain(resp.Body)
			}
			a.release()
			a.backend, reason = nil, SpillThrottled
		case refused.Kind == FailCanceled || refused.Kind == FailTimeout:
			return a, refused // the client went away, or the deadline passed, while waiting
		default:
			reason = refused.Kind
			if refusal == nil || refused.RetryAfter < refusal.RetryAfter {
				refusal = refused
			}
		}
		if !spill {
			return a, refusal
		}
		g.spills.add(spillKey{m.Name, r.name, m.routes[routes[i+1]].name, reason})
		if a.spill == "" {
			a.spill = reason
		}
	}
	return a, refusal // not reached: the last route returns
}

// throttled tells an upstream's refusal for load: a 429, or SCF's 432.
func throttled(resp *BackendResponse, be *BackendError) bool {
	if be != nil {
		return be.Kind == FailThrottle
	}
	return resp.Status == http.StatusTooManyRequests
}

// take reserves a slot of b and its breaker's pass for the request's
// first call. A route with no free slot is waited for while *wait lasts;
// the wait spends it. It returns the breaker's done, or a refusal: a
// BackendError whose Kind is the spill reason, or the context's error
// when it ended while waiting.
func (g *Gateway) take(ctx context.Context, b *backendState, wait *time.Duration) (func(error), *BackendError) {
	done, err := b.breaker.allow()
	if err != nil {
		return nil, &BackendError{Kind: SpillBreakerOpen, Status: http.StatusServiceUnavailable,
			RetryAfter: b.breaker.retryAfter(), Err: fmt.Errorf("backend %s: %w", b.name, err)}
	}
	if b.tryAcquire() {
		return done, nil
	}
	// Not sent: a half-open breaker's probe goes to another request.
	done(errNotCounted)
	full := &BackendError{Kind: SpillNoFreeSlot, Status: http.StatusServiceUnavailable, RetryAfter: time.Second,
		Err: fmt.Errorf("backend %s: all %d slots in use", b.name, cap(b.slots))}
	if *wait <= 0 {
		return nil, full
	}
	d := *wait
	*wait = 0
	if !g.waitSlot(ctx, b, d) {
		if err := ctx.Err(); err != nil {
			return nil, classifyContext(ctx, err)
		}
		full.Kind = SpillQueueWait
		full.Err = fmt.Errorf("backend %s: no slot free within %v", b.name, d)
		return nil, full
	}
	if done, err = b.breaker.allow(); err != nil {
		b.release()
		return nil, &BackendError{Kind: SpillBreakerOpen, Status: http.StatusServiceUnavailable,
			RetryAfter: b.breaker.retryAfter(), Err: fmt.Errorf("backend %s: %w", b.name, err)}
	}
	return done, nil
}

// waitSlot waits up to d (with the gateway's sleep) for a slot of b. It
// reports whether it got one.
func (g *Gateway) waitSlot(ctx context.Context, b *backendState, d time.Duration) bool {
	b.queued.Add(1)
	defer b.queued.Add(-1)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_ = g.sleep(wctx, d)
		cancel()
	}()
	select {
	case b.slots <- struct{}{}:
		b.inFlight.Add(1)
		return true
	case <-wctx.Done():
		return false
	}
}

// send calls r's backend with body (its model name set for r), done
// being the breaker's pass, and retries retryable failures within the
// deadline, each retry through the breaker again. With spill set
// (another route is left), a throttle is returned at once rather than
// retried. It returns the answer with the done of the call that gave it.
func (g *Gateway) send(ctx context.Context, r *route, req *BackendRequest, body []byte, done func(error), spill bool) (*BackendResponse, func(error), *BackendError) {
	req.Body = body
	if r.upstream != "" {
		var err error
		if req.Body, err = replaceModel(body, r.upstream); err != nil {
			// Not reached: the body was read as a JSON object.
			done(errNotCounted)
			return nil, nil, &BackendError{Kind: FailUpstream, Status: http.StatusBadGateway,
				Err: fmt.Errorf("set the model for backend %s: %w", r.name, err)}
		}
	}
	for n := 0; ; n++ {
		resp, err := r.backend.ChatCompletion(ctx, req)
		be := g.outcome(ctx, r.name, resp, err, done)
		if be == nil {
			return resp, done, nil
		}
		if (spill && be.Kind == FailThrottle) || !be.Retryable || n >= g.cfg.Retry.Max || !g.backoff(ctx, n, be.RetryAfter) {
			return nil, nil, be
		}
		if done, err = r.breaker.allow(); err != nil {
			return nil, nil, be // the breaker opened: the last failure stands
		}
	}
}

// settle reports a 2xx or 3xx answer's outcome to the breaker once its
// body is through (result: nil, errFailed or errNotCounted) and, for a
// success, its time to first token to the backend's average: to the
// first data line of a stream, to the end of any other answer, from when
// the backend was called.
func (g *Gateway) settle(a *attempt, result error, st *requestState) {
	if a.done == nil {
		return
	}
	a.done(result)
	if result == errFailed {
		st.llm.failure = FailUpstream
		g.metrics.backendError(a.backend.name, FailUpstream)
	}
	if result == nil && a.resp.Status < 300 {
		first := st.llm.first
		if !st.llm.stream || first.IsZero() {
			first = g.now()
		}
		a.backend.ttft.observe(first, first.Sub(a.sent))
	}
}

// spillKey labels scfgate_spills_total.
type spillKey struct{ model, from, to, reason string }

// spillCounts counts spills.
type spillCounts struct {
	mu sync.Mutex
	n  map[spillKey]uint64
}

func (s *spillCounts) add(k spillKey) {
	s.mu.Lock()
	if s.n == nil {
		s.n = map[spillKey]uint64{}
	}
	s.n[k]++
	s.mu.Unlock()
}

// writeRoutingMetrics prints the spills and each backend's in-flight and
// queued gauges.
func (g *Gateway) writeRoutingMetrics(w io.Writer) {
	type count struct {
		spillKey
		n uint64
	}
	g.spills.mu.Lock()
	spills := make([]count, 0, len(g.spills.n))
	for k, n := range g.spills.n {
		spills = append(spills, count{k, n})
	}
	g.spills.mu.Unlock()
	slices.SortFunc(spills, func(a, b count) int {
		return cmp.Or(cmp.Compare(a.model, b.model), cmp.Compare(a.from, b.from), cmp.Compare(a.to, b.to),
			cmp.Compare(a.reason, b.reason))
	})
	fmt.Fprintf(w, "# HELP scfgate_spills_total Requests passed from a model's backend to its next one, by model, backends and reason.\n# TYPE scfgate_spills_total counter\n")
	for _, c := range spills {
		fmt.Fprintf(w, "scfgate_spills_total{gen_ai_request_model=%q,from=%q,to=%q,reason=%q} %d\n", c.model, c.from, c.to, c.reason, c.n)
	}
	names := sortedKeys(g.backends)
	fmt.Fprintf(w, "# HELP scfgate_backend_in_flight Requests this gateway has at a backend, by backend.\n# TYPE scfgate_backend_in_flight gauge\n")
	for _, name := range names {
		fmt.Fprintf(w, "scfgate_backend_in_flight{backend=%q} %d\n", name, g.backends[name].inFlight.Load())
	}
	fmt.Fprintf(w, "# HELP scfgate_backend_queued Requests waiting (up to max_queue_wait) for a backend's free slot, by backend.\n# TYPE scfgate_backend_queued gauge\n")
	for _, name := range names {
		fmt.Fprintf(w, "scfgate_backend_queued{backend=%q} %d\n", name, g.backends[name].queued.Load())
	}
}
