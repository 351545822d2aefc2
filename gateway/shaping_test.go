package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

func shapingGateway(t *testing.T, limits Limits, clk *fakeClock, sleep func(context.Context, time.Duration) error) (*Gateway, *fakeBackend) {
	t.Helper()
	fb := &fakeBackend{fn: func(context.Context, *BackendRequest) (*BackendResponse, error) { return okResponse(completion), nil }}
	cfg := testConfig()
	cfg.Limits = limits
	return newTestGateway(t, cfg, Options{Backends: map[string]Backend{"primary": fb}, Now: clk.Now, Sleep: sleep}), fb
}

// TestShapingRejects sends 200 requests at one instant at qps=20,
// burst=5: exactly the burst is admitted, the rest get 429 with headers.
func TestShapingRejects(t *testing.T) {
	for _, scope := range []string{"global", "key"} {
		t.Run(scope, func(t *testing.T) {
			clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
			l := Default().Limits
			if scope == "global" {
				l.Global = Bucket{QPS: 20, Burst: 5}
			} else {
				l.PerKey = Bucket{QPS: 20, Burst: 5}
			}
			g, fb := shapingGateway(t, l, clk, nil)
			codes := make([]int, 200)
			recs := make([]*httptest.ResponseRecorder, 200)
			var wg sync.WaitGroup
			for i := range 200 {
				wg.Go(func() {
					recs[i] = httptest.NewRecorder()
					g.ServeHTTP(recs[i], chatReq(goodBody))
					codes[i] = recs[i].Code
				})
			}
			wg.Wait()
			admitted := 0
			for i, c := range codes {
				switch c {
				case 200:
					admitted++
				case 429:
					h := recs[i].Header()
					// The bucket is empty; one token comes in 50 ms, a full bucket in 250 ms.
					if h.Get("Retry-After") != "1" || h.Get("RateLimit-Limit") != "5" ||
						h.Get("RateLimit-Remaining") != "0" || h.Get("RateLimit-Reset") != "1" {
						t.Fatalf("429 headers = %v", h)
					}
					e := decodeError(t, recs[i])
					if e.Error.Type != errRateLimit {
						t.Fatalf("type = %s", e.Error.Type)
					}
				default:
					t.Fatalf("status %d", c)
				}
			}
			if admitted != 5 || fb.calls.Load() != 5 {
				t.Fatalf("admitted %d (backend saw %d), want 5", admitted, fb.calls.Load())
			}
			// 100 ms later the bucket holds 2 tokens again.
			clk.Add(100 * time.Millisecond)
			ok := 0
			for range 10 {
				rec := httptest.NewRecorder()
				g.ServeHTTP(rec, chatReq(goodBody))
				if rec.Code == 200 {
					ok++
				}
			}
			if ok != 2 {
				t.Errorf("after 100 ms admitted %d, want 2", ok)
			}
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			want := `scfgate_shaped_total{reason="` + scope + `"} 203`
			if !contains(rec.Body.String(), want) || !contains(rec.Body.String(), `scfgate_requests_total{route="chat",code="429"} 203`) {
				t.Errorf("metrics lack %s:\n%s", want, rec.Body)
			}
		})
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// TestShapingWaits: with max_wait, requests beyond the burst are delayed
// by the time their token takes, never more than max_wait; those that
// would wait longer get 429.
func TestShapingWaits(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	var mu sync.Mutex
	var delays []time.Duration
	sleep := func(_ context.Context, d time.Duration) error {
		mu.Lock()
		delays = append(delays, d)
		mu.Unlock()
		return nil
	}
	l := Default().Limits
	l.Global = Bucket{QPS: 20, Burst: 5}
	l.MaxWait = 500 * time.Millisecond
	g, fb := shapingGateway(t, l, clk, sleep)
	counts := map[int]int{}
	for range 200 {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, chatReq(goodBody))
		counts[rec.Code]++
		if rec.Code == 429 {
			ra, _ := strconv.Atoi(rec.Header().Get("Retry-After"))
			if ra < 1 {
				t.Fatalf("Retry-After = %q", rec.Header().Get("Retry-After"))
			}
		}
	}
	// 5 at once, then one every 50 ms up to 500 ms: 10 more.
	if counts[200] != 15 || counts[429] != 185 || fb.calls.Load() != 15 {
		t.Fatalf("counts = %v, backend calls %d; want 15 admitted", counts, fb.calls.Load())
	}
	if len(delays) != 10 {
		t.Fatalf("%d delayed, want 10: %v", len(delays), delays)
	}
	for i, d := range delays {
		if want := time.Duration(i+1) * 50 * time.Millisecond; d != want || d > l.MaxWait {
			t.Errorf("delay %d = %v, want %v (max_wait %v)", i, d, want, l.MaxWait)
		}
	}
}

func TestPerKeyLimitsFromConfig(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	fb := &fakeBackend{fn: func(context.Context, *BackendRequest) (*BackendResponse, error) { return okResponse(completion), nil }}
	cfg := testConfig()
	cfg.Keys = append(cfg.Keys, Key{Name: "bob", SHA256: keyHash("sk-bob"), QPS: 1, Burst: 1})
	cfg.Limits.PerKey = Bucket{QPS: 10, Burst: 3}
	g := newTestGateway(t, cfg, Options{Backends: map[string]Backend{"primary": fb}, Now: clk.Now})
	count := func(key string) int {
		ok := 0
		for range 10 {
			r := chatReq(goodBody)
			r.Header.Set("Authorization", "Bearer "+key)
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, r)
			if rec.Code == http.StatusOK {
				ok++
			}
		}
		return ok
	}
	if a, b := count(testKey), count("sk-bob"); a != 3 || b != 1 {
		t.Errorf("admitted alice %d, bob %d; want 3 and 1", a, b)
	}
}

func TestLocalLimiterBounded(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	l := NewLocalLimiter(Limits{MaxKeys: 3, IdleTTL: time.Minute})
	b := Bucket{QPS: 0.01, Burst: 1}
	for i, k := range []string{"a", "b", "c"} {
		l.Reserve(t0.Add(time.Duration(i)*time.Second), k, b, 0)
	}
	// Full, none idle: the least recently used ("a") goes.
	l.Reserve(t0.Add(3*time.Second), "d", b, 0)
	if l.Len() != 3 {
		t.Fatalf("len = %d", l.Len())
	}
	if d := l.Reserve(t0.Add(3*time.Second), "b", b, 0); d.Allowed {
		t.Error("b was evicted: its empty bucket was forgotten")
	}
	// Much later every bucket is idle: they all go to make room.
	l.Reserve(t0.Add(time.Hour), "e", b, 0)
	if l.Len() != 1 {
		t.Errorf("len = %d after idle eviction, want 1", l.Len())
	}
}
