package redislimit

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scfgate/scfgate/gateway"
)

// TestSharedBreaker: instance A's breaker opens on a failing backend; B,
// with its own client and a healthy backend, refuses that backend at once
// (503, Retry-After near open_for) without calling it, until the opening
// expires in Redis.
func TestSharedBreaker(t *testing.T) {
	requireRedis(t)
	prefix := testPrefix(t)
	cfg := gatewayConfig(gateway.Limits{})
	cfg.Breaker.Failures = 2
	cfg.Breaker.OpenFor = 20 * time.Second

	sa := newShared(t, prefix, nil)
	// B asks Redis on every request (no cache of a "closed" answer), so
	// that it sees A's opening on its next request.
	sb := newShared(t, prefix, func(c *Config) { c.BreakerCache = 0 })
	ba, bb := &fakeBackend{status: http.StatusInternalServerError}, &fakeBackend{}
	ga, gb := newGateway(t, sa, cfg, ba), newGateway(t, sb, cfg, bb)

	// B is healthy and sees no opening yet.
	if w := chat(gb, ""); w.Code != http.StatusOK || bb.calls.Load() != 1 {
		t.Fatalf("B before: %d %s", w.Code, w.Body)
	}
	for range 2 {
		if w := chat(ga, ""); w.Code != http.StatusInternalServerError {
			t.Fatalf("A: %d", w.Code)
		}
	}
	if w := chat(ga, ""); w.Code != http.StatusServiceUnavailable || ba.calls.Load() != 2 {
		t.Fatalf("A after 2 failures: %d, %d calls (breaker should be open)", w.Code, ba.calls.Load())
	}
	// A publishes the opening in the background; wait for that write.
	sa.Breakers().Wait()
	key := sb.key("breaker", "primary")
	ttl := sb.Client().PTTL(t.Context(), key).Val()
	if ttl <= 15*time.Second || ttl > 20*time.Second {
		t.Fatalf("opening's TTL in Redis = %v, want about 20s", ttl)
	}

	w := chat(gb, "")
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "backend_unavailable") {
		t.Fatalf("B: %d %s", w.Code, w.Body)
	}
	if ra, _ := strconv.Atoi(w.Header().Get("Retry-After")); ra < 15 || ra > 20 {
		t.Fatalf("B: Retry-After %q, want about 20", w.Header().Get("Retry-After"))
	}
	if bb.calls.Load() != 1 {
		t.Fatalf("B called its backend while the breaker is open elsewhere")
	}

	// The opening ends when its key expires (deleted here to end it now):
	// a fresh instance sees the backend closed.
	sb.Client().Del(t.Context(), key)
	if d := newShared(t, prefix, nil).Breakers().OpenFor("primary"); d != 0 {
		t.Fatalf("OpenFor = %v after the key is gone", d)
	}
}

// TestBreakerSignalDoesNotShorten: a shorter opening does not cut a
// longer one short.
func TestBreakerSignalDoesNotShorten(t *testing.T) {
	requireRedis(t)
	prefix := testPrefix(t)
	s := newShared(t, prefix, nil)
	b := s.Breakers()
	b.Opened("x", 30*time.Second)
	b.Wait()
	b.Opened("x", time.Second)
	b.Wait()
	if ttl := s.Client().PTTL(t.Context(), s.key("breaker", "x")).Val(); ttl < 25*time.Second {
		t.Fatalf("TTL %v after a shorter opening", ttl)
	}
	if d := newShared(t, prefix, nil).Breakers().OpenFor("x"); d < 25*time.Second {
		t.Fatalf("OpenFor = %v", d)
	}
	if d := newShared(t, prefix, nil).Breakers().OpenFor("y"); d != 0 {
		t.Fatalf("OpenFor(y) = %v", d)
	}
}

// TestBreakerSignalWithoutRedis: when Redis is unreachable the signal
// says "not open" once the timeout gives up on it, and openings are
// dropped (counted).
func TestBreakerSignalWithoutRedis(t *testing.T) {
	s := unreachable(t, blackhole(t), FailOpen, 0, nil)
	b := s.Breakers()
	start := time.Now()
	if d := b.OpenFor("x"); d != 0 {
		t.Fatalf("OpenFor = %v", d)
	}
	if took := time.Since(start); took > stuck {
		t.Fatalf("OpenFor took %v: the %v timeout did not stop it", took, s.cfg.Timeout)
	}
	b.Opened("x", time.Minute)
	b.Wait()
	if e := s.Errors(); e[opBreakerGet] != 1 || e[opBreakerSet] != 1 {
		t.Fatalf("errors %v", e)
	}
}
