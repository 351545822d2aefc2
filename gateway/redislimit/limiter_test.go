package redislimit

import (
	"math"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/scfgate/scfgate/gateway"
)

// TestSameDecisionsAsLocal takes tokens at one instant from the Redis
// limiter and the local one: both admit the burst with the same
// Remaining, then refuse with the same data.
func TestSameDecisionsAsLocal(t *testing.T) {
	requireRedis(t)
	for _, scope := range []string{"global", "key"} {
		t.Run(scope, func(t *testing.T) {
			l := gateway.Limits{MaxKeys: 10, IdleTTL: time.Minute}
			var perKey gateway.Bucket
			if scope == "global" {
				l.Global = gateway.Bucket{QPS: 20, Burst: 5}
			} else {
				perKey = gateway.Bucket{QPS: 20, Burst: 5}
			}
			rl := newShared(t, testPrefix(t), nil).Limiter(l)
			ll := gateway.NewLocalLimiter(l)
			now := time.Now()
			for i := range 8 {
				rd := rl.Reserve(now, "alice", perKey, 0)
				ld := ll.Reserve(now, "alice", perKey, 0)
				if rd.Allowed != ld.Allowed || rd.Scope != ld.Scope || rd.Limit != ld.Limit || rd.Remaining != ld.Remaining {
					t.Fatalf("request %d: redis %+v, local %+v", i, rd, ld)
				}
				// Redis's clock moved on by a little since the first call.
				near := func(a, b time.Duration) bool { return (a - b).Abs() < 20*time.Millisecond }
				if !near(rd.Reset, ld.Reset) || !near(rd.RetryAfter, ld.RetryAfter) || rd.Delay != 0 {
					t.Fatalf("request %d: redis %+v, local %+v", i, rd, ld)
				}
				if want := i < 5; rd.Allowed != want {
					t.Fatalf("request %d allowed=%v", i, rd.Allowed)
				}
			}
		})
	}
}

// TestKeyRefusalKeepsGlobalToken: a request the key's bucket refuses
// takes nothing from the global bucket.
func TestKeyRefusalKeepsGlobalToken(t *testing.T) {
	requireRedis(t)
	rl := newShared(t, testPrefix(t), nil).Limiter(gateway.Limits{Global: gateway.Bucket{QPS: 1, Burst: 3}})
	now := time.Now()
	key := gateway.Bucket{QPS: 1, Burst: 1}
	if d := rl.Reserve(now, "a", key, 0); !d.Allowed || d.Remaining != 0 || d.Limit != 1 {
		t.Fatalf("first: %+v", d)
	}
	if d := rl.Reserve(now, "a", key, 0); d.Allowed || d.Scope != "key" {
		t.Fatalf("second: %+v", d)
	}
	// The global bucket lost only the first token: b and c pass, d fails.
	for i, k := range []string{"b", "c", "d"} {
		d := rl.Reserve(now, k, key, 0)
		if d.Allowed != (i < 2) || (!d.Allowed && d.Scope != "global") {
			t.Fatalf("key %s: %+v", k, d)
		}
	}
}

// TestMaxWait: within max_wait a request is admitted with a delay.
func TestMaxWait(t *testing.T) {
	requireRedis(t)
	rl := newShared(t, testPrefix(t), nil).Limiter(gateway.Limits{Global: gateway.Bucket{QPS: 20, Burst: 1}})
	now := time.Now()
	var delays []time.Duration
	for range 3 {
		d := rl.Reserve(now, "", gateway.Bucket{}, 100*time.Millisecond)
		if !d.Allowed {
			t.Fatalf("refused: %+v", d)
		}
		delays = append(delays, d.Delay)
	}
	// 0, 50 ms and 100 ms, less the time Redis's clock moved meanwhile.
	for i, want := range []time.Duration{0, 50 * time.Millisecond, 100 * time.Millisecond} {
		if delays[i] > want || want-delays[i] > 20*time.Millisecond {
			t.Fatalf("delays %v", delays)
		}
	}
	if d := rl.Reserve(now, "", gateway.Bucket{}, 100*time.Millisecond); d.Allowed || d.RetryAfter <= 100*time.Millisecond {
		t.Fatalf("fourth: %+v", d)
	}
}

