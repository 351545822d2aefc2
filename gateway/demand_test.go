package gateway

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
)

// demandOf returns model's entry of g.Demand().
func demandOf(t *testing.T, g *Gateway, model string) ModelDemand {
	t.Helper()
	for _, d := range g.Demand() {
		if d.Model == model {
			return d
		}
	}
	t.Fatalf("no demand reported for %s", model)
	return ModelDemand{}
}

// changed reports whether a change of traffic is pending.
func changed(g *Gateway) bool {
	select {
	case <-g.DemandChanged():
		return true
	default:
		return false
	}
}

func TestDemandCountsRequestsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		fb := &fakeBackend{fn: func(ctx context.Context, _ *BackendRequest) (*BackendResponse, error) {
			<-release
			return okResponse(completion), nil
		}}
		g := newTestGateway(t, testConfig(), Options{Backends: map[string]Backend{"primary": fb}})
		if d := demandOf(t, g, "hunyuan-13b"); d.InFlight != 0 || d.Peak != 0 || changed(g) {
			t.Fatalf("idle: %+v", d)
		}
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				if rec := httptestChat(g, goodBody); rec.Code != http.StatusOK {
					t.Errorf("status %d", rec.Code)
				}
			})
		}
		synctest.Wait()
		if d := demandOf(t, g, "hunyuan-13b"); d.InFlight != 3 || d.Peak != 3 || !changed(g) {
			t.Errorf("three in flight: %+v", d)
		}
		// Requests refused before the backend (unknown model, bad key)
		// are no demand for a model.
		if rec := httptestChat(g, `{"model":"nope","messages":[{"role":"user","content":"x"}]}`); rec.Code != http.StatusNotFound {
			t.Errorf("unknown model: %d", rec.Code)
		}
		close(release)
		wg.Wait()
		// The peak since the previous reading outlives the requests.
		if d := demandOf(t, g, "hunyuan-13b"); d.InFlight != 0 || d.Peak != 3 || !changed(g) {
			t.Errorf("after the answers: %+v", d)
		}
		if d := demandOf(t, g, "hunyuan-13b"); d.InFlight != 0 || d.Peak != 0 || changed(g) {
			t.Errorf("next reading: %+v, want a new peak", d)
		}
	})
}
