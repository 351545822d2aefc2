package redislimit

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scfgate/scfgate/gateway"
)

// hourly refills a bucket by one token an hour: during a test, however
// slowly it runs, a bucket holds what its burst and the admitted requests
// leave, so that each decision is known in advance.
const hourly = 1.0 / 3600

// drift bounds how far Redis's clock moved on since start: no further
// than the test's own clock, plus 1 ms for the two clocks' rounding.
func drift(start time.Time) time.Duration { return time.Since(start) + time.Millisecond }

// TestSameDecisionsAsLocal takes tokens at one instant from the Redis
// limiter and the local one: both admit the burst with the same
// Remaining, then refuse with the same data. Redis decides on its own
// clock, so its Reset and RetryAfter are earlier by the time that passed
// on it since the first call (and rounded to µs).
func TestSameDecisionsAsLocal(t *testing.T) {
	requireRedis(t)
	for _, scope := range []string{"global", "key"} {
		t.Run(scope, func(t *testing.T) {
			l := gateway.Limits{MaxKeys: 10, IdleTTL: time.Minute}
			var perKey gateway.Bucket
			if scope == "global" {
				l.Global = gateway.Bucket{QPS: hourly, Burst: 5}
			} else {
				perKey = gateway.Bucket{QPS: hourly, Burst: 5}
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
				near := func(r, l time.Duration) bool { return (l - r).Abs() <= drift(now) }
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
	rl := newShared(t, testPrefix(t), nil).Limiter(gateway.Limits{Global: gateway.Bucket{QPS: hourly, Burst: 3}})
	now := time.Now()
	key := gateway.Bucket{QPS: hourly, Burst: 1}
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
	const (
		every   = time.Minute // one token a minute
		maxWait = 2 * every
	)
	rl := newShared(t, testPrefix(t), nil).Limiter(gateway.Limits{Global: gateway.Bucket{QPS: 1 / every.Seconds(), Burst: 1}})
	start := time.Now()
	// The burst, then one and two minutes' wait, less the time Redis's
	// clock moved on meanwhile.
	for i, want := range []time.Duration{0, every, 2 * every} {
		d := rl.Reserve(start, "", gateway.Bucket{}, maxWait)
		if !d.Allowed || d.Delay > want || want-d.Delay > drift(start) {
			t.Fatalf("request %d: %+v, want a delay of %v", i, d, want)
		}
	}
	if d := rl.Reserve(start, "", gateway.Bucket{}, maxWait); d.Allowed || d.RetryAfter <= maxWait {
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

// TestEightInstances: 8 gateway instances, each with its own Redis client,
// send requests back to back all at once, several times what the limit
// allows. Together they never admit more than the fleet-wide limit lets
// through on Redis's clock (the burst, plus one request per interval from
// the first decision to the last), and they admit the whole burst: with
// hourly buckets, which refill nothing during the test, exactly the
// burst. The bounds hold however fast the machine runs the requests.
func TestEightInstances(t *testing.T) {
	requireRedis(t)
	const instances = 8
	for _, tc := range []struct {
		name   string
		limits gateway.Limits
		keys   int // API keys, each sent a request per round; 0: anonymous
		rounds int // each instance's
	}{
		{"global", gateway.Limits{Global: gateway.Bucket{QPS: hourly, Burst: 40}}, 0, 10},
		{"global refilling", gateway.Limits{Global: gateway.Bucket{QPS: 200, Burst: 10}}, 0, 150},
		{"per key", gateway.Limits{PerKey: gateway.Bucket{QPS: hourly, Burst: 10}}, 4, 3},
		{"per key refilling", gateway.Limits{PerKey: gateway.Bucket{QPS: 25, Burst: 5}}, 4, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := testPrefix(t)
			secrets := []string{""} // anonymous
			var kcfg []gateway.Key
			if tc.keys > 0 {
				secrets = nil
				for i := range tc.keys {
					s, k := secret(string(rune('a'+i)), gateway.Bucket{})
					secrets, kcfg = append(secrets, s), append(kcfg, k)
				}
			}
			cfg := gatewayConfig(tc.limits, kcfg...)
			var gws []*gateway.Gateway
			var shared []*Shared
			for range instances {
				s := newShared(t, prefix, nil)
				shared = append(shared, s)
				gws = append(gws, newGateway(t, s, cfg, &fakeBackend{}))
			}
			t.Cleanup(func() { noFallbacks(t, shared) })

			// The requests' decisions fall between two readings of Redis's
			// clock.
			before := redisTime(t, shared[0])
			admitted := make([]atomic.Int64, len(secrets))
			var other atomic.Int64
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range instances {
				wg.Go(func() {
					<-start
					for range tc.rounds {
						for k, s := range secrets {
							switch chat(gws[i], s).Code {
							case http.StatusOK:
								admitted[k].Add(1)
							case http.StatusTooManyRequests:
							default:
								other.Add(1)
							}
						}
					}
				})
			}
			close(start)
			wg.Wait()
			elapsed := redisTime(t, shared[0]).Sub(before)
			if n := other.Load(); n != 0 {
				t.Fatalf("%d answers neither 200 nor 429", n)
			}

			b := norm(tc.limits.Global)
			if tc.keys > 0 {
				b = norm(tc.limits.PerKey)
			}
			// GCRA admits at most the burst plus one request per whole
			// interval elapsed.
			most := b.Burst + int(elapsed.Seconds()*b.QPS)
			offered := instances * tc.rounds
			for k := range secrets {
				got := int(admitted[k].Load())
				t.Logf("bucket %d: %d offered in %v on Redis's clock, %d admitted, limit allows %d", k, offered,
					elapsed.Round(time.Millisecond), got, most)
				if got > most || got < min(b.Burst, offered) {
					t.Errorf("bucket %d: admitted %d of %d, want %d to %d", k, got, offered, b.Burst, most)
				}
			}
		})
	}
}

// redisTime reads Redis's clock, the one the limiter decides on.
func redisTime(t *testing.T, s *Shared) time.Time {
	t.Helper()
	now, err := s.Client().Time(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return now
}

// noFallbacks fails the test if any instance decided without Redis.
func noFallbacks(t *testing.T, shared []*Shared) {
	for i, s := range shared {
		if e := s.Errors()[opLimit]; e != 0 {
			t.Errorf("instance %d: %d Redis errors, %v decisions without Redis", i, e, s.Fallbacks())
		}
	}
}
