package redislimit

import (
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scfgate/scfgate/gateway"
)

// gcra takes from each bucket KEYS[i] its cost on Redis's clock, all or
// nothing. Each bucket is GCRA: its key holds the theoretical arrival
// time (TAT, µs); a bucket of rate 1/T and size B admits cost c at now
// when TAT+c*T-B*T <= now+max_wait, waiting TAT+c*T-B*T-now if that is
// positive, and then holds TAT+c*T. The request buckets cost 1, the
// token buckets the request's reserved tokens.
//
// KEYS: global requests, key requests, and, with token limits, global
// tokens, key tokens, global output tokens, key output tokens.
// ARGV: max_wait µs, then for each key: T (µs, 0 = unlimited), B, cost.
// Reply: allowed (0/1), scope (0, or the refusing bucket's index),
// retry-after µs, delay µs, then for each bucket its remaining whole
// tokens and µs until full (after the request when allowed, before it
// when refused).
var gcra = redis.NewScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local maxwait = tonumber(ARGV[1])
local n = #KEYS

local function state(tat, T, B)
  local rem = math.floor(B - (tat - now) / T)
  if rem < 0 then rem = 0 end
  local reset = tat - now
  if reset < 0 then reset = 0 end
  return rem, math.ceil(reset)
end

local out = {1, 0, 0, 0}
for i = 1, 2 * n do out[4 + i] = 0 end
local news = {}
local delay = 0
for i = 1, n do
  local T, B, cost = tonumber(ARGV[3*i-1]), tonumber(ARGV[3*i]), tonumber(ARGV[3*i+1])
  if T > 0 then
    local tat = tonumber(redis.call('GET', KEYS[i]))
    if tat == nil or tat < now then tat = now end
    local new = tat + cost * T
    local wait = new - B * T - now
    if wait > maxwait then
      local r = {0, i, math.ceil(wait), 0}
      for j = 1, 2 * n do r[4 + j] = 0 end
      r[3 + 2*i], r[4 + 2*i] = state(tat, T, B)
      return r
    end
    if wait > delay then delay = wait end
    news[i] = new
    out[3 + 2*i], out[4 + 2*i] = state(new, T, B)
  end
end
for i = 1, n do
  if news[i] then
    redis.call('SET', KEYS[i], string.format('%.0f', news[i]), 'PX', string.format('%.0f', math.max(1, math.ceil((news[i] - now) / 1000))))
  end
end
out[4] = math.ceil(delay)
return out
`)

// settle moves each token bucket KEYS[i] by its delta (ARGV: for each
// key T µs and delta tokens, negative to give back), on Redis's clock.
var settle = redis.NewScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
for i = 1, #KEYS do
  local T, delta = tonumber(ARGV[2*i-1]), tonumber(ARGV[2*i])
  if T > 0 and delta ~= 0 then
    local tat = tonumber(redis.call('GET', KEYS[i]))
    if tat == nil or tat < now then tat = now end
    local new = tat + delta * T
    if new <= now then
      redis.call('DEL', KEYS[i])
    else
      redis.call('SET', KEYS[i], string.format('%.0f', new), 'PX', string.format('%.0f', math.max(1, math.ceil((new - now) / 1000))))
    end
  end
end
return 1
`)

// Bucket indexes in the scripts' KEYS, from 1.
const (
	bGlobal = iota + 1
	bKey
	bGlobalTokens
	bKeyTokens
	bGlobalOutput
	bKeyOutput
)

var scopes = [...]string{bGlobal: "global", bKey: "key", bGlobalTokens: "global_tokens", bKeyTokens: "key_tokens",
	bGlobalOutput: "global_output_tokens", bKeyOutput: "key_output_tokens"}

// Limiter is a gateway.Limiter whose buckets live in Redis, shared by
// every gateway instance using the same key prefix. Without Redis it
// decides as Config.Mode says. It is safe for concurrent use.
type Limiter struct {
	s        *Shared
	global   gateway.Bucket
	gTokens  gateway.TokenLimit
	fallback *gateway.LocalLimiter
	n        int
	gKey     string
	kPrefix  string
	// The token buckets' keys: global total and output, and the key
	// prefixes of each key's.
	gTokKey, gOutKey, kTokPrefix, kOutPrefix string
}

var _ gateway.Limiter = (*Limiter)(nil)

