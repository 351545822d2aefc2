package gateway

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
)

// A web-function instance serves many requests at once (SCF's request
// multi-concurrency), so what it keeps in memory, the local token
// buckets, the breakers and the in-flight gauge, is shared by all of
// them. These tests hold a full instance's worth of requests inside the
// backend at the same instant.

// instanceConcurrency is the shipped web gateway's maxConcurrency.
const instanceConcurrency = 64

// serveAll sends n chat requests at once and returns their statuses once
// every one is answered; hold runs while they are all inside the gateway.
func serveAll(g *Gateway, n int, hold func()) []int {
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() { codes[i] = send(g).Code })
	}
	synctest.Wait()
	hold()
	wg.Wait()
	return codes
}

func count(codes []int) map[int]int {
	m := map[int]int{}
	for _, c := range codes {
		m[c]++
	}
	return m
}

// TestInstanceSharesItsBucket: the instance's bucket (burst 64) admits a
// burst that fills the instance, and refuses the one request beyond it,
// however the requests interleave; the in-flight gauge counts every
// admitted request while it is in the backend, and none after.
func TestInstanceSharesItsBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		fb := &fakeBackend{fn: func(context.Context, *BackendRequest) (*BackendResponse, error) {
			<-release
			return okResponse(completion), nil
		}}
		cfg := testConfig()
		cfg.Limits.Global = Bucket{QPS: 20, Burst: instanceConcurrency}
		g := newTestGateway(t, cfg, Options{Backends: map[string]Backend{"primary": fb}})
		const inFlight = `scfgate_requests_in_flight{gen_ai_request_model="hunyuan-13b",key="alice"}`
		codes := serveAll(g, instanceConcurrency+1, func() {
			if got := promMetrics(t, g)[inFlight]; got != instanceConcurrency {
				t.Errorf("in flight while held: %v, want %d", got, instanceConcurrency)
			}
			close(release)
		})
		if c := count(codes); c[200] != instanceConcurrency || c[429] != 1 || fb.calls.Load() != instanceConcurrency {
			t.Errorf("statuses %v, backend calls %d: want %d admitted and 1 refused", c, fb.calls.Load(), instanceConcurrency)
		}
		if got := promMetrics(t, g)[inFlight]; got != 0 {
			t.Errorf("in flight after: %v", got)
		}
	})
}

// TestInstanceBreakerUnderConcurrency: 64 requests that fail together
// open the breaker once (the failures past the fifth belong to the
// generation that opened it), and the next request is refused without
// reaching the backend.
func TestInstanceBreakerUnderConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		fb := &fakeBackend{fn: func(context.Context, *BackendRequest) (*BackendResponse, error) {
			<-release
			return nil, &BackendError{Kind: FailFunction, Status: 502, Err: errors.New("boom")}
		}}
		cfg := testConfig()
		cfg.Retry.Max = -1
		g := newTestGateway(t, cfg, Options{Backends: map[string]Backend{"primary": fb}})
		codes := serveAll(g, instanceConcurrency, func() { close(release) })
		if c := count(codes); c[502] != instanceConcurrency {
			t.Errorf("statuses %v, want %d of 502", c, instanceConcurrency)
		}
		if s := breakerState(t, g, "primary"); s != "open" {
			t.Fatalf("breaker %s, want open", s)
		}
		m := promMetrics(t, g)
		if n := m[`scfgate_breaker_transitions_total{backend="primary",from="closed",to="open"}`]; n != 1 {
			t.Errorf("opened %v times, want 1", n)
		}
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, chatReq(goodBody))
		if rec.Code != 503 || fb.calls.Load() != instanceConcurrency {
			t.Errorf("after opening: status %d, backend calls %d", rec.Code, fb.calls.Load())
		}
	})
}
