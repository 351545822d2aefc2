package sim

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
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

func TestReadAzureLLMShared(t *testing.T) {
	for _, name := range []string{"AzureLLMInferenceTrace_code.csv", "AzureLLMInferenceTrace_conv.csv"} {
		path := filepath.Join(tracesDir, name)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			t.Skipf("%s absent (the shared workspace's traces are not next to the repo): skipping", path)
		}
		p, err := ReadTraceFile(path, FormatAzureLLM)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"AzureLLMInferenceTrace_code.csv": 8819, "AzureLLMInferenceTrace_conv.csv": 19366}[name]
		if len(p.Tokens) != want {
			t.Errorf("%s: %d requests, want %d", name, len(p.Tokens), want)
		}
		r := p.Rescale(100, 2*time.Hour)
		if got := r.Peak(); math.Abs(got-100) > 1e-9 {
			t.Errorf("rescaled peak %v, want 100", got)
		}
		if r.Duration() != 2*time.Hour {
			t.Errorf("rescaled duration %v, want 2h", r.Duration())
		}
	}
}

func TestReadAzureLLM(t *testing.T) {
	in := "TIMESTAMP,ContextTokens,GeneratedTokens\n" +
		"2023-11-16 18:15:46.6805900,374,44\n" +
		"2023-11-16 18:15:50.99,396,109\n" +
		"2023-11-16 18:17:10.1,10,1"
	p, err := ReadTrace(strings.NewReader(in), FormatAzureLLM)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rates) != 2 || p.Rates[0] != 2.0/60 || p.Rates[1] != 1.0/60 || len(p.Tokens) != 3 {
		t.Errorf("got rates %v, %d tokens", p.Rates, len(p.Tokens))
	}
	for _, tc := range []struct{ in, want string }{
		{"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,374,44\n2023-11-16 18:15:47,x,1\n", "line 3: ContextTokens"},
		{"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,374,44\nyesterday,1,1\n", "line 3: TIMESTAMP"},
		{"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,374\n", "line 2: 2 fields"},
		{"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,1,1\n2023-11-16 18:15:40,1,1\n", "line 3: TIMESTAMP"},
		{"time,a,b\n", "line 1: header"},
	} {
		_, err := ReadTrace(strings.NewReader(tc.in), FormatAzureLLM)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want it to contain %q", err, tc.want)
		}
	}
}

func functionsCSV(trigger bool, rows ...string) string {
	var b strings.Builder
	b.WriteString("HashOwner,HashApp,HashFunction")
	if trigger {
		b.WriteString(",Trigger")
	}
	for i := 1; i <= 1440; i++ {
		b.WriteString("," + strconv.Itoa(i))
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString(r + "\n")
	}
	return b.String()
}

func countsRow(prefix string, f func(minute int) int) string {
	var b strings.Builder
	b.WriteString(prefix)
	for i := 1; i <= 1440; i++ {
		b.WriteString("," + strconv.Itoa(f(i)))
	}
	return b.String()
}

func TestReadAzureFunctions(t *testing.T) {
	for _, trigger := range []bool{true, false} {
		prefix := "o,a,f1"
		if trigger {
			prefix += ",http"
		}
		in := functionsCSV(trigger,
			countsRow(prefix, func(m int) int { return m }),
			countsRow(prefix, func(int) int { return 60 }))
		p, err := ReadTrace(strings.NewReader(in), FormatAzureFunctions)
		if err != nil {
			t.Fatalf("trigger %v: %v", trigger, err)
		}
		if len(p.Rates) != 1440 || p.Step != time.Minute {
			t.Fatalf("trigger %v: %d bins of %v", trigger, len(p.Rates), p.Step)
		}
		if p.Rates[0] != 61.0/60 || p.Rates[1439] != 1500.0/60 {
			t.Errorf("trigger %v: rates %v ... %v, want rows summed per minute", trigger, p.Rates[0], p.Rates[1439])
		}
	}
	bad := countsRow("o,a,f,http", func(m int) int { return m })
	bad = strings.Replace(bad, ",700,", ",seven,", 1)
	for _, tc := range []struct{ in, want string }{
		{functionsCSV(true, countsRow("o,a,f,http", func(int) int { return 1 }), bad), "line 3: minute 700"},
		{functionsCSV(true, "o,a,f,http,1,2"), "line 2: 6 fields"},
		{"HashOwner,HashApp,Func,1\n", "line 1: header"},
		{functionsCSV(false), "no function rows"},
	} {
		_, err := ReadTrace(strings.NewReader(tc.in), FormatAzureFunctions)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want it to contain %q", err, tc.want)
		}
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
