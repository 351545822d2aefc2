package redislimit

import (
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scfgate/scfgate/gateway"
)

// gcra takes one token from the global bucket (KEYS[1]) and the key's
// bucket (KEYS[2]) on Redis's clock, all or nothing. Each bucket is GCRA:
// its key holds the theoretical arrival time (TAT, µs); a bucket of rate
// 1/T and size B admits a request at now when TAT+T-B*T <= now+max_wait,
// waiting TAT+T-B*T-now if that is positive, and then holds TAT+T.
//
// ARGV: global T (µs, 0 = unlimited), global B, key T, key B, max_wait µs.
// Reply: allowed (0/1), scope (0, 1 global, 2 key), limit, remaining,
// reset µs, retry-after µs, delay µs: the same data as the gateway's
// local limiter.
var gcra = redis.NewScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local maxwait = tonumber(ARGV[5])

local function tat_of(key)
  local v = tonumber(redis.call('GET', key))
  if v == nil or v < now then return now end
  return v
end

-- remaining whole tokens and µs until full, for a bucket holding tat
local function state(tat, T, B)
  local rem = math.floor(B - (tat - now) / T)
  if rem < 0 then rem = 0 end
  local reset = tat - now
  if reset < 0 then reset = 0 end
  return rem, math.ceil(reset)
end

-- checks one bucket: the new tat and the delay, or nil and the refusal
local function take(key, T, B, scope)
  local tat = tat_of(key)
  local new = tat + T
  local wait = new - B * T - now
  if wait > maxwait then
    local rem, reset = state(tat, T, B)
    return nil, 0, {0, scope, B, rem, reset, math.ceil(wait), 0}
  end
  if wait < 0 then wait = 0 end
  return new, wait, nil
end

local function store(key, new)
  redis.call('SET', key, string.format('%.0f', new), 'PX', string.format('%.0f', math.max(1, math.ceil((new - now) / 1000))))
end

local gT, gB = tonumber(ARGV[1]), tonumber(ARGV[2])
local kT, kB = tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {1, 0, 0, 0, 0, 0, 0}
local gnew, gwait = nil, 0
if gT > 0 then
  local refused
  gnew, gwait, refused = take(KEYS[1], gT, gB, 1)
  if refused then return refused end
  local rem, reset = state(gnew, gT, gB)
  out = {1, 0, gB, rem, reset, 0, math.ceil(gwait)}
end
if kT > 0 then
  local knew, kwait, refused = take(KEYS[2], kT, kB, 2)
  if refused then return refused end
  store(KEYS[2], knew)
  local rem, reset = state(knew, kT, kB)
  out = {1, 0, kB, rem, reset, 0, math.ceil(math.max(gwait, kwait))}
end
if gnew then store(KEYS[1], gnew) end
return out
`)

// Limiter is a gateway.Limiter whose buckets live in Redis, shared by
// every gateway instance using the same key prefix. Without Redis it
// decides as Config.Mode says. It is safe for concurrent use.
type Limiter struct {
	s        *Shared
	global   gateway.Bucket
	fallback *gateway.LocalLimiter
	n        int
	gKey     string
	kPrefix  string
}

var _ gateway.Limiter = (*Limiter)(nil)

// Limiter returns the shared limiter with the global bucket of l;
// per-key buckets are sized by each Reserve call, as locally.
func (s *Shared) Limiter(l gateway.Limits) *Limiter {
	n := s.cfg.ExpectedInstances
	local := l
	local.Global = divide(l.Global, n)
	if local.MaxKeys < 1 {
		local.MaxKeys = 10000
	}
	if local.IdleTTL <= 0 {
		local.IdleTTL = 10 * time.Minute
	}
	return &Limiter{s: s, global: norm(l.Global), fallback: gateway.NewLocalLimiter(local), n: n,
		gKey: s.key("rl", "global"), kPrefix: s.key("rl", "key") + ":"}
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
	perKey = norm(perKey)
	if l.global.QPS <= 0 && perKey.QPS <= 0 {
		return gateway.Decision{Allowed: true}
	}
	if l.s.skip() {
		return l.without(now, key, perKey, maxWait)
	}
	ctx, cancel := l.s.ctx()
	res, err := gcra.Run(ctx, l.s.rdb, []string{l.gKey, l.kPrefix + key},
		interval(l.global), l.global.Burst, interval(perKey), perKey.Burst, maxWait.Microseconds()).Int64Slice()
	cancel()
	if err != nil || len(res) != 7 {
		if err == nil {
			err = redis.Nil
		}
		l.s.failed(idxLimit, err)
		return l.without(now, key, perKey, maxWait)
	}
	l.s.ok()
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	d := gateway.Decision{Allowed: res[0] == 1, Limit: int(res[2]), Remaining: int(res[3]), Reset: us(res[4]),
		RetryAfter: us(res[5]), Delay: us(res[6])}
	switch res[1] {
	case 1:
		d.Scope = "global"
	case 2:
		d.Scope = "key"
	}
	return d
}

// without decides while Redis cannot: a local bucket of the limits
// divided by the expected instances (fail_open) or 503 (fail_closed).
func (l *Limiter) without(now time.Time, key string, perKey gateway.Bucket, maxWait time.Duration) gateway.Decision {
	if l.s.cfg.Mode == FailClosed {
		l.s.fallbacks[idxFailClosed].Add(1)
		return gateway.Decision{Scope: "global", Unavailable: true, RetryAfter: max(l.s.cfg.Backoff, time.Second)}
	}
	l.s.fallbacks[idxFailOpen].Add(1)
	return l.fallback.Reserve(now, key, divide(perKey, l.n), maxWait)
}
