package scaler

import (
	"math"
	"strings"
	"testing"
	"time"
)

// t0 is the first sample's time in every test window.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// none marks a missing point in the helpers' value lists.
var none = math.NaN()

// metric turns a helper value into a Metric: none is "no data".
func metric(v float64) Metric {
	if math.IsNaN(v) {
		return Metric{}
	}
	return Observed(v)
}

// concs returns one sample a minute from t0 with the given concurrency and
// no other data.
func concs(vals ...float64) []Sample {
	out := make([]Sample, len(vals))
	for i, v := range vals {
		out[i] = Sample{Time: t0.Add(time.Duration(i) * time.Minute), ConcurrentExecutions: metric(v)}
	}
	return out
}

// repeat returns n copies of v.
func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// cat concatenates value lists.
func cat(lists ...[]float64) []float64 {
	var out []float64
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// loaded returns a sample at minute i whose three components all equal
// load l, for N = 10, memorySize 1000 MB and a one-minute period.
func loaded(i int, l float64) Sample {
	return Sample{
		Time:                 t0.Add(time.Duration(i) * time.Minute),
		ConcurrentExecutions: Observed(10 * l),
		MemMB:                Observed(1000 * l),
		Invocations:          Observed(600 * l), // 10*l per second
		DurationMs:           Observed(1000),    // 1 rps per instance
	}
}

// loads returns loaded samples one a minute from t0; none gives a sample
// with no data.
func loads(ls ...float64) []Sample {
	out := make([]Sample, len(ls))
	for i, l := range ls {
		if math.IsNaN(l) {
			out[i] = Sample{Time: t0.Add(time.Duration(i) * time.Minute)}
			continue
		}
		out[i] = loaded(i, l)
	}
	return out
}

// after returns the time of a tick just after the last sample of a window
// of n one-minute samples, as the scaler sees it: Monitor's delay apart.
func after(n int) time.Time { return t0.Add(time.Duration(n+1) * time.Minute) }

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

// wantErr checks that err mentions every string of want, or is nil when
// want is empty.
func wantErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("error = %v, want nil", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("error = nil, want one mentioning %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error = %q, want it to mention %q", err, w)
		}
	}
}