// Limiter returns the shared limiter with the global bucket of l;
// per-key buckets are sized by each Reserve call, as locally.
func (s *Shared) Limiter(l gateway.Limits) *Limiter {
	n := s.cfg.ExpectedInstances
	local := l
	local.Global = divide(l.Global, n)
	local.GlobalTokens = divideTokens(l.GlobalTokens, n)
	if local.MaxKeys < 1 {
		local.MaxKeys = 10000
	}
	if local.IdleTTL <= 0 {
		local.IdleTTL = 10 * time.Minute
	}
	return &Limiter{s: s, global: norm(l.Global), gTokens: l.GlobalTokens, fallback: gateway.NewLocalLimiter(local), n: n,
		gKey: s.key("rl", "global"), kPrefix: s.key("rl", "key") + ":",
		gTokKey: s.key("rl", "global_tokens"), gOutKey: s.key("rl", "global_output"),
		kTokPrefix: s.key("rl", "key_tokens") + ":", kOutPrefix: s.key("rl", "key_output") + ":"}
}

// divideTokens is one instance's share of t among n.
func divideTokens(t gateway.TokenLimit, n int) gateway.TokenLimit {
	if n <= 1 {
		return t
	}
	share := func(v int) int {
		if v <= 0 {
			return 0
		}
		return max(1, v/n)
	}
	return gateway.TokenLimit{PerMinute: share(t.PerMinute), OutputPerMinute: share(t.OutputPerMinute)}
}

// tokenInterval is a token bucket's emission interval in µs; 0 when off.
func tokenInterval(perMinute int) string {
	if perMinute <= 0 {
		return "0"
	}
	return strconv.FormatFloat(6e7/float64(perMinute), 'f', 3, 64)
}

// norm fills in the default burst as the local limiter does.
func norm(b gateway.Bucket) gateway.Bucket {
	if b.QPS > 0 && b.Burst == 0 {
		b.Burst = max(1, int(math.Ceil(b.QPS)))
	}
	return b
}

// divide is one instance's share of b among n.
func divide(b gateway.Bucket, n int) gateway.Bucket {
	b = norm(b)
	if b.QPS <= 0 || n <= 1 {
		return b
	}
	return gateway.Bucket{QPS: b.QPS / float64(n), Burst: max(1, int(math.Ceil(float64(b.Burst)/float64(n))))}
}

// interval is a bucket's emission interval in µs; 0 for unlimited.
func interval(b gateway.Bucket) string {
	if b.QPS <= 0 {
		return "0"
	}
	return strconv.FormatFloat(1e6/b.QPS, 'f', 3, 64)
}

// Reserve implements gateway.Limiter. It uses Redis's clock; now only
// serves the local fallback.
func (l *Limiter) Reserve(now time.Time, key string, perKey gateway.Bucket, maxWait time.Duration) gateway.Decision {
	return l.Admit(now, key, perKey, gateway.TokenLimit{}, gateway.TokenCost{}, maxWait)
}

