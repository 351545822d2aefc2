package redislimit

import (
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scfgate/scfgate/gateway"
)

// openScript holds a backend open for ARGV[1] ms unless it already is for
// longer; the value (ARGV[2], the writer's unix ms until) is only for
// people reading Redis: readers use the key's TTL, so clocks need not
// agree.
var openScript = redis.NewScript(`
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1])
  return 1
end
return 0
`)

// BreakerSignal is a gateway.BreakerSignal kept in Redis: a backend is
// open for every instance while its key lives. Reads cost one PTTL,
// bounded by the timeout; a backend seen closed is believed closed for
// BreakerCache, one seen open is not asked about again until it closes.
// When Redis fails the signal says "not open" and each instance's own
// breaker decides. It is safe for concurrent use.
type BreakerSignal struct {
	s  *Shared
	wg sync.WaitGroup

	mu    sync.Mutex
	known map[string]seen
}

type seen struct {
	openUntil   time.Time // held open until then
	closedUntil time.Time // believed closed until then
}

var _ gateway.BreakerSignal = (*BreakerSignal)(nil)

// Breakers returns the instance's breaker signal.
func (s *Shared) Breakers() *BreakerSignal { return s.breakers }

func (b *BreakerSignal) key(backend string) string { return b.s.key("breaker", backend) }

// OpenFor implements gateway.BreakerSignal.
func (b *BreakerSignal) OpenFor(backend string) time.Duration {
	now := time.Now()
	b.mu.Lock()
	k := b.known[backend]
	b.mu.Unlock()
	if k.openUntil.After(now) {
		return k.openUntil.Sub(now)
	}
	if k.closedUntil.After(now) || b.s.skip() {
		return 0
	}
	ctx, cancel := b.s.ctx()
	ttl, err := b.s.rdb.PTTL(ctx, b.key(backend)).Result()
	cancel()
	if err != nil {
		b.s.failed(idxBreakerGet, err)
		return 0
	}
	b.s.ok()
	now = time.Now()
	if ttl > 0 {
		k = seen{openUntil: now.Add(ttl)}
	} else {
		ttl, k = 0, seen{closedUntil: now.Add(b.s.cfg.BreakerCache)}
	}
	b.mu.Lock()
	b.known[backend] = k
	b.mu.Unlock()
	return ttl
}

// Opened implements gateway.BreakerSignal: it writes the opening in the
// background (the gateway calls it under its breaker's lock).
func (b *BreakerSignal) Opened(backend string, d time.Duration) {
	if d <= 0 {
		return
	}
	until := time.Now().Add(d)
	b.wg.Go(func() {
		ctx, cancel := b.s.ctx()
		defer cancel()
		err := openScript.Run(ctx, b.s.rdb, []string{b.key(backend)},
			max(1, d.Milliseconds()), strconv.FormatInt(until.UnixMilli(), 10)).Err()
		if err != nil {
			b.s.failed(idxBreakerSet, err)
			return
		}
		b.s.ok()
	})
}

// Wait waits for the openings being written (at most the timeout each).
func (b *BreakerSignal) Wait() { b.wg.Wait() }
