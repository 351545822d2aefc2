package gateway

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter decides whether a request may pass. The in-memory
// implementation (NewLocalLimiter) limits one gateway instance; a shared
// store (Redis) can implement the same interface to limit all of them.
type Limiter interface {
	// Reserve takes one token from the global bucket and from key's bucket
	// (perKey sizes it) at now. If the tokens are available within
	// maxWait the decision is Allowed, with Delay telling how long the
	// caller must wait first; otherwise nothing is taken.
	Reserve(now time.Time, key string, perKey Bucket, maxWait time.Duration) Decision
	// Admit is Reserve that also reserves cost from the token buckets
	// (the global ones of the limiter's Limits, and key's, sized by
	// keyTokens), all buckets or none, in one decision: concurrent
	// admissions cannot both see the same tokens.
	Admit(now time.Time, key string, perKey Bucket, keyTokens TokenLimit, cost TokenCost, maxWait time.Duration) Decision
	// Settle replaces a reservation admitted with Admit by the tokens
	// the request really used: the difference goes back to (or, for a
	// prompt larger than estimated, is taken from) the same buckets.
	Settle(now time.Time, key string, keyTokens TokenLimit, reserved, used TokenCost)
}

// Decision is a Limiter's answer, with what the RateLimit headers report
// about the bucket that binds.
type Decision struct {
	Allowed bool
	// Delay is how long an allowed request waits for its token.
	Delay time.Duration
	// Scope names the bucket that refused: "global" or "key".
	Scope string
	// Limit is the bucket's size (burst), Remaining its whole tokens left,
	// Reset the time until it is full again; Limit 0 means unlimited.
	Limit     int
	Remaining int
	Reset     time.Duration
	// RetryAfter is when a refused request could get a token.
	RetryAfter time.Duration
	// Unavailable marks a refusal because the limiter's store could not
	// decide (a shared limiter failing closed): the client gets 503.
	Unavailable bool
	// Tokens is the token bucket an Admit reports (the key's total-token
	// bucket, else the global one, else the output buckets likewise);
	// its Limit 0 means no token limit.
	Tokens TokenState
}

// TokenState is what the x-ratelimit-*-tokens headers report: a token
// bucket's size (a minute's tokens), its whole tokens left, and the time
// until it is full again.
type TokenState struct {
	Limit, Remaining int
	Reset            time.Duration
}

// LocalLimiter is a Limiter in memory: one rate.Limiter for the whole
// gateway and one per key, in a map bounded by maxKeys where buckets idle
// for idleTTL are evicted first, then the least recently used. It is safe
// for concurrent use.
type LocalLimiter struct {
	global  *rate.Limiter // nil: unlimited
	gBucket Bucket
	gTokens TokenLimit
	gTok    [2]gcra // total, output
	maxKeys int
	idleTTL time.Duration

	mu   sync.Mutex // guards keys and every reservation
	keys map[string]*keyBucket
}

type keyBucket struct {
	lim    *rate.Limiter
	bucket Bucket
	last   time.Time
	tok    [2]gcra // total, output tokens
}

var _ Limiter = (*LocalLimiter)(nil)

// NewLocalLimiter returns a LocalLimiter with the global bucket of l;
// per-key buckets are sized by each Reserve call.
func NewLocalLimiter(l Limits) *LocalLimiter {
	ll := &LocalLimiter{maxKeys: max(l.MaxKeys, 1), idleTTL: l.IdleTTL, keys: map[string]*keyBucket{},
		gTokens: l.GlobalTokens}
	if g := normBucket(l.Global); g.QPS > 0 {
		ll.gBucket = g
		ll.global = rate.NewLimiter(rate.Limit(g.QPS), g.Burst)
	}
	return ll
}

// normBucket fills in the default burst.
func normBucket(b Bucket) Bucket {
	if b.QPS > 0 && b.Burst == 0 {
		b.Burst = max(1, int(math.Ceil(b.QPS)))
	}
	return b
}

// Reserve implements Limiter.
func (l *LocalLimiter) Reserve(now time.Time, key string, perKey Bucket, maxWait time.Duration) Decision {
	return l.Admit(now, key, perKey, TokenLimit{}, TokenCost{}, maxWait)
}

