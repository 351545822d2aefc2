package redislimit

import (
	"slices"
	"testing"
	"time"

	"github.com/scfgate/scfgate/gateway"
)

// BenchmarkReserve measures one limiter decision against the Redis at
// 127.0.0.1:6379 (loopback): the global bucket and a key's bucket in one
// script. It reports the p50 and p99 of the decision latency.
func BenchmarkReserve(b *testing.B) {
	for _, bc := range []struct {
		name   string
		global gateway.Bucket
		perKey gateway.Bucket
	}{
		{"global", gateway.Bucket{QPS: 1e9, Burst: 1e9}, gateway.Bucket{}},
		{"global+key", gateway.Bucket{QPS: 1e9, Burst: 1e9}, gateway.Bucket{QPS: 1e9, Burst: 1e9}},
		{"refused", gateway.Bucket{QPS: 0.001, Burst: 1}, gateway.Bucket{}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			requireRedis(b)
			s := newShared(b, testPrefix(b), nil)
			rl := s.Limiter(gateway.Limits{Global: bc.global})
			rl.Reserve(time.Now(), "k", bc.perKey, 0) // load the script
			lat := make([]time.Duration, 0, 1<<16)
			for b.Loop() {
				start := time.Now()
				rl.Reserve(start, "k", bc.perKey, 0)
				lat = append(lat, time.Since(start))
			}
			if e := s.Errors()[opLimit]; e != 0 {
				b.Fatalf("%d Redis errors", e)
			}
			reportLatency(b, lat)
		})
	}
}

// BenchmarkRedisDown measures how long a decision takes when Redis does
// not answer: "hangs" tries the silent Redis every time and should give
// up at about the timeout (50 ms), "backoff" decides during the back-off
// without calling Redis. It reports the p50 and p99 of the decision
// latency.
func BenchmarkRedisDown(b *testing.B) {
	for _, bc := range []struct {
		name    string
		backoff time.Duration
	}{{"hangs", 0}, {"backoff", time.Hour}} {
		b.Run(bc.name, func(b *testing.B) {
			s := unreachable(b, blackhole(b), FailOpen, bc.backoff, nil)
			rl := s.Limiter(gateway.Limits{Global: gateway.Bucket{QPS: 1e9, Burst: 1e9}})
			rl.Reserve(time.Now(), "", gateway.Bucket{}, 0) // the first failure starts the back-off
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				rl.Reserve(start, "", gateway.Bucket{}, 0)
				lat = append(lat, time.Since(start))
			}
			reportLatency(b, lat)
		})
	}
}

// reportLatency reports the p50 and p99 of lat.
func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100])/1e3, "p99-µs")
}
