package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// heldStream is an SSE answer that sends one event, then waits for
// release before it finishes: a request holding its backend's slot.
type heldStream struct {
	release <-chan struct{}
	step    int
}

func (h *heldStream) Read(p []byte) (int, error) {
	h.step++
	switch h.step {
	case 1:
		return copy(p, "data: {\"choices\":[]}\n\n"), nil
	case 2:
		<-h.release
		return copy(p, "data: [DONE]\n\n"), nil
	}
	return 0, io.EOF
}

func (h *heldStream) Close() error { return nil }

func wholeStream() *BackendResponse {
	return &BackendResponse{Status: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(strings.NewReader("data: {\"choices\":[]}\n\ndata: [DONE]\n\n"))}
}

// routeEnv is a gateway with two fake backends, primary and spare. Every
// stream primary is asked for is held until release is closed; spare
// answers at once, remembering the last body it got.
type routeEnv struct {
	g              *Gateway
	logs           *logBuffer
	primary, spare *fakeBackend
	release        chan struct{}
	releaseOnce    sync.Once
	held           sync.WaitGroup

	mu        sync.Mutex
	spareBody []byte
}

// openSignal holds the named backends open, as another instance would.
type openSignal map[string]bool

func (s openSignal) OpenFor(backend string) time.Duration {
	if s[backend] {
		return 30 * time.Second
	}
	return 0
}

func (openSignal) Opened(string, time.Duration) {}

func newRouteEnv(t *testing.T, cfg Config, primary func(ctx context.Context, req *BackendRequest) (*BackendResponse, error), opts Options) *routeEnv {
	t.Helper()
	e := &routeEnv{logs: &logBuffer{}, release: make(chan struct{})}
	e.primary = &fakeBackend{fn: func(ctx context.Context, req *BackendRequest) (*BackendResponse, error) {
		if req.Stream {
			return &BackendResponse{Status: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
				Body: &heldStream{release: e.release}}, nil
		}
		if primary != nil {
			return primary(ctx, req)
		}
		return okResponse(completion), nil
	}}
	e.spare = &fakeBackend{fn: func(_ context.Context, req *BackendRequest) (*BackendResponse, error) {
		e.mu.Lock()
		e.spareBody = req.Body
		e.mu.Unlock()
		if req.Stream {
			return wholeStream(), nil
		}
		return okResponse(completion), nil
	}}
	opts.Logger = e.logs.logger()
	opts.Backends = map[string]Backend{"primary": e.primary, "spare": e.spare}
	e.g = newTestGateway(t, cfg, opts)
	t.Cleanup(e.finish)
	return e
}

// hold starts n streams, which stay in flight until finish, and waits
// until they are.
func (e *routeEnv) hold(n int) {
	for range n {
		e.held.Add(1)
		go func() {
			defer e.held.Done()
			e.g.ServeHTTP(httptest.NewRecorder(), chatReq(streamBody))
		}()
	}
	synctest.Wait()
}

// finish lets the held streams end and waits for them.
func (e *routeEnv) finish() {
	e.releaseOnce.Do(func() { close(e.release) })
	e.held.Wait()
}

func spillSeries(from, to, reason string) string {
	return `scfgate_spills_total{gen_ai_request_model="hunyuan-13b",from="` + from + `",to="` + to + `",reason="` + reason + `"}`
}

// totalSpills sums every scfgate_spills_total series.
func totalSpills(m map[string]float64) float64 {
	n := 0.0
	for k, v := range m {
		if strings.HasPrefix(k, "scfgate_spills_total{") {
			n += v
		}
	}
	return n
}

