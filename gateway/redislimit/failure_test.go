package redislimit

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scfgate/scfgate/gateway"
)

// stuck bounds how long a call to an unreachable Redis may take in the
// tests: far beyond the 50 ms timeout, so that scheduling on a loaded
// machine never reaches it, yet a call that ignores the timeout (blocks
// until the connection dies) does. How close to the timeout a decision
// gives up is measured by BenchmarkRedisDown.
const stuck = 5 * time.Second

// blackhole accepts connections and never answers: a Redis that hangs.
func blackhole(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// unreachable is an instance whose Redis at addr does not answer. Its
// outage log line is written once per test, however slow the test runs.
func unreachable(t testing.TB, addr, mode string, backoff time.Duration, log *slog.Logger) *Shared {
	t.Helper()
	cfg := Default()
	cfg.Addr, cfg.Mode, cfg.Backoff, cfg.ExpectedInstances = addr, mode, backoff, 4
	cfg.LogEvery = time.Hour
	cfg.KeyPrefix = "scfgate-test:unreachable:"
	s, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestRedisDown: with Redis refusing connections (127.0.0.1:1) or never
// answering, fail_open decides with a quarter of the limit (4 expected
// instances) and fail_closed refuses as unavailable; every decision gives
// up on Redis instead of waiting for it, and one log line is written, not
// one per request.
func TestRedisDown(t *testing.T) {
	for _, where := range []string{"refused", "hangs"} {
		for _, mode := range []string{FailOpen, FailClosed} {
			t.Run(where+"/"+mode, func(t *testing.T) {
				addr := "127.0.0.1:1"
				if where == "hangs" {
					addr = blackhole(t)
				}
				logs := &countingHandler{}
				// Backoff 0: every decision tries Redis and must give up in time.
				s := unreachable(t, addr, mode, 0, slog.New(logs))
				rl := s.Limiter(gateway.Limits{Global: gateway.Bucket{QPS: 80, Burst: 8}})
				now := time.Now()
				allowed := 0
				const n = 6
				for i := range n {
					start := time.Now()
					d := rl.Reserve(now, "", gateway.Bucket{}, 0)
					if took := time.Since(start); took > stuck {
						t.Fatalf("decision %d took %v: the %v timeout did not stop it", i, took, s.cfg.Timeout)
					}
					if d.Allowed {
						allowed++
					}
					if mode == FailClosed && (d.Allowed || !d.Unavailable || d.RetryAfter < time.Second) {
						t.Fatalf("fail_closed decision %+v", d)
					}
				}
				// fail_open: the local bucket is 80/4 = 20 qps, burst 8/4 = 2.
				if want := map[string]int{FailOpen: 2, FailClosed: 0}[mode]; allowed != want {
					t.Fatalf("allowed %d, want %d", allowed, want)
				}
				if e := s.Errors()[opLimit]; e != n {
					t.Fatalf("errors %d, want %d", e, n)
				}
				if f := s.Fallbacks()[mode]; f != n {
					t.Fatalf("fallbacks %v", s.Fallbacks())
				}
				if c := logs.count(); c != 1 {
					t.Fatalf("%d log lines, want 1 (rate-limited): %v", c, logs.warns)
				}
			})
		}
	}
}

// TestBackoffSkipsRedis: after a failure Redis is left alone for the
// back-off: the following decisions fall back without calling it (a call
// to the hanging Redis would count as one more error).
func TestBackoffSkipsRedis(t *testing.T) {
	s := unreachable(t, blackhole(t), FailOpen, time.Hour, nil)
	rl := s.Limiter(gateway.Limits{Global: gateway.Bucket{QPS: 1000}})
	rl.Reserve(time.Now(), "", gateway.Bucket{}, 0)
	for range 100 {
		if d := rl.Reserve(time.Now(), "", gateway.Bucket{}, 0); !d.Allowed {
			t.Fatalf("refused %+v", d)
		}
	}
	if e := s.Errors()[opLimit]; e != 1 {
		t.Fatalf("errors %d, want 1", e)
	}
	if f := s.Fallbacks()[FailOpen]; f != 101 {
		t.Fatalf("fallbacks %d, want 101", f)
	}
}

// TestFallbackSharedByConcurrentRequests: a web gateway instance serves
// many requests at once, and while Redis is down they share the one
// local fallback bucket: 64 decisions at the same instant from as many
// goroutines admit exactly its burst (64/4 expected instances = 16),
// whether they asked Redis before the first failure started the back-off
// or not.
func TestFallbackSharedByConcurrentRequests(t *testing.T) {
	s := unreachable(t, "127.0.0.1:1", FailOpen, time.Hour, nil)
	rl := s.Limiter(gateway.Limits{Global: gateway.Bucket{QPS: 80, Burst: 64}})
	now := time.Now()
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			if rl.Reserve(now, "", gateway.Bucket{}, 0).Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != 16 {
		t.Errorf("allowed %d, want 16 (the fallback bucket's burst)", n)
	}
	if f := s.Fallbacks()[FailOpen]; f != 64 {
		t.Errorf("fallbacks %d, want 64", f)
	}
}

// TestGatewayWithoutRedis: through the gateway, fail_closed answers 503
// with Retry-After and fail_open serves; /metrics counts both, and the
// breaker signal does not stop traffic.
func TestGatewayWithoutRedis(t *testing.T) {
	for _, mode := range []string{FailOpen, FailClosed} {
		t.Run(mode, func(t *testing.T) {
			s := unreachable(t, "127.0.0.1:1", mode, 0, nil)
			g := newGateway(t, s, gatewayConfig(gateway.Limits{Global: gateway.Bucket{QPS: 100, Burst: 20}}), &fakeBackend{})
			start := time.Now()
			w := chat(g, "")
			// Two Redis calls at most, each given up after the timeout: the
			// limiter and the breaker signal.
			if took := time.Since(start); took > 2*stuck {
				t.Fatalf("request took %v: the %v timeout did not stop it", took, s.cfg.Timeout)
			}
			want := map[string]int{FailOpen: http.StatusOK, FailClosed: http.StatusServiceUnavailable}[mode]
			if w.Code != want {
				t.Fatalf("status %d, want %d: %s", w.Code, want, w.Body)
			}
			if mode == FailClosed && (w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "rate_limiter_unavailable")) {
				t.Fatalf("503 = %v %s", w.Header(), w.Body)
			}
			mw := httptest.NewRecorder()
			g.ServeHTTP(mw, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			for _, line := range []string{`scfgate_redis_fallback_total{mode="` + mode + `"} 1`, `scfgate_redis_up 0`,
				`scfgate_redis_errors_total{op="limit"} 1`} {
				if !strings.Contains(mw.Body.String(), line+"\n") {
					t.Errorf("/metrics lacks %q:\n%s", line, mw.Body)
				}
			}
		})
	}
}

// TestConfigValidate names each bad key.
func TestConfigValidate(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("disabled default: %v", err)
	}
	c := Default()
	c.Addr = "127.0.0.1:6379"
	if err := c.Validate(); err != nil {
		t.Fatalf("default with addr: %v", err)
	}
	c.Timeout, c.Mode, c.ExpectedInstances, c.KeyPrefix, c.DB, c.PoolSize = 0, "open", 0, "", -1, 0
	err := c.Validate()
	for _, key := range []string{"redis.timeout", "redis.mode", "redis.expected_instances", "redis.key_prefix", "redis.db", "redis.pool_size"} {
		if err == nil || !strings.Contains(err.Error(), key+":") {
			t.Errorf("error %v does not name %s", err, key)
		}
	}
	if _, err := New(Default(), nil); err == nil || !strings.Contains(err.Error(), "redis.addr") {
		t.Errorf("New without addr: %v", err)
	}
}

// TestMain silences go-redis's own log of failed dials, which the
// unreachable-Redis tests provoke on purpose.
func TestMain(m *testing.M) {
	redis.SetLogger(quietLogger{})
	os.Exit(m.Run())
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}
