package scaler

import (
	"testing"
	"time"
)

// benchInputs is a typical tick: twelve one-minute samples with every
// metric, ten provisioned instances.
func benchInputs() Inputs {
	in := Inputs{Period: time.Minute, Provisioned: 10, Available: 10, MemorySizeMB: 4096}
	for i := range 12 {
		c := float64(i % 7)
		in.Samples = append(in.Samples, Sample{
			Time:                 t0.Add(time.Duration(i) * time.Minute),
			ConcurrentExecutions: Observed(c),
			Invocations:          Observed(c * 30),
			DurationMs:           Observed(2000),
			MemMB:                Observed(3000 + 50*c),
		})
	}
	return in
}

func BenchmarkLoadScore(b *testing.B) {
	in, cfg := benchInputs(), DefaultScoreConfig()
	b.ReportAllocs()
	for b.Loop() {
		LoadScore(in, cfg)
	}
}

func BenchmarkDecide(b *testing.B) {
	in := benchInputs()
	now := t0.Add(13 * time.Minute)
	for _, name := range PolicyNames() {
		p, err := PolicyByName(name, DefaultPolicyConfig())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Decide(now, in)
			}
		})
	}
}