func TestSpill(t *testing.T) {
	withSpare := func(c *Config) { c.Models[0].Fallback = "spare" }
	slots := func(n int, wait time.Duration) func(*Config) {
		return func(c *Config) {
			c.Models[0].Fallback = "spare"
			c.Backends[0].MaxInFlight = n
			c.Models[0].MaxQueueWait = wait
		}
	}
	throttle429 := func(context.Context, *BackendRequest) (*BackendResponse, error) {
		return statusResponse(429, "Retry-After", "5"), nil
	}
	throttle432 := func(context.Context, *BackendRequest) (*BackendResponse, error) {
		return nil, &BackendError{Kind: FailThrottle, Status: 429, Retryable: true, Err: errors.New("432")}
	}
	tests := []struct {
		name    string
		cfg     func(*Config)
		primary func(context.Context, *BackendRequest) (*BackendResponse, error)
		open    bool // primary's breaker held open
		hold    int  // streams holding primary's slots
		// releaseAfter, when set, lets the held streams end after it.
		releaseAfter time.Duration
		body         string

		status       int
		backend      string // X-Scfgate-Backend; "" none
		spill        string // the spill counted, as "reason"; "" none
		primaryCalls int64  // not counting the held streams
		spareCalls   int64
		waited       time.Duration
	}{
		{name: "healthy primary", cfg: withSpare, status: 200, backend: "primary", primaryCalls: 1},
		{name: "breaker open", cfg: withSpare, open: true, status: 200, backend: "spare", spill: SpillBreakerOpen, spareCalls: 1},
		{name: "breaker open, stream", cfg: withSpare, open: true, body: streamBody, status: 200, backend: "spare",
			spill: SpillBreakerOpen, spareCalls: 1},
		{name: "all slots busy", cfg: slots(2, 0), hold: 2, status: 200, backend: "spare", spill: SpillNoFreeSlot, spareCalls: 1},
		{name: "a slot free", cfg: slots(2, 0), hold: 1, status: 200, backend: "primary", primaryCalls: 1},
		{name: "slot frees within the queue wait", cfg: slots(1, 5*time.Second), hold: 1, releaseAfter: 2 * time.Second,
			status: 200, backend: "primary", primaryCalls: 1, waited: 2 * time.Second},
		{name: "no slot within the queue wait", cfg: slots(1, time.Second), hold: 1, releaseAfter: 10 * time.Second,
			status: 200, backend: "spare", spill: SpillQueueWait, spareCalls: 1, waited: time.Second},
		{name: "full with nowhere to spill", cfg: func(c *Config) {
			c.Backends[0].MaxInFlight = 1
			c.Models[0].MaxQueueWait = 3 * time.Second
		}, hold: 1, status: 503, waited: 3 * time.Second},
		{name: "throttled (429)", cfg: withSpare, primary: throttle429, status: 200, backend: "spare", spill: SpillThrottled,
			primaryCalls: 1, spareCalls: 1},
		{name: "throttled (SCF 432) is not retried", cfg: withSpare, primary: throttle432, status: 200, backend: "spare",
			spill: SpillThrottled, primaryCalls: 1, spareCalls: 1},
		{name: "throttled with nowhere to spill", primary: throttle429, status: 429, backend: "primary", primaryCalls: 1},
		{name: "upstream client error is not spilled", cfg: withSpare,
			primary: func(context.Context, *BackendRequest) (*BackendResponse, error) { return statusResponse(400), nil },
			status:  400, backend: "primary", primaryCalls: 1},
		{name: "upstream failure is not spilled", cfg: withSpare,
			primary: func(context.Context, *BackendRequest) (*BackendResponse, error) {
				return nil, &BackendError{Kind: FailFunction, Status: 502, Err: errors.New("boom")}
			},
			status: 502, backend: "primary", primaryCalls: 1},
		{name: "invalid request never reaches a backend", cfg: withSpare, open: true,
			body: `{"model":"hunyuan-13b","messages":[]}`, status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testConfig()
				cfg.Retry.Max = 1
				if tc.cfg != nil {
					tc.cfg(&cfg)
				}
				e := newRouteEnv(t, cfg, tc.primary, Options{BreakerSignal: openSignal{"primary": tc.open}})
				e.hold(tc.hold)
				if tc.releaseAfter > 0 {
					release := time.AfterFunc(tc.releaseAfter, func() { e.releaseOnce.Do(func() { close(e.release) }) })
					defer release.Stop()
				}
				body := tc.body
				if body == "" {
					body = goodBody
				}
				start := time.Now()
				rec := httptestChat(e.g, body)
				if rec.Code != tc.status {
					t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
				}
				if waited := time.Since(start); waited != tc.waited {
					t.Errorf("answered after %v, want %v", waited, tc.waited)
				}
				if got := rec.Header().Get(BackendHeader); got != tc.backend {
					t.Errorf("%s = %q, want %q", BackendHeader, got, tc.backend)
				}
				if n := e.primary.calls.Load() - int64(tc.hold); n != tc.primaryCalls {
					t.Errorf("primary called %d times, want %d", n, tc.primaryCalls)
				}
				if n := e.spare.calls.Load(); n != tc.spareCalls {
					t.Errorf("spare called %d times, want %d", n, tc.spareCalls)
				}
				if tc.body == streamBody && !strings.HasSuffix(rec.Body.String(), "data: [DONE]\n\n") {
					t.Errorf("stream = %q", rec.Body)
				}
				if tc.status != 400 {
					line := accessLine(t, e.logs.take())
					wantBackend := tc.backend
					if tc.status >= 500 {
						wantBackend = "" // no backend answered
					}
					if line["backend"] != wantBackend || line["spill_reason"] != tc.spill {
						t.Errorf("access log backend %v spill_reason %v, want %q %q", line["backend"], line["spill_reason"], wantBackend, tc.spill)
					}
				}
				m := promMetrics(t, e.g)
				wantSpills := 0.0
				if tc.spill != "" {
					wantSpills = 1
					if s := spillSeries("primary", "spare", tc.spill); m[s] != 1 {
						t.Errorf("%s = %v, want 1", s, m[s])
					}
				}
				if n := totalSpills(m); n != wantSpills {
					t.Errorf("%v spills counted, want %v", n, wantSpills)
				}
				if tc.status == 503 {
					if e := decodeError(t, rec); e.Error.Code == nil || *e.Error.Code != "backend_at_capacity" {
						t.Errorf("error = %+v", e.Error)
					}
					if ra := rec.Header().Get("Retry-After"); ra != "1" {
						t.Errorf("Retry-After = %q", ra)
					}
				}
				e.finish()
				m = promMetrics(t, e.g)
				for _, b := range []string{"primary", "spare"} {
					if n := m[`scfgate_backend_in_flight{backend="`+b+`"}`]; n != 0 {
						t.Errorf("%s: %v in flight after every request ended", b, n)
					}
				}
			})
		})
	}
}

