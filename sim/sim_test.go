package sim

import (
	"errors"
	"io/fs"
	"math"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// tracesDir is the shared workspace's trace folder, relative to this
// package.
const tracesDir = "../../shared/traces"

func flat(t *testing.T, qps float64, d time.Duration) Profile {
	t.Helper()
	p, err := Synthetic(SynthFlat, qps, d, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConservation(t *testing.T) {
	p, err := Synthetic(SynthBurst, 40, 2*time.Hour, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.ConcurrencyLimit = 30 // force throttles
	c.BurstPerMinute = 20
	c.Scaler.Max, c.Scaler.Limit = 30, 30
	c.TraditionalQueue = 50 // force rejections
	c.GatewayRPS, c.GatewayBurst = 35, 20
	for _, pol := range PolicyNames() {
		r, err := Run(p, pol, c)
		if err != nil {
			t.Fatal(err)
		}
		if r.Served+r.Throttled+r.Rejected != r.Arrivals {
			t.Errorf("%s: served %d + throttled %d + rejected %d != arrivals %d", pol, r.Served, r.Throttled, r.Rejected, r.Arrivals)
		}
		var arr, thr, rej, srv int64
		for _, m := range r.Minutes {
			arr += m.Arrivals
			thr += m.Throttled
			rej += m.Rejected
			srv += m.Served
		}
		if arr != r.Arrivals || thr != r.Throttled || rej != r.Rejected || srv != r.Served {
			t.Errorf("%s: per-minute arrivals %d, throttled %d, rejected %d, served %d; totals %d, %d, %d, %d",
				pol, arr, thr, rej, srv, r.Arrivals, r.Throttled, r.Rejected, r.Served)
		}
		if r.Arrivals == 0 || r.Rejected == 0 {
			t.Errorf("%s: %d arrivals, %d rejected by the gateway; want some of both", pol, r.Arrivals, r.Rejected)
		}
		t.Logf("%s: arrivals %d served %d throttled %d rejected %d cold %d", pol, r.Arrivals, r.Served, r.Throttled, r.Rejected, r.ColdStarts)
	}
}

func TestLittlesLaw(t *testing.T) {
	p := flat(t, 20, time.Hour)
	for _, pol := range []string{"stable", PolicyTraditional} {
		r, err := Run(p, pol, DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		want := r.ThroughputPerS * r.MeanLatencyMs / 1000
		if rel := math.Abs(r.InSystemMean-want) / want; rel > 0.02 {
			t.Errorf("%s: L = %.3f, lambda x W = %.3f (off by %.2f%%)", pol, r.InSystemMean, want, rel*100)
		}
		t.Logf("%s: L = %.3f, lambda x W = %.3f", pol, r.InSystemMean, want)
	}
}

// TestLittlesLawSteadyState checks L = lambda x W over the middle of a
// flat run, away from the start-up and the drain, minute by minute.
func TestLittlesLawSteadyState(t *testing.T) {
	p := flat(t, 20, 2*time.Hour)
	r, err := Run(p, "tracking", DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var l, served, latSum float64
	ms := r.Minutes[30 : len(r.Minutes)-30]
	for _, m := range ms {
		l += m.InSystemMean
		served += float64(m.Served)
		latSum += m.LatencySumMs
	}
	l /= float64(len(ms))
	lambda := served / (float64(len(ms)) * 60)
	w := latSum / served / 1000
	if rel := math.Abs(l-lambda*w) / (lambda * w); rel > 0.02 {
		t.Errorf("steady state: L = %.3f, lambda x W = %.3f x %.3f = %.3f (off by %.2f%%)", l, lambda, w, lambda*w, rel*100)
	}
}

func TestAmpleCapacityNoColdStarts(t *testing.T) {
	p := flat(t, 20, time.Hour)
	c := DefaultConfig()
	c.InitialProvisioned = 200 // ~20 x 0.75 s = 15 busy on average
	c.Scaler.Min = 200
	for _, pol := range []string{"stable", "seed", "tracking", "predictive", PolicyTraditional} {
		r, err := Run(p, pol, c)
		if err != nil {
			t.Fatal(err)
		}
		if r.ColdStarts != 0 || r.Throttled != 0 || r.Rejected != 0 {
			t.Errorf("%s: cold starts %d, throttled %d, rejected %d; want none", pol, r.ColdStarts, r.Throttled, r.Rejected)
		}
	}
}

func TestDeterministic(t *testing.T) {
	p, err := Synthetic(SynthDiurnal, 15, 3*time.Hour, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.Seed = 42
	a, _, err := Compare(p, PolicyNames(), c)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Compare(p, PolicyNames(), c)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("two runs with the same seed differ")
	}
	c.Seed = 43
	d, _, err := Compare(p, PolicyNames(), c)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a, d) {
		t.Error("runs with different seeds are identical")
	}
}

// BenchmarkDay500 is the goal: 24 hours of the conversation trace
// at a 500 req/s peak (about 28 M requests), one policy per iteration.
func BenchmarkDay500(b *testing.B) {
	path := filepath.Join(tracesDir, "AzureLLMInferenceTrace_conv.csv")
	prof, err := ReadTraceFile(path, FormatAzureLLM)
	if errors.Is(err, fs.ErrNotExist) {
		b.Skipf("%s absent: skipping", path)
	}
	if err != nil {
		b.Fatal(err)
	}
	prof = prof.Rescale(500, 24*time.Hour)
	for b.Loop() {
		r, err := Run(prof, "stable", DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(r.Arrivals), "requests")
	}
}
