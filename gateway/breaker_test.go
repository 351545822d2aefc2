package gateway

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// switchBackend answers with whatever outcome is set.
type switchBackend struct {
	fakeBackend
	outcome func() (*BackendResponse, error)
}

func newSwitch() *switchBackend {
	s := &switchBackend{}
	s.fn = func(ctx context.Context, _ *BackendRequest) (*BackendResponse, error) {
		if ctx.Err() != nil {
			return nil, classifyContext(ctx, ctx.Err())
		}
		return s.outcome()
	}
	return s
}

func send(g *Gateway) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, chatReq(goodBody))
	return rec
}

func breakerState(t *testing.T, g *Gateway, name string) string {
	t.Helper()
	return g.breakers[name].state()
}

func TestBreaker(t *testing.T) {
	failing := func() (*BackendResponse, error) {
		return nil, &BackendError{Kind: FailFunction, Status: 502, Err: errors.New("boom")}
	}
	ok := func() (*BackendResponse, error) { return okResponse(completion), nil }
	synctest.Test(t, func(t *testing.T) {
		b := newSwitch()
		cfg := testConfig()
		cfg.Retry.Max = -1
		g := newTestGateway(t, cfg, Options{Backends: map[string]Backend{"primary": b}})

		b.outcome = failing
		for i := range 4 {
			if rec := send(g); rec.Code != 502 {
				t.Fatalf("failure %d: status %d", i, rec.Code)
			}
		}
		if s := breakerState(t, g, "primary"); s != "closed" {
			t.Fatalf("after 4 failures: %s", s)
		}
		send(g)
		if s := breakerState(t, g, "primary"); s != "open" {
			t.Fatalf("after 5 failures: %s", s)
		}
		calls := b.calls.Load()
		time.Sleep(10 * time.Second)
		rec := send(g)
		if rec.Code != 503 || b.calls.Load() != calls {
			t.Fatalf("open breaker: status %d, backend calls %d -> %d", rec.Code, calls, b.calls.Load())
		}
		if ra := rec.Header().Get("Retry-After"); ra != "20" {
			t.Errorf("Retry-After = %q, want the 20 s left", ra)
		}
		if e := decodeError(t, rec); !strings.Contains(e.Error.Message, "circuit open") {
			t.Errorf("message = %q", e.Error.Message)
		}
		rec = httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"name":"primary","kind":"http","breaker":"open"`) {
			t.Errorf("readyz = %d %s", rec.Code, rec.Body)
		}

		time.Sleep(20*time.Second + time.Millisecond) // gobreaker moves on strictly after the expiry
		if s := breakerState(t, g, "primary"); s != "half-open" {
			t.Fatalf("after the open period: %s", s)
		}
		b.outcome = ok
		if rec := send(g); rec.Code != 200 {
			t.Fatalf("probe: %d", rec.Code)
		}
		if s := breakerState(t, g, "primary"); s != "closed" {
			t.Fatalf("after a good probe: %s", s)
		}
		rec = httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		for _, want := range []string{
			`scfgate_breaker_transitions_total{backend="primary",from="closed",to="open"} 1`,
			`scfgate_breaker_transitions_total{backend="primary",from="open",to="half-open"} 1`,
			`scfgate_breaker_transitions_total{backend="primary",from="half-open",to="closed"} 1`,
			`scfgate_backend_errors_total{backend="primary",kind="function"} 5`,
			`scfgate_requests_total{route="chat",code="503"} 1`,
		} {
			if !strings.Contains(rec.Body.String(), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

func TestBreakerFailedProbeReopens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newSwitch()
		b.outcome = func() (*BackendResponse, error) { return statusResponse(500), nil }
		cfg := testConfig()
		cfg.Retry.Max = -1
		g := newTestGateway(t, cfg, Options{Backends: map[string]Backend{"primary": b}})
		for range 5 {
			if rec := send(g); rec.Code != 500 {
				t.Fatalf("status %d: an upstream 5xx is passed through", rec.Code)
			}
		}
		if s := breakerState(t, g, "primary"); s != "open" {
			t.Fatalf("after 5 upstream 500s: %s", s)
		}
		time.Sleep(30*time.Second + time.Millisecond)
		send(g)
		if s := breakerState(t, g, "primary"); s != "open" {
			t.Fatalf("after a failed probe: %s", s)
		}
	})
}

func TestBreakerIgnores(t *testing.T) {
	tests := []struct {
		name    string
		outcome func() (*BackendResponse, error)
		cancel  bool
	}{
		{"client 400", func() (*BackendResponse, error) { return statusResponse(400), nil }, false},
		{"client 404", func() (*BackendResponse, error) { return statusResponse(404), nil }, false},
		{"upstream 429", func() (*BackendResponse, error) { return statusResponse(429, "Retry-After", "1"), nil }, false},
		{"scf throttle", func() (*BackendResponse, error) {
			return nil, &BackendError{Kind: FailThrottle, Status: 429, Retryable: true, Err: errors.New("432")}
		}, false},
		{"client cancellation", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newSwitch()
				b.outcome = tc.outcome
				cfg := testConfig()
				cfg.Retry.Max = -1
				g := newTestGateway(t, cfg, Options{Backends: map[string]Backend{"primary": b}})
				for range 20 {
					r := chatReq(goodBody)
					if tc.cancel {
						ctx, cancel := context.WithCancel(r.Context())
						cancel()
						r = r.WithContext(ctx)
					}
					g.ServeHTTP(httptest.NewRecorder(), r)
				}
				if b.calls.Load() != 20 {
					t.Fatalf("backend saw %d of 20", b.calls.Load())
				}
				if s := breakerState(t, g, "primary"); s != "closed" {
					t.Fatalf("breaker %s after 20 %s", s, tc.name)
				}
			})
		})
	}
}

func TestBreakerFallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		primary, spare := newSwitch(), newSwitch()
		primary.outcome = func() (*BackendResponse, error) {
			return nil, &BackendError{Kind: FailConnect, Status: 502, Err: errors.New("reset")}
		}
		spare.outcome = func() (*BackendResponse, error) { return okResponse(completion), nil }
		cfg := testConfig()
		cfg.Retry.Max = -1
		cfg.Models[0].Fallback = "spare"
		g := newTestGateway(t, cfg, Options{Backends: map[string]Backend{"primary": primary, "spare": spare}})
		for range 5 {
			send(g)
		}
		rec := send(g)
		if rec.Code != 200 || spare.calls.Load() != 1 || primary.calls.Load() != 5 {
			t.Fatalf("fallback: %d, primary %d calls, spare %d", rec.Code, primary.calls.Load(), spare.calls.Load())
		}
		if b := rec.Header().Get(BackendHeader); b != "spare" {
			t.Errorf("%s = %q", BackendHeader, b)
		}
		if n := promMetrics(t, g)[spillSeries("primary", "spare", SpillBreakerOpen)]; n != 1 {
			t.Errorf("%v spills counted, want 1", n)
		}
	})
}

func TestBreakerRatioMode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newSwitch()
		cfg := testConfig()
		cfg.Retry.Max = -1
		cfg.Breaker.Mode = BreakerRatio
		cfg.Breaker.MinRequests = 10
		cfg.Breaker.Ratio = 0.5
		g := newTestGateway(t, cfg, Options{Backends: map[string]Backend{"primary": b}})
		n := 0
		b.outcome = func() (*BackendResponse, error) {
			n++
			if n%2 == 0 {
				return statusResponse(503), nil
			}
			return okResponse(completion), nil
		}
		for range 9 {
			send(g)
		}
		if s := breakerState(t, g, "primary"); s != "closed" {
			t.Fatalf("after 9: %s", s)
		}
		send(g)
		if s := breakerState(t, g, "primary"); s != "open" {
			t.Fatalf("after 10 at 50%%: %s", s)
		}
	})
}