// TestSpillWaitsInFlight: a request waiting for a slot is in the
// backend's queued gauge, and the held ones in its in-flight gauge.
func TestSpillWaitsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Backends[0].MaxInFlight = 2
		cfg.Models[0].MaxQueueWait = time.Minute
		e := newRouteEnv(t, cfg, nil, Options{})
		e.hold(2)
		done := make(chan int)
		go func() { done <- httptestChat(e.g, goodBody).Code }()
		synctest.Wait()
		m := promMetrics(t, e.g)
		if m[`scfgate_backend_in_flight{backend="primary"}`] != 2 || m[`scfgate_backend_queued{backend="primary"}`] != 1 {
			t.Errorf("in flight %v, queued %v; want 2, 1", m[`scfgate_backend_in_flight{backend="primary"}`],
				m[`scfgate_backend_queued{backend="primary"}`])
		}
		if n := m[`scfgate_requests_in_flight{gen_ai_request_model="hunyuan-13b",key="alice"}`]; n != 3 {
			t.Errorf("model in flight %v, want 3: a waiting request is its model's demand", n)
		}
		e.finish()
		if code := <-done; code != 200 {
			t.Errorf("waiting request: %d", code)
		}
	})
}

func TestRouteUpstream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Models[0] = Model{Name: "hunyuan-13b", Upstream: "hunyuan-13b-bf16",
			Routes: []Route{{Backend: "primary"}, {Backend: "spare", Upstream: "hunyuan-turbos-latest"}}}
		var primaryBody []byte
		e := newRouteEnv(t, cfg, func(_ context.Context, req *BackendRequest) (*BackendResponse, error) {
			primaryBody = req.Body
			return statusResponse(429), nil
		}, Options{})
		if rec := httptestChat(e.g, goodBody); rec.Code != 200 || rec.Header().Get(BackendHeader) != "spare" {
			t.Fatalf("%d from %q", rec.Code, rec.Header().Get(BackendHeader))
		}
		if !bytes.Contains(primaryBody, []byte(`"model":"hunyuan-13b-bf16"`)) {
			t.Errorf("primary got %s", primaryBody)
		}
		if !bytes.Contains(e.spareBody, []byte(`"model":"hunyuan-turbos-latest"`)) {
			t.Errorf("spare got %s", e.spareBody)
		}
	})
}