// Admit implements gateway.Limiter: the request buckets and the token
// buckets in one script run.
func (l *Limiter) Admit(now time.Time, key string, perKey gateway.Bucket, keyTokens gateway.TokenLimit, cost gateway.TokenCost, maxWait time.Duration) gateway.Decision {
	perKey = norm(perKey)
	tokens := l.gTokens.On() || keyTokens.On()
	if l.global.QPS <= 0 && perKey.QPS <= 0 && !tokens {
		return gateway.Decision{Allowed: true}
	}
	if l.s.skip() {
		return l.without(now, key, perKey, keyTokens, cost, maxWait)
	}
	keys := []string{l.gKey, l.kPrefix + key}
	args := []any{maxWait.Microseconds(), interval(l.global), l.global.Burst, 1, interval(perKey), perKey.Burst, 1}
	if tokens {
		keys = append(keys, l.gTokKey, l.kTokPrefix+key, l.gOutKey, l.kOutPrefix+key)
		args = append(args,
			tokenInterval(l.gTokens.PerMinute), l.gTokens.PerMinute, cost.Total,
			tokenInterval(keyTokens.PerMinute), keyTokens.PerMinute, cost.Total,
			tokenInterval(l.gTokens.OutputPerMinute), l.gTokens.OutputPerMinute, cost.Output,
			tokenInterval(keyTokens.OutputPerMinute), keyTokens.OutputPerMinute, cost.Output)
	}
	ctx, cancel := l.s.ctx()
	res, err := gcra.Run(ctx, l.s.rdb, keys, args...).Int64Slice()
	cancel()
	if err != nil || len(res) != 4+2*len(keys) {
		if err == nil {
			err = redis.Nil
		}
		l.s.failed(idxLimit, err)
		return l.without(now, key, perKey, keyTokens, cost, maxWait)
	}
	l.s.ok()
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	d := gateway.Decision{Allowed: res[0] == 1, RetryAfter: us(res[2]), Delay: us(res[3])}
	if s := res[1]; s > 0 && int(s) < len(scopes) {
		d.Scope = scopes[s]
	}
	// rem and reset of bucket i (from 1) are res[2+2i] and res[3+2i].
	req := func(i int, b gateway.Bucket) {
		d.Limit, d.Remaining, d.Reset = b.Burst, int(res[2+2*i]), us(res[3+2*i])
	}
	tok := func(i, limit int) bool {
		if limit <= 0 {
			return false
		}
		d.Tokens = gateway.TokenState{Limit: limit, Remaining: int(res[2+2*i]), Reset: us(res[3+2*i])}
		return true
	}
	if !d.Allowed {
		// The refusing bucket's state, as the local limiter reports it.
		switch i := int(res[1]); i {
		case bGlobal:
			req(i, l.global)
		case bKey:
			req(i, perKey)
		case bGlobalTokens:
			tok(i, l.gTokens.PerMinute)
		case bKeyTokens:
			tok(i, keyTokens.PerMinute)
		case bGlobalOutput:
			tok(i, l.gTokens.OutputPerMinute)
		case bKeyOutput:
			tok(i, keyTokens.OutputPerMinute)
		}
		return d
	}
	// The key's buckets are reported: they are the ones a client can act
	// on.
	switch {
	case perKey.QPS > 0:
		req(bKey, perKey)
	case l.global.QPS > 0:
		req(bGlobal, l.global)
	}
	if tokens {
		_ = tok(bKeyTokens, keyTokens.PerMinute) || tok(bGlobalTokens, l.gTokens.PerMinute) ||
			tok(bKeyOutput, keyTokens.OutputPerMinute) || tok(bGlobalOutput, l.gTokens.OutputPerMinute)
	}
	return d
}

// Settle implements gateway.Limiter. A failed settlement is lost: the
// reservation stays charged, the safe side.
func (l *Limiter) Settle(now time.Time, key string, keyTokens gateway.TokenLimit, reserved, used gateway.TokenCost) {
	dt, do := used.Total-reserved.Total, used.Output-reserved.Output
	if dt == 0 && do == 0 || !l.gTokens.On() && !keyTokens.On() {
		return
	}
	if l.s.skip() {
		l.fallback.Settle(now, key, divideTokens(keyTokens, l.n), reserved, used)
		return
	}
	ctx, cancel := l.s.ctx()
	err := settle.Run(ctx, l.s.rdb, []string{l.gTokKey, l.kTokPrefix + key, l.gOutKey, l.kOutPrefix + key},
		tokenInterval(l.gTokens.PerMinute), dt, tokenInterval(keyTokens.PerMinute), dt,
		tokenInterval(l.gTokens.OutputPerMinute), do, tokenInterval(keyTokens.OutputPerMinute), do).Err()
	cancel()
	if err != nil {
		l.s.failed(idxLimit, err)
		return
	}
	l.s.ok()
}

// without decides while Redis cannot: a local bucket of the limits
// divided by the expected instances (fail_open) or 503 (fail_closed).
func (l *Limiter) without(now time.Time, key string, perKey gateway.Bucket, keyTokens gateway.TokenLimit, cost gateway.TokenCost, maxWait time.Duration) gateway.Decision {
	if l.s.cfg.Mode == FailClosed {
		l.s.fallbacks[idxFailClosed].Add(1)
		return gateway.Decision{Scope: "global", Unavailable: true, RetryAfter: max(l.s.cfg.Backoff, time.Second)}
	}
	l.s.fallbacks[idxFailOpen].Add(1)
	return l.fallback.Admit(now, key, divide(perKey, l.n), divideTokens(keyTokens, l.n), cost, maxWait)
}