// Admit implements Limiter.
func (l *LocalLimiter) Admit(now time.Time, key string, perKey Bucket, keyTokens TokenLimit, cost TokenCost, maxWait time.Duration) Decision {
	perKey = normBucket(perKey)
	// One lock around reserve-and-cancel: a cancelled reservation gives
	// back its whole token only if no other reservation came in between.
	l.mu.Lock()
	defer l.mu.Unlock()
	tokens := l.gTokens.On() || keyTokens.On()
	if !tokens {
		return l.reserve(now, key, perKey, maxWait)
	}
	// The token buckets are checked first: they take nothing until all
	// agree, while the request buckets' reservations would have to be
	// cancelled.
	var kb *keyBucket
	if keyTokens.On() {
		kb = l.keyBuckets(now, key, perKey)
	}
	var kTok *[2]gcra
	if kb != nil {
		kTok = &kb.tok
	}
	ts, refusal, ok := takeTokens(now, &l.gTok, l.gTokens, kTok, keyTokens, cost, maxWait)
	if !ok {
		return refusal
	}
	d := l.reserve(now, key, perKey, maxWait)
	if !d.Allowed {
		undoTokens(now, &l.gTok, l.gTokens, kTok, keyTokens, cost)
		return d
	}
	d.Delay = max(d.Delay, ts.delay)
	d.Tokens = ts.state
	return d
}

// Settle implements Limiter.
func (l *LocalLimiter) Settle(now time.Time, key string, keyTokens TokenLimit, reserved, used TokenCost) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delta := TokenCost{Total: used.Total - reserved.Total, Output: used.Output - reserved.Output}
	l.gTok[0].add(now, delta.Total, l.gTokens.PerMinute)
	l.gTok[1].add(now, delta.Output, l.gTokens.OutputPerMinute)
	if kb, ok := l.keys[key]; ok && keyTokens.On() {
		kb.tok[0].add(now, delta.Total, keyTokens.PerMinute)
		kb.tok[1].add(now, delta.Output, keyTokens.OutputPerMinute)
	}
}

// reserve is Reserve with mu held.
func (l *LocalLimiter) reserve(now time.Time, key string, perKey Bucket, maxWait time.Duration) Decision {
	var rg *rate.Reservation
	var d Decision
	if l.global != nil {
		rg = l.global.ReserveN(now, 1)
		wait := rg.DelayFrom(now)
		if wait > maxWait {
			rg.CancelAt(now)
			return refused("global", l.global, l.gBucket, now, wait)
		}
		d = bucketState(l.global, l.gBucket, now)
		d.Delay = wait
	}
	if perKey.QPS <= 0 {
		d.Allowed = true
		return d
	}
	kl := l.keyLimiter(now, key, perKey)
	rk := kl.ReserveN(now, 1)
	wait := rk.DelayFrom(now)
	if wait > maxWait {
		rk.CancelAt(now)
		if rg != nil {
			rg.CancelAt(now)
		}
		return refused("key", kl, perKey, now, wait)
	}
	// The key's bucket is reported: it is the one a client can act on.
	kd := bucketState(kl, perKey, now)
	kd.Delay = max(d.Delay, wait)
	kd.Allowed = true
	return kd
}

func refused(scope string, lim *rate.Limiter, b Bucket, now time.Time, wait time.Duration) Decision {
	d := bucketState(lim, b, now)
	d.Scope = scope
	d.RetryAfter = wait
	return d
}

func bucketState(lim *rate.Limiter, b Bucket, now time.Time) Decision {
	tokens := lim.TokensAt(now)
	d := Decision{Limit: b.Burst, Remaining: max(0, int(math.Floor(tokens)))}
	if missing := float64(b.Burst) - tokens; missing > 0 {
		d.Reset = time.Duration(missing / b.QPS * float64(time.Second))
	}
	return d
}

// keyLimiter returns key's limiter, creating it (and evicting to make
// room) when needed. A changed bucket size for the key replaces it.
// Called with mu held.
func (l *LocalLimiter) keyLimiter(now time.Time, key string, b Bucket) *rate.Limiter {
	return l.keyBuckets(now, key, b).lim
}

// keyBuckets returns key's buckets, as keyLimiter. A changed request
// bucket keeps the key's token buckets.
func (l *LocalLimiter) keyBuckets(now time.Time, key string, b Bucket) *keyBucket {
	kb, ok := l.keys[key]
	if ok && kb.bucket == b {
		kb.last = now
		return kb
	}
	if !ok && len(l.keys) >= l.maxKeys {
		l.evict(now)
	}
	nb := &keyBucket{lim: rate.NewLimiter(rate.Limit(b.QPS), b.Burst), bucket: b, last: now}
	if ok {
		nb.tok = kb.tok
	}
	l.keys[key] = nb
	return nb
}

// evict removes the buckets idle for idleTTL; if none is, it removes the
// least recently used one. Called with mu held, when the map is full.
func (l *LocalLimiter) evict(now time.Time) {
	var oldest string
	var oldestAt time.Time
	removed := false
	for k, kb := range l.keys {
		if now.Sub(kb.last) >= l.idleTTL {
			delete(l.keys, k)
			removed = true
			continue
		}
		if oldest == "" || kb.last.Before(oldestAt) {
			oldest, oldestAt = k, kb.last
		}
	}
	if !removed {
		delete(l.keys, oldest)
	}
}

// Len reports how many per-key buckets are held.
func (l *LocalLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}