func TestWeightedRouting(t *testing.T) {
	cfg := testConfig()
	cfg.Models[0] = Model{Name: "hunyuan-13b", Policy: PolicyWeighted,
		Routes: []Route{{Backend: "primary", Weight: 3}, {Backend: "spare", Weight: 1}}}
	rng := mrand.New(mrand.NewPCG(1, 2))
	e := newRouteEnv(t, cfg, nil, Options{Rand: rng.Float64})
	const n = 2000
	for range n {
		if rec := httptestChat(e.g, goodBody); rec.Code != 200 {
			t.Fatalf("status %d", rec.Code)
		}
	}
	p, s := e.primary.calls.Load(), e.spare.calls.Load()
	if p+s != n || p < n*3/4-100 || p > n*3/4+100 {
		t.Errorf("primary %d, spare %d of %d; want about 3:1", p, s, n)
	}
	if spills := totalSpills(promMetrics(t, e.g)); spills != 0 {
		t.Errorf("%v spills", spills)
	}
}

func TestLeastInFlightRouting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Models[0] = Model{Name: "hunyuan-13b", Policy: PolicyLeastInFlight,
			Routes: []Route{{Backend: "primary"}, {Backend: "spare"}}}
		e := newRouteEnv(t, cfg, nil, Options{})
		e.hold(1) // a tie: the first route, primary
		if e.primary.calls.Load() != 1 {
			t.Fatalf("the held stream went to spare")
		}
		for range 3 {
			if got := httptestChat(e.g, goodBody).Header().Get(BackendHeader); got != "spare" {
				t.Errorf("served by %q with primary busy, want spare", got)
			}
		}
		e.finish()
		if got := httptestChat(e.g, goodBody).Header().Get(BackendHeader); got != "primary" {
			t.Errorf("served by %q with both idle, want primary", got)
		}
	})
}

func TestLowestTTFTRouting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Models[0] = Model{Name: "hunyuan-13b", Policy: PolicyLowestTTFT,
			Routes: []Route{{Backend: "primary"}, {Backend: "spare"}}}
		e := newRouteEnv(t, cfg, func(context.Context, *BackendRequest) (*BackendResponse, error) {
			time.Sleep(2 * time.Second) // slow to answer
			return okResponse(completion), nil
		}, Options{})
		var got []string
		for range 4 {
			got = append(got, httptestChat(e.g, goodBody).Header().Get(BackendHeader))
		}
		// Neither measured: primary (first listed); then spare, not yet
		// measured; then spare, the faster.
		if want := "primary spare spare spare"; strings.Join(got, " ") != want {
			t.Errorf("served by %v, want %s", got, want)
		}
		// Primary's average goes stale: it is measured again.
		time.Sleep(ttftStale + time.Second)
		httptestChat(e.g, goodBody) // spare is stale too: both unmeasured, primary first
		if got := httptestChat(e.g, goodBody).Header().Get(BackendHeader); got != "spare" {
			t.Errorf("after a fresh sample of each: %q, want spare", got)
		}
	})
}