// TestGatewayHeaders: through the gateway, the 429s carry the same
// headers as with the local limiter (gateway's TestShapingRejects).
func TestGatewayHeaders(t *testing.T) {
	requireRedis(t)
	s := newShared(t, testPrefix(t), nil)
	g := newGateway(t, s, gatewayConfig(gateway.Limits{Global: gateway.Bucket{QPS: 20, Burst: 5}}), &fakeBackend{})
	ok := 0
	start := time.Now()
	for range 10 {
		w := chat(g, "")
		switch w.Code {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			h := w.Header()
			if h.Get("Retry-After") != "1" || h.Get("RateLimit-Limit") != "5" ||
				h.Get("RateLimit-Remaining") != "0" || h.Get("RateLimit-Reset") != "1" {
				t.Fatalf("429 headers = %v", h)
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	// The bucket refills at 20/s on Redis's clock, so a slow run (race
	// detector, busy machine) may earn a token or more while it sends.
	refilled := int(time.Since(start).Seconds() * 20)
	if ok < 5 || ok > 5+refilled {
		t.Fatalf("admitted %d, want 5 (+%d refilled while sending)", ok, refilled)
	}
}

// drive runs instances, each serving one request at a time on its own
// ticker, until d has passed; send does one request and reports whether
// it was admitted. It returns the admitted count and the time from the
// first request to the last.
func drive(instances int, every, d time.Duration, send func(inst int) int) (admitted []int, elapsed time.Duration) {
	admitted = make([]int, 64)
	var last time.Time
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for i := range instances {
		wg.Go(func() {
			tk := time.NewTicker(every)
			defer tk.Stop()
			local := make([]int, 64)
			var sentAt time.Time
			for {
				if time.Now().After(end) {
					break
				}
				local[send(i)]++
				sentAt = time.Now()
				<-tk.C
			}
			mu.Lock()
			for j, n := range local {
				admitted[j] += n
			}
			if sentAt.After(last) {
				last = sentAt
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return admitted, last.Sub(start)
}

// TestEightInstancesGlobal: 8 gateway instances, each with its own Redis
// client, driven together at 5x the global limit for 20 s admit within 3%
// of the limit in total.
func TestEightInstancesGlobal(t *testing.T) {
	if testing.Short() {
		t.Skip("20 s load test: skipped under -short")
	}
	requireRedis(t)
	const (
		qps       = 200
		burst     = 10
		instances = 8
		run       = 20 * time.Second
	)
	prefix := testPrefix(t)
	cfg := gatewayConfig(gateway.Limits{Global: gateway.Bucket{QPS: qps, Burst: burst}})
	var gws []*gateway.Gateway
	var shared []*Shared
	for range instances {
		// This test is about the shared limit, not about a slow Redis: a
		// generous timeout keeps a loaded CI machine (-race) from falling
		// back to local buckets; any fallback fails the test below.
		s := newShared(t, prefix, func(c *Config) { c.Timeout = 2 * time.Second })
		shared = append(shared, s)
		gws = append(gws, newGateway(t, s, cfg, &fakeBackend{}))
	}
	t.Cleanup(func() { noFallbacks(t, shared) })
	// 5x: 1000 requests/s in all, 125/s per instance.
	every := time.Duration(float64(time.Second) * instances / (5 * qps))
	var sent, other [instances]int
	res, elapsed := drive(instances, every, run, func(i int) int {
		sent[i]++
		switch chat(gws[i], "").Code {
		case http.StatusOK:
			return 1
		case http.StatusTooManyRequests:
			return 0
		}
		other[i]++
		return 2
	})
	total := 0
	for i := range instances {
		total += sent[i]
	}
	want := burst + qps*elapsed.Seconds()
	got := float64(res[1])
	t.Logf("sent %d in %v (%.0f/s, %.1fx the limit); admitted %d, limit allows %.0f (%+.2f%%); refused %d; other %d",
		total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), float64(total)/elapsed.Seconds()/qps,
		res[1], want, 100*(got-want)/want, res[0], res[2])
	if res[2] != 0 {
		t.Fatalf("%d answers neither 200 nor 429", res[2])
	}
	if float64(total)/elapsed.Seconds() < 4*qps {
		t.Fatalf("offered only %.0f/s, want about %d/s", float64(total)/elapsed.Seconds(), 5*qps)
	}
	if math.Abs(got-want) > 0.03*want {
		t.Fatalf("admitted %d, want %.0f within 3%%", res[1], want)
	}
}

// TestEightInstancesPerKey: the same with 4 API keys, each limited, and
// no global limit: each key's total holds within 3%.
func TestEightInstancesPerKey(t *testing.T) {
	if testing.Short() {
		t.Skip("8 s load test: skipped under -short")
	}
	requireRedis(t)
	const (
		qps       = 25
		burst     = 5
		keys      = 4
		instances = 8
		run       = 8 * time.Second
	)
	prefix := testPrefix(t)
	var secrets []string
	var kcfg []gateway.Key
	for i := range keys {
		s, k := secret(string(rune('a'+i)), gateway.Bucket{})
		secrets, kcfg = append(secrets, s), append(kcfg, k)
	}
	cfg := gatewayConfig(gateway.Limits{PerKey: gateway.Bucket{QPS: qps, Burst: burst}}, kcfg...)
	var gws []*gateway.Gateway
	var shared []*Shared
	for range instances {
		// This test is about the shared limit, not about a slow Redis: a
		// generous timeout keeps a loaded CI machine (-race) from falling
		// back to local buckets; any fallback fails the test below.
		s := newShared(t, prefix, func(c *Config) { c.Timeout = 2 * time.Second })
		shared = append(shared, s)
		gws = append(gws, newGateway(t, s, cfg, &fakeBackend{}))
	}
	t.Cleanup(func() { noFallbacks(t, shared) })
	// Each tick an instance sends one request per key: 5x each key's limit.
	every := time.Duration(float64(time.Second) * instances / (5 * qps))
	res, elapsed := drive(instances, every, run, func(i int) int {
		out := 0
		for k := range keys {
			switch chat(gws[i], secrets[k]).Code {
			case http.StatusOK:
				out |= 1 << k
			case http.StatusTooManyRequests:
			default:
				out |= 1 << keys // unexpected
			}
		}
		return out
	})
	want := burst + qps*elapsed.Seconds()
	for k := range keys {
		got, refusedOrOther := 0, 0
		for v, n := range res {
			if v&(1<<keys) != 0 && n > 0 {
				t.Fatalf("answers neither 200 nor 429")
			}
			if v&(1<<k) != 0 {
				got += n
			} else {
				refusedOrOther += n
			}
		}
		t.Logf("key %d: admitted %d, refused %d, limit allows %.0f (%+.2f%%)", k, got, refusedOrOther, want,
			100*(float64(got)-want)/want)
		if math.Abs(float64(got)-want) > 0.03*want {
			t.Errorf("key %d admitted %d, want %.0f within 3%%", k, got, want)
		}
	}
}

// noFallbacks fails the test if any instance decided without Redis.
func noFallbacks(t *testing.T, shared []*Shared) {
	for i, s := range shared {
		if e := s.Errors()[opLimit]; e != 0 {
			t.Errorf("instance %d: %d Redis errors, %v decisions without Redis", i, e, s.Fallbacks())
		}
	}
}