func TestOrder(t *testing.T) {
	views := []routeView{{weight: 1, inFlight: 5, ttft: 300 * time.Millisecond},
		{weight: 0, inFlight: 2, ttft: 0}, {weight: 3, inFlight: 2, ttft: 100 * time.Millisecond}}
	tests := []struct {
		policy string
		draw   float64
		want   []int
	}{
		{PolicyOrdered, 0, []int{0, 1, 2}},
		{PolicyWeighted, 0, []int{0, 1, 2}},
		{PolicyWeighted, 0.24, []int{0, 1, 2}},
		{PolicyWeighted, 0.25, []int{2, 0, 1}},
		{PolicyWeighted, 0.999, []int{2, 0, 1}},
		{PolicyLeastInFlight, 0, []int{1, 2, 0}},
		{PolicyLowestTTFT, 0, []int{1, 2, 0}},
	}
	for _, tc := range tests {
		var buf [maxRoutes]int
		got := order(tc.policy, views, tc.draw, buf[:0])
		if !equalInts(got, tc.want) {
			t.Errorf("%s draw %v: %v, want %v", tc.policy, tc.draw, got, tc.want)
		}
	}
	// A weight of 0 is never drawn first.
	for draw := 0.0; draw < 1; draw += 0.01 {
		if got := order(PolicyWeighted, views, draw, nil); got[0] == 1 {
			t.Fatalf("draw %v picked the weight-0 route", draw)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTTFTAverage(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var a ttftAverage
	if d := a.recent(t0); d != 0 {
		t.Fatalf("no sample: %v", d)
	}
	steps := []struct {
		at   time.Duration // since t0
		ttft time.Duration
		want time.Duration
	}{
		{0, time.Second, time.Second},
		{0, 2 * time.Second, 1200 * time.Millisecond},                   // at once: weight ttftAlpha
		{time.Second, 1200 * time.Millisecond, 1200 * time.Millisecond}, // the same value: unchanged
		{50 * time.Second, 3 * time.Second, 2986596150},                 // after a quiet spell it weighs 1-e^-4.9
	}
	for i, s := range steps {
		a.observe(t0.Add(s.at), s.ttft)
		if got := a.recent(t0.Add(s.at)); got < s.want-time.Millisecond || got > s.want+time.Millisecond {
			t.Errorf("step %d: %v, want %v", i, got, s.want)
		}
	}
	if d := a.recent(t0.Add(50*time.Second + ttftStale + time.Nanosecond)); d != 0 {
		t.Errorf("stale average %v, want 0", d)
	}
}

func TestRoutesValidate(t *testing.T) {
	tests := []struct {
		key    string
		mutate func(*Config)
	}{
		{"models[0].routes", func(c *Config) { c.Models[0].Routes = []Route{{Backend: "spare"}} }},
		{"models[0].routes[0].backend", func(c *Config) { c.Models[0] = Model{Name: "m", Routes: []Route{{Backend: "nope"}}} }},
		{"models[0].routes[1].backend", func(c *Config) {
			c.Models[0] = Model{Name: "m", Routes: []Route{{Backend: "primary"}, {Backend: "primary"}}}
		}},
		{"models[0].routes[0].weight", func(c *Config) { c.Models[0] = Model{Name: "m", Routes: []Route{{Backend: "primary", Weight: -1}}} }},
		{"models[0].routes", func(c *Config) {
			c.Models[0] = Model{Name: "m", Policy: PolicyWeighted, Routes: []Route{{Backend: "primary"}, {Backend: "spare"}}}
		}},
		{"models[0].policy", func(c *Config) { c.Models[0].Policy = "fastest" }},
		{"models[0].max_queue_wait", func(c *Config) { c.Models[0].MaxQueueWait = -time.Second }},
		{"backends[0].max_in_flight", func(c *Config) { c.Backends[0].MaxInFlight = -1 }},
	}
	for _, tc := range tests {
		c := testConfig()
		tc.mutate(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "config "+tc.key+":") {
			t.Errorf("%s: %v", tc.key, err)
		}
	}
	c := testConfig()
	c.Models[0] = Model{Name: "m", Policy: PolicyWeighted, MaxQueueWait: time.Second,
		Routes: []Route{{Backend: "primary", Weight: 1}, {Backend: "spare", Upstream: "other"}}}
	c.Backends[0].MaxInFlight = 8
	if err := c.Validate(); err != nil {
		t.Errorf("valid routes: %v", err)
	}
}

// TestSpillToOpenAICompatibleAPI serves a model whose primary is full
// from a real HTTP OpenAI-compatible fallback (as Hunyuan's API is one),
// with the fallback's own key and model name.
func TestSpillToOpenAICompatibleAPI(t *testing.T) {
	type seen struct{ auth, model string }
	got := make(chan seen, 2)
	hosted := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		model := ""
		if bytes.Contains(body, []byte(`"model":"hunyuan-turbos-latest"`)) {
			model = "hunyuan-turbos-latest"
		}
		got <- seen{r.Header.Get("Authorization"), model}
		if bytes.Contains(body, []byte(`"stream":true`)) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set(BackendHeader, "not-ours")
		_, _ = io.WriteString(w, completion)
	}))
	defer hosted.Close()

	cfg := testConfig()
	cfg.Backends[1] = BackendConfig{Name: "hunyuan", Kind: KindHTTP,
		HTTP: HTTPConfig{URL: hosted.URL + "/v1", APIKey: "sk-hunyuan"}}
	cfg.Backends[0].MaxInFlight = 1
	cfg.Models[0].Routes = []Route{{Backend: "primary"}, {Backend: "hunyuan", Upstream: "hunyuan-turbos-latest"}}
	cfg.Models[0].Backend = ""
	release := make(chan struct{})
	var releaseOnce sync.Once
	primary := &fakeBackend{fn: func(context.Context, *BackendRequest) (*BackendResponse, error) {
		return &BackendResponse{Status: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
			Body: &heldStream{release: release}}, nil
	}}
	g := newTestGateway(t, cfg, Options{Backends: map[string]Backend{"primary": primary}})
	front := httptest.NewServer(g)
	defer front.Close()
	// Before the server closes (it waits for the held stream), even when
	// the test fails.
	defer releaseOnce.Do(func() { close(release) })
	post := func(body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, front.URL+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	// One stream holds the primary's only slot.
	held := post(streamBody)
	if b := held.Header.Get(BackendHeader); b != "primary" {
		t.Fatalf("first stream served by %q", b)
	}
	buf := make([]byte, 8)
	if _, err := io.ReadFull(held.Body, buf); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{goodBody, streamBody} {
		resp := post(body)
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get(BackendHeader) != "hunyuan" {
			t.Fatalf("%d from %q: %s", resp.StatusCode, resp.Header.Get(BackendHeader), out)
		}
		if s := <-got; s.auth != "Bearer sk-hunyuan" || s.model != "hunyuan-turbos-latest" {
			t.Errorf("the hosted API got %+v", s)
		}
		if body == streamBody && !strings.HasSuffix(string(out), "data: [DONE]\n\n") {
			t.Errorf("stream %q", out)
		}
	}
	releaseOnce.Do(func() { close(release) })
	_, _ = io.Copy(io.Discard, held.Body)
	held.Body.Close()
	if n := promMetrics(t, g)[`scfgate_spills_total{gen_ai_request_model="hunyuan-13b",from="primary",to="hunyuan",reason="no_free_slot"}`]; n != 2 {
		t.Errorf("%v spills counted, want 2", n)
	}
}
